package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// The ID parts of the fixtures' ARNs.
const (
	lbHex = "50dc6c495c0c9188"
	tgHex = "73e2d6bc24d8a067"
)

const (
	albType = elbtypes.LoadBalancerTypeEnumApplication
	nlbType = elbtypes.LoadBalancerTypeEnumNetwork
	gwlType = elbtypes.LoadBalancerTypeEnumGateway
	active  = elbtypes.LoadBalancerStateEnumActive
)

var lbPrefix = map[elbtypes.LoadBalancerTypeEnum]string{albType: "app", nlbType: "net", gwlType: "gwy"}

// lbID is the ID (and metric dimension) of the fixture load balancer name of type typ.
func lbID(typ elbtypes.LoadBalancerTypeEnum, name string) string {
	return lbPrefix[typ] + "/" + name + "/" + lbHex
}

func lbARN(typ elbtypes.LoadBalancerTypeEnum, name string) string {
	return "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/" + lbID(typ, name)
}

func tgID(name string) string { return "targetgroup/" + name + "/" + tgHex }

func tgARN(name string) string {
	return "arn:aws:elasticloadbalancing:us-east-1:111122223333:" + tgID(name)
}

// loadBalancer is a load balancer of type typ in state, created at created
// (zero: unknown).
func loadBalancer(name string, typ elbtypes.LoadBalancerTypeEnum, state elbtypes.LoadBalancerStateEnum, created time.Time) elbtypes.LoadBalancer {
	lb := elbtypes.LoadBalancer{LoadBalancerArn: aws.String(lbARN(typ, name)), LoadBalancerName: aws.String(name), Type: typ,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, State: &elbtypes.LoadBalancerState{Code: state}}
	if !created.IsZero() {
		lb.CreatedTime = aws.Time(created)
	}
	return lb
}

func alb(name string, created time.Time) elbtypes.LoadBalancer {
	return loadBalancer(name, albType, active, created)
}

func nlb(name string, created time.Time) elbtypes.LoadBalancer {
	return loadBalancer(name, nlbType, active, created)
}

// targetGroup is an HTTP:80 group of instance targets attached to lbs.
func targetGroup(name string, lbs ...elbtypes.LoadBalancer) elbtypes.TargetGroup {
	tg := elbtypes.TargetGroup{TargetGroupArn: aws.String(tgARN(name)), TargetGroupName: aws.String(name),
		Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), TargetType: elbtypes.TargetTypeEnumInstance}
	for _, lb := range lbs {
		tg.LoadBalancerArns = append(tg.LoadBalancerArns, aws.ToString(lb.LoadBalancerArn))
	}
	return tg
}

// registerTargets registers one instance per state in tg.
func registerTargets(f *fakeAWS, tg elbtypes.TargetGroup, states ...elbtypes.TargetHealthStateEnum) {
	if f.targetHealth == nil {
		f.targetHealth = map[string][]elbtypes.TargetHealthDescription{}
	}
	arn := aws.ToString(tg.TargetGroupArn)
	for i, s := range states {
		f.targetHealth[arn] = append(f.targetHealth[arn], elbtypes.TargetHealthDescription{
			Target:       &elbtypes.TargetDescription{Id: aws.String(fmt.Sprintf("i-%04d", i)), Port: aws.Int32(80)},
			TargetHealth: &elbtypes.TargetHealth{State: s},
		})
	}
}

// emptyALB adds an old ALB whose one target group has no target.
func emptyALB(f *fakeAWS, name string) {
	lb := alb(name, daysAgo(90))
	f.loadBalancers = append(f.loadBalancers, lb)
	f.targetGroups = append(f.targetGroups, targetGroup(name+"-tg", lb))
}

