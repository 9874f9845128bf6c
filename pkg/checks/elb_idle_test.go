package checks_test

import (
	"fmt"
	"testing"
	"time"

	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

func albRequests(name string) cwbatch.Query {
	return cwbatch.ApplicationELB("RequestCount", "Sum", lbID(albType, name))
}

func nlbFlows(name string) cwbatch.Query {
	return cwbatch.NetworkELB("NewFlowCount", "Sum", lbID(nlbType, name))
}

// idleALB adds an old ALB with 14 days of zero requests.
func idleALB(f *fakeAWS, name string) {
	f.loadBalancers = append(f.loadBalancers, alb(name, daysAgo(400)))
	f.set(albRequests(name), flat(14, 0))
}

func TestELBIdle(t *testing.T) {
	t.Parallel()
	const web = "web"
	webID := lbID(albType, web)
	albPrice := priceOf(pricing.Default().LoadBalancer(priced, "application"))
	nlbPrice := priceOf(pricing.Default().LoadBalancer(priced, "network"))
	if albPrice == nil || *albPrice != 16.43 || nlbPrice == nil || *nlbPrice != 16.43 { // 0.0225 $/h × 730 h
		t.Fatalf("pricing fixture changed: ALB %v, NLB %v", fmtCost(albPrice), fmtCost(nlbPrice))
	}
	// one old ALB with the given RequestCount series
	one := func(pts []point) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.loadBalancers = []elbtypes.LoadBalancer{alb(web, daysAgo(400))}
			f.set(albRequests(web), pts)
		}
	}
	createdAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.loadBalancers = []elbtypes.LoadBalancer{alb(web, at)}
			f.set(albRequests(web), nil)
		}
	}
	onlyLBs := map[string]int{opDescribeLBs: 1}
	runCheckCases(t, checks.ELBIdle, []checkCase{
		{
			name:    "ALB with zero requests every day, reported with its hourly price",
			setup:   one(flat(14, 0)),
			wantIDs: []string{webID},
			wantJudged: []checks.Judged{{
				CheckID: "elb-idle",
				Resource: checks.Resource{Type: "AWS::ElasticLoadBalancingV2::LoadBalancer", ID: webID, ARN: lbARN(albType, web),
					Name: web, State: "active", Created: daysAgo(400)},
				Verdict: checks.Verdict{
					Reason:         "application load balancer: 0 requests in 14 days (threshold 0); created " + daysAgo(400).Format("2006-01-02"),
					Evidence:       map[string]float64{"requests": 0, "daysWithData": 14, "lookbackDays": 14},
					MonthlyCostUSD: albPrice,
				},
			}},
			// Traffic alone is judged: target groups are not read.
			wantCalls: map[string]int{opDescribeLBs: 1, opGetMetricData: 1},
		},
		{
			name: "NLB with no new flows: reported on NewFlowCount",
			setup: func(f *fakeAWS) {
				f.loadBalancers = []elbtypes.LoadBalancer{nlb("tcp", daysAgo(400))}
				f.set(nlbFlows("tcp"), flat(14, 0))
				f.set(cwbatch.ApplicationELB("RequestCount", "Sum", lbID(nlbType, "tcp")), flat(14, 50)) // not an NLB metric
			},
			wantIDs:      []string{lbID(nlbType, "tcp")},
			wantReason:   []string{"network load balancer: 0 new flows in 14 days (threshold 0); created " + daysAgo(400).Format("2006-01-02")},
			wantEvidence: map[string]float64{"newFlows": 0, "daysWithData": 14, "lookbackDays": 14},
			wantCost:     nlbPrice,
		},
		{
			name: "NLB with new flows: not reported",
			setup: func(f *fakeAWS) {
				f.loadBalancers = []elbtypes.LoadBalancer{nlb("tcp", daysAgo(400))}
				f.set(nlbFlows("tcp"), with(14, 0, 13, 2))
			},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(flat(14, 0)),
			wantIDs:     []string{webID},
			wantReason:  []string{"0 requests in 14 days", "(no price known for application load balancer in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name:  "busy ALB: not reported",
			setup: one(flat(14, 25000)),
		},
		{
			name:  "one request on one day (one over the threshold): not reported",
			setup: one(with(14, 0, 6, 1)),
		},
		{
			name:         "no datapoints at all count as zero requests: reported",
			setup:        one(nil),
			wantIDs:      []string{webID},
			wantEvidence: map[string]float64{"requests": 0, "daysWithData": 0, "lookbackDays": 14},
		},
		{
			name:         "gaps count as zero: reported",
			setup:        one(daily(nan, 0, nan, nan, 0)),
			wantIDs:      []string{webID},
			wantEvidence: map[string]float64{"requests": 0, "daysWithData": 2, "lookbackDays": 14},
		},
		{
			name:  "requests on a day amid gaps: not reported",
			setup: one(daily(nan, 3, nan, nan)),
		},
		{
			name:       "traffic only before the window: reported",
			setup:      one(with(20, 0, 0, 5000)),
			wantIDs:    []string{webID},
			wantReason: []string{"0 requests in 14 days"},
		},
		{
			name:         "TA-like threshold: 99 requests over the window reported",
			params:       map[string]float64{"maxRequests": 99},
			setup:        one(with(14, 0, 3, 99)),
			wantIDs:      []string{webID},
			wantReason:   []string{"99 requests in 14 days (threshold 99)"},
			wantEvidence: map[string]float64{"requests": 99, "daysWithData": 14, "lookbackDays": 14},
		},
		{
			name:   "TA-like threshold: 100 requests spread over days not reported",
			params: map[string]float64{"maxRequests": 99},
			setup:  one(daily(50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50)),
		},
		{
			name:        "younger than the window: never a candidate",
			setup:       createdAt(daysAgo(13)),
			wantNoFetch: true,
			wantCalls:   onlyLBs,
		},
		{
			name:        "created one second too late for the window",
			setup:       createdAt(daysAgo(14).Add(time.Second)),
			wantNoFetch: true,
			wantCalls:   onlyLBs,
		},
		{
			name:       "created exactly one window ago: judged",
			setup:      createdAt(daysAgo(14)),
			wantIDs:    []string{webID},
			wantReason: []string{"created " + daysAgo(14).Format("2006-01-02")},
		},
		{
			name:        "unknown creation time: never a candidate",
			setup:       createdAt(time.Time{}),
			wantNoFetch: true,
		},
		{
			name:       "shorter lookback judges a younger load balancer",
			params:     map[string]float64{"lookbackDays": 7},
			setup:      createdAt(daysAgo(10)),
			wantIDs:    []string{webID},
			wantReason: []string{"in 7 days"},
		},
		{
			name: "a load balancer without targets is judged on its traffic alone",
			setup: func(f *fakeAWS) {
				emptyALB(f, "empty-idle")
				emptyALB(f, "empty-busy")
				f.set(albRequests("empty-idle"), flat(14, 0))
				f.set(albRequests("empty-busy"), flat(14, 300)) // 503s are requests too
			},
			wantIDs:   []string{lbID(albType, "empty-idle")},
			wantCalls: map[string]int{opDescribeLBs: 1, opGetMetricData: 1},
		},
		{
			name: "gateway load balancers and load balancers not active are no candidates",
			setup: func(f *fakeAWS) {
				f.loadBalancers = []elbtypes.LoadBalancer{loadBalancer("gw", gwlType, active, daysAgo(400))}
				for _, s := range []elbtypes.LoadBalancerStateEnum{"provisioning", "active_impaired", "failed"} {
					f.loadBalancers = append(f.loadBalancers, loadBalancer(string(s), albType, s, daysAgo(400)))
				}
			},
			wantNoFetch: true,
			wantCalls:   onlyLBs,
		},
		{
			name: "ALBs and NLBs over many pages, one fetch",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 3 {
					idleALB(f, fmt.Sprintf("alb-%d", i))
					name := fmt.Sprintf("nlb-%d", i)
					f.loadBalancers = append(f.loadBalancers, nlb(name, daysAgo(400)))
					f.set(nlbFlows(name), nil)
				}
				f.set(albRequests("alb-1"), flat(14, 7))
				f.set(nlbFlows("nlb-2"), with(14, 0, 0, 1))
			},
			wantIDs:   []string{lbID(albType, "alb-0"), lbID(nlbType, "nlb-0"), lbID(nlbType, "nlb-1"), lbID(albType, "alb-2")},
			wantCalls: map[string]int{opDescribeLBs: 3, opGetMetricData: 1},
		},
		{
			name: "DescribeLoadBalancers denied",
			setup: func(f *fakeAWS) {
				idleALB(f, web)
				f.errs = map[string]error{opDescribeLBs: accessDenied()}
			},
			wantErrs:    []checks.CheckError{{Check: "elb-idle", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantNoFetch: true,
		},
	})
}

func TestELBIdleMetricsUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("ALB", func(t *testing.T) {
		t.Parallel()
		testMetricsUnavailable(t, checks.ELBIdle, func(f *fakeAWS) { idleALB(f, "web") }, albRequests("web"))
	})
	t.Run("NLB", func(t *testing.T) {
		t.Parallel()
		testMetricsUnavailable(t, checks.ELBIdle, func(f *fakeAWS) {
			f.loadBalancers = []elbtypes.LoadBalancer{nlb("tcp", daysAgo(400))}
			f.set(nlbFlows("tcp"), flat(14, 0))
		}, nlbFlows("tcp"))
	})
}
