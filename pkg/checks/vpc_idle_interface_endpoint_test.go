package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

const ssmService = "com.amazonaws.us-east-1.ssm"

// vpcEndpoint is an endpoint of vpc-1 to the SSM service with one subnet
// (and network interface) per Availability Zone. State is spelled as
// DescribeVpcEndpoints spells it.
func vpcEndpoint(id string, typ ec2types.VpcEndpointType, state string, created time.Time, azs int, tags ...string) ec2types.VpcEndpoint {
	e := ec2types.VpcEndpoint{VpcEndpointId: aws.String(id), VpcEndpointType: typ, State: ec2types.State(state), VpcId: aws.String("vpc-1"),
		ServiceName: aws.String(ssmService), Tags: ec2Tags(tags...)}
	if !created.IsZero() {
		e.CreationTimestamp = aws.Time(created)
	}
	for i := range azs {
		e.SubnetIds = append(e.SubnetIds, fmt.Sprintf("subnet-%d", i))
		e.NetworkInterfaceIds = append(e.NetworkInterfaceIds, fmt.Sprintf("eni-%s-%d", id, i))
	}
	return e
}

// endpointQuery is the BytesProcessed query of an SSM interface endpoint of vpc-1.
func endpointQuery(id string) cwbatch.Query {
	return cwbatch.PrivateLinkEndpoint("BytesProcessed", "Sum", id, "Interface", ssmService, "vpc-1")
}

// idleEndpoint adds an old, available two-AZ interface endpoint with 14 days of zero bytes.
func idleEndpoint(f *fakeAWS, id string) {
	f.vpcEndpoints = append(f.vpcEndpoints, vpcEndpoint(id, ec2types.VpcEndpointTypeInterface, "available", daysAgo(300), 2))
	f.set(endpointQuery(id), flat(14, 0))
}

func TestVPCIdleInterfaceEndpoint(t *testing.T) {
	t.Parallel()
	const id = "vpce-0idle"
	iface := ec2types.VpcEndpointTypeInterface
	twoAZ := priceOf(pricing.Default().InterfaceEndpoint(priced, 2))
	if twoAZ == nil || *twoAZ != 14.6 { // 2 × 0.01 $/h × 730 h
		t.Fatalf("pricing fixture changed: two-AZ interface endpoint = %v", fmtCost(twoAZ))
	}
	// one old two-AZ endpoint with the given series
	one := func(bytes []point) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.vpcEndpoints = []ec2types.VpcEndpoint{vpcEndpoint(id, iface, "available", daysAgo(300), 2)}
			f.set(endpointQuery(id), bytes)
		}
	}
	createdAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.vpcEndpoints = []ec2types.VpcEndpoint{vpcEndpoint(id, iface, "available", at, 2)}
		}
	}
	zeros := flat(14, 0)
	runCheckCases(t, checks.VPCIdleInterfaceEndpoint, []checkCase{
		{
			name: "idle interface endpoint reported with its hourly price per AZ",
			setup: func(f *fakeAWS) {
				f.vpcEndpoints = []ec2types.VpcEndpoint{vpcEndpoint(id, iface, "available", daysAgo(300), 2, "Name", "ssm")}
				f.set(endpointQuery(id), zeros)
			},
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "vpc-idle-interface-endpoint",
				Resource: checks.Resource{Type: "AWS::EC2::VPCEndpoint", ID: id, ARN: "arn:aws:ec2:us-east-1:111122223333:vpc-endpoint/" + id,
					Name: "ssm", State: "available", Created: daysAgo(300), Tags: map[string]string{"Name": "ssm"}},
				Verdict: checks.Verdict{
					Reason:         "interface endpoint for com.amazonaws.us-east-1.ssm processed no bytes in 14 days; billed hourly in 2 Availability Zone(s)",
					Evidence:       map[string]float64{"bytesProcessed": 0, "availabilityZones": 2, "lookbackDays": 14},
					MonthlyCostUSD: twoAZ,
				},
			}},
			wantCalls: map[string]int{opDescribeEndpoints: 1, opGetMetricData: 1},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(zeros),
			wantIDs:     []string{id},
			wantReason:  []string{"processed no bytes in 14 days", "(no price known for interface endpoint in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name: "the SDK's title-case state is read like the API's",
			setup: func(f *fakeAWS) {
				f.vpcEndpoints = []ec2types.VpcEndpoint{vpcEndpoint(id, iface, string(ec2types.StateAvailable), daysAgo(300), 2)}
			},
			wantIDs: []string{id},
		},
		{
			name: "three AZs cost three hourly charges",
			setup: func(f *fakeAWS) {
				f.vpcEndpoints = []ec2types.VpcEndpoint{vpcEndpoint(id, iface, "available", daysAgo(300), 3)}
			},
			wantIDs:    []string{id},
			wantReason: []string{"billed hourly in 3 Availability Zone(s)"},
			wantCost:   usd(21.9),
		},
		{
			name: "AZs counted from network interfaces when subnets are missing",
			setup: func(f *fakeAWS) {
				e := vpcEndpoint(id, iface, "available", daysAgo(300), 1)
				e.SubnetIds = nil
				f.vpcEndpoints = []ec2types.VpcEndpoint{e}
			},
			wantIDs:  []string{id},
			wantCost: usd(7.3),
		},
		{
			name:  "one byte on one day: not reported",
			setup: one(with(14, 0, 13, 1)),
		},
		{
			name:  "traffic every day: not reported",
			setup: one(flat(14, 5e6)),
		},
		{
			name:     "all zero datapoints (exactly the threshold): reported",
			setup:    one(zeros),
			wantIDs:  []string{id},
			wantCost: twoAZ,
		},
		{
			name:    "no datapoints at all count as zero bytes: reported",
			setup:   one(nil),
			wantIDs: []string{id},
		},
		{
			name:    "gaps count as zero bytes: reported",
			setup:   one(daily(0, nan, 0, nan, nan)),
			wantIDs: []string{id},
		},
		{
			name:  "bytes on a day with gaps elsewhere: not reported",
			setup: one(daily(nan, nan, 2048, nan)),
		},
		{
			name:        "younger than the window: never a candidate",
			setup:       createdAt(daysAgo(13)),
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeEndpoints: 1},
		},
		{
			name:        "created one second too late for the window",
			setup:       createdAt(daysAgo(14).Add(time.Second)),
			wantNoFetch: true,
		},
		{
			name:    "created exactly one window ago: judged",
			setup:   createdAt(daysAgo(14)),
			wantIDs: []string{id},
		},
		{
			name:        "unknown creation time: never a candidate",
			setup:       createdAt(time.Time{}),
			wantNoFetch: true,
		},
		{
			name:       "shorter lookback judges a younger endpoint",
			params:     map[string]float64{"lookbackDays": 7},
			setup:      createdAt(daysAgo(10)),
			wantIDs:    []string{id},
			wantReason: []string{"processed no bytes in 7 days"},
		},
		{
			name: "gateway endpoints, other types and endpoints not available are no candidates",
			setup: func(f *fakeAWS) {
				f.vpcEndpoints = []ec2types.VpcEndpoint{
					vpcEndpoint("vpce-gw", ec2types.VpcEndpointTypeGateway, "available", daysAgo(300), 0),
					vpcEndpoint("vpce-gwlb", ec2types.VpcEndpointTypeGatewayLoadBalancer, "available", daysAgo(300), 2),
					vpcEndpoint("vpce-res", ec2types.VpcEndpointTypeResource, "available", daysAgo(300), 2),
				}
				for _, s := range []string{"pendingAcceptance", "pending", "deleting", "deleted", "rejected", "failed", "expired"} {
					f.vpcEndpoints = append(f.vpcEndpoints, vpcEndpoint("vpce-"+s, iface, s, daysAgo(300), 2))
				}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeEndpoints: 1},
		},
		{
			name: "endpoints a service manages are skipped",
			setup: func(f *fakeAWS) {
				e := vpcEndpoint(id, iface, "available", daysAgo(300), 2)
				e.RequesterManaged = aws.Bool(true)
				f.vpcEndpoints = []ec2types.VpcEndpoint{e}
			},
			wantNoFetch: true,
		},
		{
			name: "many endpoints over many pages",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 5 {
					idleEndpoint(f, fmt.Sprintf("vpce-%d", i))
				}
				f.set(endpointQuery("vpce-2"), flat(14, 1e6)) // busy
			},
			wantIDs:   []string{"vpce-0", "vpce-1", "vpce-3", "vpce-4"},
			wantCost:  twoAZ,
			wantCalls: map[string]int{opDescribeEndpoints: 3, opGetMetricData: 1},
		},
		{
			name: "DescribeVpcEndpoints denied",
			setup: func(f *fakeAWS) {
				idleEndpoint(f, id)
				f.errs = map[string]error{opDescribeEndpoints: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "vpc-idle-interface-endpoint", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opDescribeEndpoints: 1},
		},
	})
}