func TestELBNoTargets(t *testing.T) {
	t.Parallel()
	albPrice := priceOf(pricing.Default().LoadBalancer(priced, "application"))
	if albPrice == nil || *albPrice != 16.43 { // 0.0225 $/h × 730 h
		t.Fatalf("pricing fixture changed: ALB = %v", fmtCost(albPrice))
	}
	nlbPrice := priceOf(pricing.Default().LoadBalancer(priced, "network"))
	if nlbPrice == nil || *nlbPrice != 16.43 {
		t.Fatalf("pricing fixture changed: NLB = %v", fmtCost(nlbPrice))
	}
	healthy := elbtypes.TargetHealthStateEnumHealthy
	const web = "web"
	webID := lbID(albType, web)
	// one ALB created at `at` with one empty target group
	createdAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			lb := alb(web, at)
			f.loadBalancers = []elbtypes.LoadBalancer{lb}
			f.targetGroups = []elbtypes.TargetGroup{targetGroup("web-tg", lb)}
		}
	}
	onlyLBs := map[string]int{opDescribeLBs: 1}
	runCheckCases(t, checks.ELBNoTargets, []checkCase{
		{
			name: "ALB whose target group has no target, reported with its hourly price",
			setup: func(f *fakeAWS) {
				lb := alb(web, daysAgo(30))
				f.loadBalancers = []elbtypes.LoadBalancer{lb}
				// A group attached to no load balancer is nobody's: never asked.
				f.targetGroups = []elbtypes.TargetGroup{targetGroup("spare"), targetGroup("web-tg", lb)}
			},
			wantIDs: []string{webID},
			wantJudged: []checks.Judged{{
				CheckID: "elb-no-targets",
				Resource: checks.Resource{Type: "AWS::ElasticLoadBalancingV2::LoadBalancer", ID: webID, ARN: lbARN(albType, web),
					Name: web, State: "active", Created: daysAgo(30)},
				Verdict: checks.Verdict{
					Reason:         "application load balancer has no registered target in its 1 target group(s); created " + daysAgo(30).Format("2006-01-02"),
					Evidence:       map[string]float64{"targetGroups": 1, "registeredTargets": 0},
					MonthlyCostUSD: albPrice,
				},
			}},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeLBs: 1, opDescribeTGs: 1, opDescribeTH: 1},
		},
		{
			name: "NLB with two empty target groups: each asked once",
			setup: func(f *fakeAWS) {
				lb := nlb("tcp", daysAgo(30))
				f.loadBalancers = []elbtypes.LoadBalancer{lb}
				f.targetGroups = []elbtypes.TargetGroup{targetGroup("tcp-a", lb), targetGroup("tcp-b", lb)}
			},
			wantIDs:      []string{lbID(nlbType, "tcp")},
			wantReason:   []string{"network load balancer has no registered target in its 2 target group(s); created " + daysAgo(30).Format("2006-01-02")},
			wantEvidence: map[string]float64{"targetGroups": 2, "registeredTargets": 0},
			wantCost:     nlbPrice,
			wantCalls:    map[string]int{opDescribeLBs: 1, opDescribeTGs: 1, opDescribeTH: 2},
		},
		{
			name: "no target group at all: reported, no target health asked",
			setup: func(f *fakeAWS) {
				f.loadBalancers = []elbtypes.LoadBalancer{alb(web, daysAgo(30))}
				f.targetGroups = []elbtypes.TargetGroup{targetGroup("other", alb("other", daysAgo(30)))}
			},
			wantIDs:      []string{webID},
			wantReason:   []string{"application load balancer has no target group; created " + daysAgo(30).Format("2006-01-02")},
			wantEvidence: map[string]float64{"targetGroups": 0, "registeredTargets": 0},
			wantCost:     albPrice,
			wantCalls:    map[string]int{opDescribeLBs: 1, opDescribeTGs: 1},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       createdAt(daysAgo(30)),
			wantIDs:     []string{webID},
			wantReason:  []string{"has no registered target", "(no price known for application load balancer in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name: "a healthy target: not reported",
			setup: func(f *fakeAWS) {
				createdAt(daysAgo(30))(f)
				registerTargets(f, f.targetGroups[0], healthy)
			},
			wantCalls: map[string]int{opDescribeLBs: 1, opDescribeTGs: 1, opDescribeTH: 1},
		},
		{
			name: "a target in any state counts as registered",
			setup: func(f *fakeAWS) {
				for _, s := range []elbtypes.TargetHealthStateEnum{"unhealthy", "draining", "unused", "unavailable", "initial", "unhealthy.draining"} {
					lb := alb("lb-"+string(s), daysAgo(30))
					tg := targetGroup("tg-"+string(s), lb)
					f.loadBalancers = append(f.loadBalancers, lb)
					f.targetGroups = append(f.targetGroups, tg)
					registerTargets(f, tg, s)
				}
			},
			wantCalls: map[string]int{opDescribeLBs: 1, opDescribeTGs: 1, opDescribeTH: 6},
		},
		{
			name: "an empty group and one with a target: not reported",
			setup: func(f *fakeAWS) {
				lb := alb(web, daysAgo(30))
				f.loadBalancers = []elbtypes.LoadBalancer{lb}
				f.targetGroups = []elbtypes.TargetGroup{targetGroup("empty", lb), targetGroup("full", lb)}
				registerTargets(f, f.targetGroups[1], healthy)
			},
			wantCalls: map[string]int{opDescribeLBs: 1, opDescribeTGs: 1, opDescribeTH: 2},
		},
		{
			name: "stops asking at the first group with a target",
			setup: func(f *fakeAWS) {
				lb := alb(web, daysAgo(30))
				f.loadBalancers = []elbtypes.LoadBalancer{lb}
				f.targetGroups = []elbtypes.TargetGroup{targetGroup("full", lb), targetGroup("empty", lb)}
				registerTargets(f, f.targetGroups[0], healthy)
			},
			wantCalls: map[string]int{opDescribeLBs: 1, opDescribeTGs: 1, opDescribeTH: 1},
		},
		{
			name: "a group shared by two load balancers is asked once",
			setup: func(f *fakeAWS) {
				a, b := alb("a", daysAgo(30)), nlb("b", daysAgo(30))
				f.loadBalancers = []elbtypes.LoadBalancer{a, b}
				f.targetGroups = []elbtypes.TargetGroup{targetGroup("shared", a, b)}
			},
			wantIDs:   []string{lbID(albType, "a"), lbID(nlbType, "b")},
			wantCalls: map[string]int{opDescribeLBs: 1, opDescribeTGs: 1, opDescribeTH: 1},
		},
		{
			name: "an ALB and an NLB of the same name have distinct IDs",
			setup: func(f *fakeAWS) {
				f.loadBalancers = []elbtypes.LoadBalancer{alb("same", daysAgo(30)), nlb("same", daysAgo(30))}
			},
			wantIDs:   []string{"app/same/" + lbHex, "net/same/" + lbHex},
			wantCalls: map[string]int{opDescribeLBs: 1, opDescribeTGs: 1},
		},
		{
			name:      "younger than minAgeDays: target groups and health never read",
			setup:     createdAt(daysAgo(6)),
			wantCalls: onlyLBs,
		},
		{
			name:      "one second younger than minAgeDays: not reported",
			setup:     createdAt(daysAgo(7).Add(time.Second)),
			wantCalls: onlyLBs,
		},
		{
			name:       "exactly minAgeDays old: reported",
			setup:      createdAt(daysAgo(7)),
			wantIDs:    []string{webID},
			wantReason: []string{"created " + daysAgo(7).Format("2006-01-02")},
		},
		{
			name:       "minAgeDays 0 reports a load balancer created an hour ago",
			params:     map[string]float64{"minAgeDays": 0},
			setup:      createdAt(ago(time.Hour)),
			wantIDs:    []string{webID},
			wantReason: []string{"created " + ago(time.Hour).Format("2006-01-02")},
		},
		{
			name:      "raised minAgeDays skips a 20-day-old load balancer",
			params:    map[string]float64{"minAgeDays": 30},
			setup:     createdAt(daysAgo(20)),
			wantCalls: onlyLBs,
		},
		{
			name:      "unknown creation time: not reported",
			setup:     createdAt(time.Time{}),
			wantCalls: onlyLBs,
		},
		{
			name: "gateway load balancers and load balancers not active are no candidates",
			setup: func(f *fakeAWS) {
				f.loadBalancers = []elbtypes.LoadBalancer{loadBalancer("gw", gwlType, active, daysAgo(30))}
				for _, s := range []elbtypes.LoadBalancerStateEnum{"provisioning", "active_impaired", "failed"} {
					f.loadBalancers = append(f.loadBalancers, loadBalancer(string(s), albType, s, daysAgo(30)))
				}
				noState := alb("nostate", daysAgo(30))
				noState.State = nil
				f.loadBalancers = append(f.loadBalancers, noState)
				for _, lb := range f.loadBalancers {
					f.targetGroups = append(f.targetGroups, targetGroup(aws.ToString(lb.LoadBalancerName)+"-tg", lb))
				}
			},
			wantCalls: onlyLBs,
		},
		{
			name:        "no load balancers: target groups not read",
			setup:       func(f *fakeAWS) { f.targetGroups = []elbtypes.TargetGroup{targetGroup("spare")} },
			wantNoFetch: true,
			wantCalls:   onlyLBs,
		},
		{
			name: "many load balancers and target groups over many pages",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 5 {
					emptyALB(f, fmt.Sprintf("lb-%d", i))
				}
				registerTargets(f, f.targetGroups[1], healthy)
				registerTargets(f, f.targetGroups[3], healthy)
			},
			wantIDs:   []string{lbID(albType, "lb-0"), lbID(albType, "lb-2"), lbID(albType, "lb-4")},
			wantCalls: map[string]int{opDescribeLBs: 3, opDescribeTGs: 3, opDescribeTH: 5},
		},
		{
			name: "DescribeTargetHealth denied fails the check",
			setup: func(f *fakeAWS) {
				emptyALB(f, web)
				f.errs = map[string]error{opDescribeTH: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "elb-no-targets", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
		{
			name: "DescribeTargetGroups denied fails the check",
			setup: func(f *fakeAWS) {
				emptyALB(f, web)
				f.errs = map[string]error{opDescribeTGs: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "elb-no-targets", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opDescribeLBs: 1, opDescribeTGs: 1},
		},
	})
}

// TestELBChecksJudgeIndependently: a load balancer with neither targets nor
// traffic is reported by elb-no-targets and by elb-idle, and the checks
// share one walk of each API.
func TestELBChecksJudgeIndependently(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	emptyALB(f, "web")
	f.set(albRequests("web"), flat(14, 0))
	res := scan(t, f, priced, []checks.Check{checks.ELBNoTargets, checks.ELBIdle, checks.ELBUnusedTargetGroup}, nil)
	if len(res.Errors) != 0 {
		t.Fatalf("errors %+v", res.Errors)
	}
	var got []string
	for _, j := range res.Judged {
		got = append(got, j.CheckID+"/"+j.Resource.ID)
	}
	want := []string{"elb-no-targets/" + lbID(albType, "web"), "elb-idle/" + lbID(albType, "web")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("judged (-want +got):\n%s", diff)
	}
	wantCalls := map[string]int{opDescribeLBs: 1, opDescribeTGs: 1, opDescribeTH: 1, opGetMetricData: 1}
	if diff := cmp.Diff(wantCalls, f.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
