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

func natGateway(id string, state ec2types.NatGatewayState, created time.Time, tags ...string) ec2types.NatGateway {
	g := ec2types.NatGateway{NatGatewayId: aws.String(id), State: state, Tags: ec2Tags(tags...)}
	if !created.IsZero() {
		g.CreateTime = aws.Time(created)
	}
	return g
}

// routeTable routes one destination to each NAT gateway named, plus a local route.
func routeTable(id string, nats ...string) ec2types.RouteTable {
	rt := ec2types.RouteTable{RouteTableId: aws.String(id), Routes: []ec2types.Route{{DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String("local")}}}
	for i, n := range nats {
		rt.Routes = append(rt.Routes, ec2types.Route{DestinationCidrBlock: aws.String(fmt.Sprintf("0.0.%d.0/24", i)), NatGatewayId: aws.String(n)})
	}
	return rt
}

func natMetrics(f *fakeAWS, id string, conns, fromSrc, fromDst []point) {
	f.set(cwbatch.NATGateway("ActiveConnectionCount", "Maximum", id), conns)
	f.set(cwbatch.NATGateway("PacketsInFromSource", "Sum", id), fromSrc)
	f.set(cwbatch.NATGateway("PacketsInFromDestination", "Sum", id), fromDst)
}

// idleNAT adds an old, available gateway with 32 days of zeros.
func idleNAT(f *fakeAWS, id string) {
	f.natGateways = append(f.natGateways, natGateway(id, ec2types.NatGatewayStateAvailable, daysAgo(400)))
	natMetrics(f, id, flat(32, 0), flat(32, 0), flat(32, 0))
}

