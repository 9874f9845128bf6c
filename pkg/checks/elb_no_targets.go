package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// ELBNoTargets finds Application and Network Load Balancers with nothing
// behind them: none of their target groups has a registered target, or they
// have no target group at all. They are billed by the hour all the same
// (Trusted Advisor's "Idle Load Balancers" flags load balancers with no
// active back-end instances for this reason). A registered target in any
// state (healthy, unhealthy, draining, unused, unavailable) counts as a
// target: only an empty DescribeTargetHealth answer is "none".
//
// An ALB whose listeners only redirect or return fixed responses has no
// target group and is reported, though it may serve traffic: elb-idle judges
// traffic independently, so such a load balancer gets this finding only,
// and one with neither targets nor traffic gets both.
var ELBNoTargets = Check{
	ID:           "elb-no-targets",
	Service:      "elasticloadbalancing",
	ResourceType: loadBalancerType,
	Category:     finding.Unused,
	Description:  "Active Application and Network Load Balancers with no registered target in any of their target groups, or with no target group at all, billed by the hour. Traffic is not considered: elb-idle judges it independently.",
	Params: []Param{
		// ELB does not say when the last target was deregistered; a minimum
		// age keeps load balancers mid-deployment out of the report.
		{Name: "minAgeDays", Default: 7, Min: 0, Max: 3650, Unit: "days", Integer: true, Description: "minimum age of a reported load balancer",
			Source: "orgscan default: skips load balancers created in the last week, whose targets may not be registered yet (ELB exposes no deregistration time)"},
	},
	Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups",
		"elasticloadbalancing:DescribeTargetHealth"},
	MissingData: "no metrics: decided from DescribeLoadBalancers, DescribeTargetGroups and DescribeTargetHealth",
	Select:      selectLoadBalancersWithoutTargets,
	Evaluate:    evaluateLoadBalancerWithoutTargets,
}

type noTargetsData struct {
	lbType       elbtypes.LoadBalancerTypeEnum
	targetGroups int
}

func selectLoadBalancersWithoutTargets(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	lbs, err := inv.LoadBalancers(ctx)
	if err != nil {
		return nil, err
	}
	var judged []elbtypes.LoadBalancer
	for _, lb := range lbs {
		if judgedLoadBalancer(lb) && oldEnough(aws.ToTime(lb.CreatedTime), env.Now, int(env.Params["minAgeDays"])) {
			judged = append(judged, lb)
		}
	}
	if len(judged) == 0 {
		return nil, nil // target groups and their health are only read when a load balancer could be reported
	}
	tgs, err := inv.TargetGroups(ctx)
	if err != nil {
		return nil, err
	}
	groups := map[string][]string{} // load balancer ARN -> its target group ARNs
	for _, tg := range tgs {
		for _, lb := range tg.LoadBalancerArns {
			groups[lb] = append(groups[lb], aws.ToString(tg.TargetGroupArn))
		}
	}
	var out []Candidate
	for _, lb := range judged {
		tgARNs := groups[aws.ToString(lb.LoadBalancerArn)]
		empty, err := noRegisteredTargets(ctx, inv, tgARNs)
		if err != nil {
			return nil, err
		}
		if !empty {
			continue
		}
		out = append(out, Candidate{Resource: loadBalancerResource(lb), Data: noTargetsData{lbType: lb.Type, targetGroups: len(tgARNs)}})
	}
	return out, nil
}

// noRegisteredTargets reports whether none of the target groups has a
// registered target. It stops at the first group that has one; the
// inventory asks each group at most once, so a group shared by two load
// balancers costs one DescribeTargetHealth call.
func noRegisteredTargets(ctx context.Context, inv *Inventory, tgARNs []string) (bool, error) {
	for _, arn := range tgARNs {
		targets, err := inv.TargetHealth(ctx, arn)
		if err != nil {
			return false, err
		}
		if len(targets) > 0 {
			return false, nil
		}
	}
	return true, nil
}

func evaluateLoadBalancerWithoutTargets(c Candidate, _ cwbatch.Results, env Env) (*Verdict, error) {
	d := c.Data.(noTargetsData)
	kind := loadBalancerKind(d.lbType)
	usd := cost(env.Prices.LoadBalancer(env.Region, string(d.lbType)))
	behind := "has no target group"
	if d.targetGroups > 0 {
		behind = fmt.Sprintf("has no registered target in its %d target group(s)", d.targetGroups)
	}
	return &Verdict{
		Reason: fmt.Sprintf("%s %s; created %s%s", kind, behind, c.Resource.Created.UTC().Format("2006-01-02"),
			unknownNote(usd, kind, env.Region)),
		Evidence:       map[string]float64{"targetGroups": float64(d.targetGroups), "registeredTargets": 0},
		MonthlyCostUSD: usd,
	}, nil
}
