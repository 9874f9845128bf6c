package checks_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// withPublicIP associates ip with n's primary private address.
func withPublicIP(n ec2types.NetworkInterface, ip string) ec2types.NetworkInterface {
	n.Association = &ec2types.NetworkInterfaceAssociation{PublicIp: aws.String(ip), AllocationId: aws.String("eipalloc-" + ip), IpOwnerId: aws.String(account)}
	n.PrivateIpAddresses = append(n.PrivateIpAddresses, ec2types.NetworkInterfacePrivateIpAddress{
		Primary: aws.Bool(true), PrivateIpAddress: aws.String("10.0.0.10"), Association: n.Association})
	return n
}

func TestEC2DetachedENI(t *testing.T) {
	t.Parallel()
	const id = "eni-0detached"
	avail := ec2types.NetworkInterfaceStatusAvailable
	ipv4 := priceOf(pricing.Default().PublicIPv4(priced))
	if ipv4 == nil || *ipv4 != 3.65 { // 0.005 $/h × 730 h
		t.Fatalf("pricing fixture changed: public IPv4 = %v", fmtCost(ipv4))
	}
	one := func(n ec2types.NetworkInterface) func(f *fakeAWS) {
		return func(f *fakeAWS) { f.interfaces = []ec2types.NetworkInterface{n} }
	}
	runCheckCases(t, checks.EC2DetachedENI, []checkCase{
		{
			name: "detached interface without public IPv4 reported at a known zero cost",
			setup: func(f *fakeAWS) {
				n := netIface(id, avail, "sg-1")
				n.Description = aws.String("old worker")
				n.TagSet = ec2Tags("Name", "worker-2")
				f.interfaces = []ec2types.NetworkInterface{n, netIface("eni-used", ec2types.NetworkInterfaceStatusInUse, "sg-1")}
			},
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "ec2-detached-eni",
				Resource: checks.Resource{Type: "AWS::EC2::NetworkInterface", ID: id, ARN: "arn:aws:ec2:us-east-1:111122223333:network-interface/" + id,
					Name: "worker-2", State: "available", Tags: map[string]string{"Name": "worker-2"}},
				Verdict: checks.Verdict{
					Reason:         `network interface "old worker" (type interface) in subnet-1 is attached to nothing; it holds no public IPv4 address and costs nothing`,
					Evidence:       map[string]float64{"publicIPv4": 0},
					MonthlyCostUSD: usd(0),
				},
			}},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeENIs: 1, opDescribeNatGateways: 1},
		},
		{
			name:         "holding a public IPv4 address: billed hourly",
			setup:        one(withPublicIP(netIface(id, avail), "203.0.113.9")),
			wantIDs:      []string{id},
			wantReason:   []string{"network interface (type interface) in subnet-1 is attached to nothing; it holds public IPv4 203.0.113.9, billed hourly"},
			wantEvidence: map[string]float64{"publicIPv4": 1},
			wantCost:     ipv4,
		},
		{
			name: "every distinct public IPv4 address is billed",
			setup: func(f *fakeAWS) {
				n := withPublicIP(netIface(id, avail), "203.0.113.9")
				n.PrivateIpAddresses = append(n.PrivateIpAddresses,
					ec2types.NetworkInterfacePrivateIpAddress{PrivateIpAddress: aws.String("10.0.0.11"),
						Association: &ec2types.NetworkInterfaceAssociation{PublicIp: aws.String("198.51.100.4")}},
					ec2types.NetworkInterfacePrivateIpAddress{PrivateIpAddress: aws.String("10.0.0.12")})
				f.interfaces = []ec2types.NetworkInterface{n}
			},
			wantIDs:      []string{id},
			wantReason:   []string{"it holds public IPv4 198.51.100.4, 203.0.113.9, billed hourly"},
			wantEvidence: map[string]float64{"publicIPv4": 2},
			wantCost:     usd(7.3),
		},
		{
			name:        "unpriced region with a public IPv4 address: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(withPublicIP(netIface(id, avail), "203.0.113.9")),
			wantIDs:     []string{id},
			wantReason:  []string{"203.0.113.9, billed hourly (no price known for public IPv4 in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name:         "unpriced region without public IPv4: still a known zero",
			region:       unpriced,
			setup:        one(netIface(id, avail)),
			wantIDs:      []string{id},
			wantCost:     usd(0),
			wantNoReason: []string{"no price known"},
		},
		{
			name: "an empty association holds no address",
			setup: func(f *fakeAWS) {
				n := netIface(id, avail)
				n.Association = &ec2types.NetworkInterfaceAssociation{PublicIp: aws.String("")}
				f.interfaces = []ec2types.NetworkInterface{n}
			},
			wantIDs:  []string{id},
			wantCost: usd(0),
		},
		{
			name: "interfaces in use, attaching, detaching or associated are not reported",
			setup: func(f *fakeAWS) {
				for _, s := range []ec2types.NetworkInterfaceStatus{"in-use", "attaching", "detaching", "associated", ""} {
					f.interfaces = append(f.interfaces, netIface("eni-"+string(s), s))
				}
			},
			wantCalls: map[string]int{opDescribeENIs: 1},
		},
		{
			name: "interfaces an AWS service manages are skipped",
			setup: func(f *fakeAWS) {
				lambdaENI := netIface("eni-lambda", avail)
				lambdaENI.RequesterManaged, lambdaENI.InterfaceType = aws.Bool(true), ec2types.NetworkInterfaceTypeLambda
				operated := netIface("eni-operated", avail)
				operated.Operator = &ec2types.OperatorResponse{Managed: aws.Bool(true), Principal: aws.String("eks.amazonaws.com")}
				f.interfaces = []ec2types.NetworkInterface{lambdaENI, operated}
			},
		},
		{
			name: "an operator that does not manage it does not skip it",
			setup: func(f *fakeAWS) {
				n := netIface(id, avail)
				n.Operator = &ec2types.OperatorResponse{Managed: aws.Bool(false)}
				n.RequesterManaged = nil
				f.interfaces = []ec2types.NetworkInterface{n}
			},
			wantIDs: []string{id},
		},
		{
			name: "an interface of a managed type (NAT gateway's) is not reported",
			setup: func(f *fakeAWS) {
				n := netIface(id, avail)
				n.InterfaceType = ec2types.NetworkInterfaceTypeNatGateway
				f.interfaces = []ec2types.NetworkInterface{n}
			},
		},
		{
			name: "a plain available interface that a NAT gateway lists as its own is not reported",
			setup: func(f *fakeAWS) {
				f.interfaces = []ec2types.NetworkInterface{netIface(id, avail)}
				f.natGateways = []ec2types.NatGateway{{NatGatewayId: aws.String("nat-1"), State: ec2types.NatGatewayStateAvailable,
					NatGatewayAddresses: []ec2types.NatGatewayAddress{{NetworkInterfaceId: aws.String(id)}}}}
			},
			wantCalls: map[string]int{opDescribeENIs: 1, opDescribeNatGateways: 1},
		},
		{
			name: "a user-created interface of another type is reported with its type",
			setup: func(f *fakeAWS) {
				n := netIface(id, avail)
				n.InterfaceType = ec2types.NetworkInterfaceTypeEfa
				f.interfaces = []ec2types.NetworkInterface{n}
			},
			wantIDs:    []string{id},
			wantReason: []string{"network interface (type efa) in subnet-1"},
		},
		{
			name: "without an interface type the type is \"interface\"",
			setup: func(f *fakeAWS) {
				n := netIface(id, avail)
				n.InterfaceType = ""
				f.interfaces = []ec2types.NetworkInterface{n}
			},
			wantIDs:    []string{id},
			wantReason: []string{"network interface (type interface) in subnet-1"},
		},
		{
			name: "many interfaces over many pages, in inventory order",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 7 {
					s := avail
					if i%3 == 1 {
						s = ec2types.NetworkInterfaceStatusInUse
					}
					f.interfaces = append(f.interfaces, netIface(fmt.Sprintf("eni-%d", i), s))
				}
			},
			wantIDs:   []string{"eni-0", "eni-2", "eni-3", "eni-5", "eni-6"},
			wantCost:  usd(0),
			wantCalls: map[string]int{opDescribeENIs: 4, opDescribeNatGateways: 1},
		},
		{
			name: "DescribeNetworkInterfaces denied",
			setup: func(f *fakeAWS) {
				f.interfaces = []ec2types.NetworkInterface{netIface(id, avail)}
				f.errs = map[string]error{opDescribeENIs: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "ec2-detached-eni", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opDescribeENIs: 1},
		},
	})
}