// TestVPCIdleInterfaceEndpointQuery pins the query: PrivateLink publishes
// BytesProcessed with all four dimensions, and a query with fewer matches
// nothing.
func TestVPCIdleInterfaceEndpointQuery(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	idleEndpoint(f, "vpce-1")
	f.vpcEndpoints = append(f.vpcEndpoints, vpcEndpoint("vpce-young", ec2types.VpcEndpointTypeInterface, "available", daysAgo(3), 2))
	res := scan(t, f, priced, []checks.Check{checks.VPCIdleInterfaceEndpoint}, nil)
	want := []string{"AWS/PrivateLinkEndpoints|BytesProcessed|Sum|Endpoint Type=Interface|Service Name=com.amazonaws.us-east-1.ssm|VPC Endpoint Id=vpce-1|VPC Id=vpc-1"}
	if diff := cmp.Diff(want, f.requestedKeys()); diff != "" {
		t.Errorf("queried keys (-want +got):\n%s", diff)
	}
	if res.Candidates != 1 || res.Metrics.Queries != 1 || res.Metrics.Calls != 1 {
		t.Errorf("candidates %d, metric stats %+v; want 1 candidate, 1 query in 1 call", res.Candidates, res.Metrics)
	}
	wantWindow := cwbatch.Window{Start: midnight.AddDate(0, 0, -14), End: midnight, Period: cwbatch.Day}
	if diff := cmp.Diff([]cwbatch.Window{wantWindow}, f.gmdWindows, cmp.AllowUnexported(cwbatch.Window{})); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
}

func TestVPCIdleInterfaceEndpointMetricsUnavailable(t *testing.T) {
	t.Parallel()
	testMetricsUnavailable(t, checks.VPCIdleInterfaceEndpoint, func(f *fakeAWS) { idleEndpoint(f, "vpce-1") }, endpointQuery("vpce-1"))
}