func TestVPCIdleNATGateway(t *testing.T) {
	t.Parallel()
	const id = "nat-0a"
	avail := ec2types.NatGatewayStateAvailable
	natPrice := priceOf(pricing.Default().NATGateway(priced))
	if natPrice == nil || *natPrice != 32.85 { // 0.045 $/h × 730 h
		t.Fatalf("pricing fixture changed: NAT gateway = %v", fmtCost(natPrice))
	}
	// one routed gateway with the given series
	one := func(conns, src, dst []point) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.natGateways = []ec2types.NatGateway{natGateway(id, avail, daysAgo(400))}
			f.routeTables = []ec2types.RouteTable{routeTable("rtb-1", id)}
			natMetrics(f, id, conns, src, dst)
		}
	}
	zeros := flat(32, 0)
	createdAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.natGateways = []ec2types.NatGateway{natGateway(id, avail, at)}
			f.routeTables = []ec2types.RouteTable{routeTable("rtb-1", id)}
			natMetrics(f, id, zeros, zeros, zeros)
		}
	}
	runCheckCases(t, checks.VPCIdleNATGateway, []checkCase{
		{
			name: "idle routed gateway reported with its hourly price",
			setup: func(f *fakeAWS) {
				f.natGateways = []ec2types.NatGateway{natGateway(id, avail, daysAgo(400), "Name", "egress")}
				f.routeTables = []ec2types.RouteTable{routeTable("rtb-1", id), routeTable("rtb-other", "nat-other")}
				natMetrics(f, id, zeros, zeros, zeros)
			},
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "vpc-idle-nat-gateway",
				Resource: checks.Resource{Type: "AWS::EC2::NatGateway", ID: id, ARN: "arn:aws:ec2:us-east-1:111122223333:natgateway/" + id,
					Name: "egress", State: "available", Created: daysAgo(400), Tags: map[string]string{"Name": "egress"}},
				Verdict: checks.Verdict{
					Reason: "NAT gateway idle: no active connections and no packets from source or destination in 32 days; referenced by 1 route table(s)",
					Evidence: map[string]float64{"activeConnections": 0, "packetsInFromSource": 0, "packetsInFromDestination": 0,
						"routeTables": 1, "lookbackDays": 32},
					MonthlyCostUSD: natPrice,
				},
			}},
			wantCalls: map[string]int{opDescribeNatGateways: 1, opDescribeRouteTables: 1, opGetMetricData: 1},
		},
		{
			name: "no route table routes through it: unused",
			setup: func(f *fakeAWS) {
				idleNAT(f, id)
				f.routeTables = []ec2types.RouteTable{routeTable("rtb-1"), routeTable("rtb-2", "nat-other")}
			},
			wantIDs:    []string{id},
			wantReason: []string{"NAT gateway unused (no route table routes through it): no active connections", "referenced by 0 route table(s)"},
			wantCost:   natPrice,
		},
		{
			name: "no route tables at all: unused",
			setup: func(f *fakeAWS) {
				idleNAT(f, id)
			},
			wantIDs:    []string{id},
			wantReason: []string{"NAT gateway unused (no route table routes through it)"},
			wantCalls:  map[string]int{opDescribeNatGateways: 1, opDescribeRouteTables: 1, opGetMetricData: 1},
		},
		{
			name: "a table routing twice through the gateway counts once; two tables count two",
			setup: func(f *fakeAWS) {
				idleNAT(f, id)
				f.routeTables = []ec2types.RouteTable{routeTable("rtb-1", id, id), routeTable("rtb-2", id)}
			},
			wantIDs:      []string{id},
			wantReason:   []string{"NAT gateway idle:", "referenced by 2 route table(s)"},
			wantNoReason: []string{"unused"},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(zeros, zeros, zeros),
			wantIDs:     []string{id},
			wantReason:  []string{"NAT gateway idle", "(no price known for NAT gateway in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name:  "one active connection on one day: not reported",
			setup: one(with(32, 0, 31, 1), zeros, zeros),
		},
		{
			name:  "one packet from source: not reported",
			setup: one(zeros, with(32, 0, 0, 1), zeros),
		},
		{
			name:  "one packet from destination: not reported",
			setup: one(zeros, zeros, with(32, 0, 16, 1)),
		},
		{
			name:     "all zero datapoints (exactly the threshold): reported",
			setup:    one(zeros, zeros, zeros),
			wantIDs:  []string{id},
			wantCost: natPrice,
		},
		{
			name:    "no datapoints at all count as zero traffic: reported",
			setup:   one(nil, nil, nil),
			wantIDs: []string{id},
		},
		{
			name:    "gaps count as zero traffic: reported",
			setup:   one(daily(0, nan, 0), nil, daily(nan, nan, 0, nan)),
			wantIDs: []string{id},
		},
		{
			name:  "traffic on a day with gaps elsewhere: not reported",
			setup: one(daily(nan, nan, 0), nil, daily(nan, 12, nan)),
		},
		{
			name:        "younger than the window: never a candidate, route tables never read",
			setup:       createdAt(daysAgo(31)),
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeNatGateways: 1},
		},
		{
			name:        "created one second too late for the window",
			setup:       createdAt(daysAgo(32).Add(time.Second)),
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeNatGateways: 1},
		},
		{
			name:    "created exactly one window ago: judged",
			setup:   createdAt(daysAgo(32)),
			wantIDs: []string{id},
		},
		{
			name:       "shorter lookback judges a younger gateway",
			params:     map[string]float64{"lookbackDays": 7},
			setup:      createdAt(daysAgo(10)),
			wantIDs:    []string{id},
			wantReason: []string{"in 7 days"},
		},
		{
			name: "gateways not available are no candidates, and route tables are not read",
			setup: func(f *fakeAWS) {
				for _, s := range []ec2types.NatGatewayState{"pending", "deleting", "deleted", "failed"} {
					f.natGateways = append(f.natGateways, natGateway("nat-"+string(s), s, daysAgo(400)))
				}
				f.routeTables = []ec2types.RouteTable{routeTable("rtb-1", "nat-pending")}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeNatGateways: 1},
		},
		{
			name:        "no gateways: route tables are not read",
			setup:       func(f *fakeAWS) { f.routeTables = []ec2types.RouteTable{routeTable("rtb-1")} },
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeNatGateways: 1},
		},
		{
			name: "DescribeRouteTables denied fails the check",
			setup: func(f *fakeAWS) {
				idleNAT(f, id)
				f.errs = map[string]error{opDescribeRouteTables: accessDenied()}
			},
			wantErrs:    []checks.CheckError{{Check: "vpc-idle-nat-gateway", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantNoFetch: true,
		},
		{
			name: "gateways and route tables over many pages",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 5 {
					idleNAT(f, fmt.Sprintf("nat-%d", i))
				}
				natMetrics(f, "nat-2", flat(32, 3), zeros, zeros) // busy
				for i := range 7 {
					f.routeTables = append(f.routeTables, routeTable(fmt.Sprintf("rtb-%d", i), fmt.Sprintf("nat-%d", i%4)))
				}
			},
			wantIDs:   []string{"nat-0", "nat-1", "nat-3", "nat-4"},
			wantCalls: map[string]int{opDescribeNatGateways: 3, opDescribeRouteTables: 4, opGetMetricData: 1},
		},
	})
}

func TestVPCIdleNATGatewayRouteTableCounts(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	for _, id := range []string{"nat-a", "nat-b", "nat-c"} {
		idleNAT(f, id)
	}
	f.routeTables = []ec2types.RouteTable{routeTable("rtb-1", "nat-a"), routeTable("rtb-2", "nat-a", "nat-b"), routeTable("rtb-3", "nat-a")}
	res := scan(t, f, priced, []checks.Check{checks.VPCIdleNATGateway}, nil)
	got := map[string]float64{}
	for _, j := range res.Judged {
		got[j.Resource.ID] = j.Verdict.Evidence["routeTables"]
	}
	want := map[string]float64{"nat-a": 3, "nat-b": 1, "nat-c": 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("route table counts (-want +got):\n%s", diff)
	}
}

func TestVPCIdleNATGatewayMetricsUnavailable(t *testing.T) {
	t.Parallel()
	for _, metric := range []struct{ name, stat string }{{"ActiveConnectionCount", "Maximum"}, {"PacketsInFromSource", "Sum"}, {"PacketsInFromDestination", "Sum"}} {
		t.Run(metric.name, func(t *testing.T) {
			t.Parallel()
			testMetricsUnavailable(t, checks.VPCIdleNATGateway, func(f *fakeAWS) { idleNAT(f, "nat-1") },
				cwbatch.NATGateway(metric.name, metric.stat, "nat-1"))
		})
	}
}
