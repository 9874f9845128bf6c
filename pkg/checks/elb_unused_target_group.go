package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// ELBUnusedTargetGroup finds target groups that no load balancer forwards
// to. Target groups are free, so the finding is hygiene with a known cost of
// zero: a stale group is clutter, and the targets registered in it may be
// leftovers too. DescribeTargetGroups gives no creation time, so there is no
// minimum age: a group created moments ago for a deployment in flight is
// reported as well.
var ELBUnusedTargetGroup = Check{
	ID:           "elb-unused-target-group",
	Service:      "elasticloadbalancing",
	ResourceType: targetGroupType,
	Category:     finding.Hygiene,
	Description:  "Target groups attached to no load balancer. They cost nothing but are clutter; ELB exposes no creation time, so every such group is reported whatever its age.",
	Actions:      []string{"elasticloadbalancing:DescribeTargetGroups"},
	MissingData:  "no metrics: decided from DescribeTargetGroups",
	Select:       selectUnusedTargetGroups,
	Evaluate:     evaluateUnusedTargetGroup,
}

func selectUnusedTargetGroups(ctx context.Context, inv *Inventory, _ Env) ([]Candidate, error) {
	tgs, err := inv.TargetGroups(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, tg := range tgs {
		if len(tg.LoadBalancerArns) > 0 {
			continue
		}
		arn := aws.ToString(tg.TargetGroupArn)
		out = append(out, Candidate{
			Resource: Resource{Type: targetGroupType, ID: elbResourceID(arn), ARN: arn, Name: aws.ToString(tg.TargetGroupName)},
			Data:     tg,
		})
	}
	return out, nil
}

func evaluateUnusedTargetGroup(c Candidate, _ cwbatch.Results, _ Env) (*Verdict, error) {
	tg := c.Data.(elbtypes.TargetGroup)
	what := fmt.Sprintf("target group of %s targets", tg.TargetType)
	if tg.Protocol != "" && tg.Port != nil {
		what = fmt.Sprintf("%s (%s:%d)", what, tg.Protocol, aws.ToInt32(tg.Port))
	}
	zero := 0.0
	return &Verdict{
		Reason:         what + " is attached to no load balancer. No direct cost (target groups are free), but it is clutter",
		Evidence:       map[string]float64{"loadBalancers": 0},
		MonthlyCostUSD: &zero,
	}, nil
}
