package checks_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pricing"
)

func address(alloc, ip string, tags ...string) ec2types.Address {
	a := ec2types.Address{PublicIp: aws.String(ip), Domain: ec2types.DomainTypeVpc, Tags: ec2Tags(tags...)}
	if alloc != "" {
		a.AllocationId = aws.String(alloc)
	}
	return a
}

func TestEC2UnassociatedEIP(t *testing.T) {
	t.Parallel()
	ipv4 := priceOf(pricing.Default().PublicIPv4(priced))
	if ipv4 == nil || *ipv4 != 3.65 { // 0.005 $/h × 730 h
		t.Fatalf("pricing fixture changed: public IPv4 = %v", fmtCost(ipv4))
	}
	associated := func(set func(a *ec2types.Address)) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			a := address("eipalloc-1", "203.0.113.1")
			set(&a)
			f.addresses = []ec2types.Address{a}
		}
	}
	runCheckCases(t, checks.EC2UnassociatedEIP, []checkCase{
		{
			name: "unassociated address reported with the IPv4 price",
			setup: func(f *fakeAWS) {
				f.addresses = []ec2types.Address{address("eipalloc-1", "203.0.113.1", "Name", "spare")}
			},
			wantIDs: []string{"eipalloc-1"},
			wantJudged: []checks.Judged{{
				CheckID: "ec2-unassociated-eip",
				Resource: checks.Resource{Type: "AWS::EC2::EIP", ID: "eipalloc-1", ARN: "arn:aws:ec2:us-east-1:111122223333:elastic-ip/eipalloc-1",
					Name: "spare", State: "unassociated", Tags: map[string]string{"Name": "spare"}},
				Verdict: checks.Verdict{
					Reason:         "Elastic IP 203.0.113.1 is associated with no instance or network interface and is billed hourly",
					MonthlyCostUSD: ipv4,
				},
			}},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeAddresses: 1},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       func(f *fakeAWS) { f.addresses = []ec2types.Address{address("eipalloc-1", "203.0.113.1")} },
			wantIDs:     []string{"eipalloc-1"},
			wantReason:  []string{"Elastic IP 203.0.113.1", "(no price known for public IPv4 in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name:  "with an AssociationId: not reported",
			setup: associated(func(a *ec2types.Address) { a.AssociationId = aws.String("eipassoc-1") }),
		},
		{
			name:  "with a NetworkInterfaceId only: not reported",
			setup: associated(func(a *ec2types.Address) { a.NetworkInterfaceId = aws.String("eni-1") }),
		},
		{
			name:  "with an InstanceId only: not reported",
			setup: associated(func(a *ec2types.Address) { a.InstanceId = aws.String("i-1") }),
		},
		{
			name:        "EC2-Classic address without allocation ID is identified by its IP",
			setup:       func(f *fakeAWS) { f.addresses = []ec2types.Address{address("", "198.51.100.7")} },
			wantIDs:     []string{"198.51.100.7"},
			wantCost:    ipv4,
			wantNoFetch: true,
		},
		{
			name: "only the free addresses of a mixed list, in order",
			setup: func(f *fakeAWS) {
				used := address("eipalloc-2", "203.0.113.2")
				used.AssociationId, used.InstanceId = aws.String("eipassoc-2"), aws.String("i-2")
				f.addresses = []ec2types.Address{address("eipalloc-1", "203.0.113.1"), used, address("eipalloc-3", "203.0.113.3")}
			},
			wantIDs:   []string{"eipalloc-1", "eipalloc-3"},
			wantCost:  ipv4,
			wantCalls: map[string]int{opDescribeAddresses: 1},
		},
		{
			name: "DescribeAddresses denied",
			setup: func(f *fakeAWS) {
				f.addresses = []ec2types.Address{address("eipalloc-1", "203.0.113.1")}
				f.errs = map[string]error{opDescribeAddresses: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "ec2-unassociated-eip", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
	})
}
