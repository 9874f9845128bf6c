package checks_test

import (
	"fmt"
	"testing"

	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/orgscan/orgscan/pkg/checks"
)

func TestELBUnusedTargetGroup(t *testing.T) {
	t.Parallel()
	const orphan = "orphan"
	orphanID := tgID(orphan)
	onlyTGs := map[string]int{opDescribeTGs: 1}
	runCheckCases(t, checks.ELBUnusedTargetGroup, []checkCase{
		{
			name: "group attached to no load balancer: reported at a known cost of zero",
			setup: func(f *fakeAWS) {
				f.targetGroups = []elbtypes.TargetGroup{targetGroup(orphan)}
			},
			wantIDs: []string{orphanID},
			wantJudged: []checks.Judged{{
				CheckID:  "elb-unused-target-group",
				Resource: checks.Resource{Type: "AWS::ElasticLoadBalancingV2::TargetGroup", ID: orphanID, ARN: tgARN(orphan), Name: orphan},
				Verdict: checks.Verdict{
					Reason:         "target group of instance targets (HTTP:80) is attached to no load balancer. No direct cost (target groups are free), but it is clutter",
					Evidence:       map[string]float64{"loadBalancers": 0},
					MonthlyCostUSD: usd(0),
				},
			}},
			// Neither load balancers nor target health are read.
			wantNoFetch: true,
			wantCalls:   onlyTGs,
		},
		{
			name:         "unpriced region: the cost is still a known zero",
			region:       unpriced,
			setup:        func(f *fakeAWS) { f.targetGroups = []elbtypes.TargetGroup{targetGroup(orphan)} },
			wantIDs:      []string{orphanID},
			wantCost:     usd(0),
			wantNoReason: []string{"no price known"},
		},
		{
			name: "group attached to a load balancer: not reported",
			setup: func(f *fakeAWS) {
				f.targetGroups = []elbtypes.TargetGroup{targetGroup("used", alb("web", daysAgo(30)))}
			},
			wantCalls: onlyTGs,
		},
		{
			name: "group attached to a load balancer that is itself unused: not reported",
			setup: func(f *fakeAWS) {
				emptyALB(f, "web")
			},
			wantCalls: onlyTGs,
		},
		{
			name: "registered targets do not make a group used; target health is not read",
			setup: func(f *fakeAWS) {
				f.targetGroups = []elbtypes.TargetGroup{targetGroup(orphan)}
				registerTargets(f, f.targetGroups[0], elbtypes.TargetHealthStateEnumUnused)
			},
			wantIDs:   []string{orphanID},
			wantCalls: onlyTGs,
		},
		{
			name: "Lambda group without protocol or port",
			setup: func(f *fakeAWS) {
				tg := targetGroup("fn")
				tg.TargetType, tg.Protocol, tg.Port = elbtypes.TargetTypeEnumLambda, "", nil
				f.targetGroups = []elbtypes.TargetGroup{tg}
			},
			wantIDs:    []string{tgID("fn")},
			wantReason: []string{"target group of lambda targets is attached to no load balancer."},
		},
		{
			name: "many groups over many pages",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				lb := alb("web", daysAgo(30))
				for i := range 5 {
					if i%2 == 1 {
						f.targetGroups = append(f.targetGroups, targetGroup(fmt.Sprintf("tg-%d", i), lb))
					} else {
						f.targetGroups = append(f.targetGroups, targetGroup(fmt.Sprintf("tg-%d", i)))
					}
				}
			},
			wantIDs:   []string{tgID("tg-0"), tgID("tg-2"), tgID("tg-4")},
			wantCost:  usd(0),
			wantCalls: map[string]int{opDescribeTGs: 3},
		},
		{
			name:      "no target groups",
			setup:     func(*fakeAWS) {},
			wantCalls: onlyTGs,
		},
		{
			name: "DescribeTargetGroups denied",
			setup: func(f *fakeAWS) {
				f.targetGroups = []elbtypes.TargetGroup{targetGroup(orphan)}
				f.errs = map[string]error{opDescribeTGs: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "elb-unused-target-group", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: onlyTGs,
		},
	})
}
