package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// ELBIdle finds Application Load Balancers that served no request and
// Network Load Balancers that opened no flow during the lookback. Trusted
// Advisor's "Idle Load Balancers" flags fewer than 100 requests over 7 days
// (or no active back-end instance); orgscan asks for none at all over 14
// days by default, so a weekly job still counts as use, and the threshold is
// a parameter for those who want Trusted Advisor's.
//
// It judges traffic alone and ignores targets: a load balancer with no
// registered target is judged here too, independently of elb-no-targets,
// and one with neither targets nor traffic gets a finding from each.
var ELBIdle = Check{
	ID:           "elb-idle",
	Service:      "elasticloadbalancing",
	ResourceType: loadBalancerType,
	Category:     finding.Idle,
	Description:  "Active Application Load Balancers whose RequestCount, and Network Load Balancers whose NewFlowCount, summed over the lookback is at or under the threshold (zero by default). Targets are not considered: a load balancer without targets is judged here too, independently of elb-no-targets.",
	Params: []Param{
		lookbackParam(14, "Trusted Advisor, Idle Load Balancers: RequestCount under 100 over 7 days; orgscan requires none over 14 days so a weekly job still counts"),
		{Name: "maxRequests", Default: 0, Min: 0, Max: 1e9, Unit: "requests or new flows",
			Description: "most requests (ALB) or new flows (NLB) over the whole lookback of a load balancer still reported idle",
			Source:      "orgscan default: none at all; Trusted Advisor, Idle Load Balancers, tolerates fewer than 100 requests (a threshold of 99 over 7 days)"},
	},
	Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "cloudwatch:GetMetricData"},
	Metrics: []Metric{
		{"AWS/ApplicationELB", "RequestCount", "Sum"},
		{"AWS/NetworkELB", "NewFlowCount", "Sum"},
	},
	MissingData: "days without datapoints count as zero: ELB publishes RequestCount and NewFlowCount only for periods with traffic",
	Select:      selectIdleLoadBalancers,
	Evaluate:    evaluateIdleLoadBalancer,
}

func selectIdleLoadBalancers(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	lbs, err := inv.LoadBalancers(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, lb := range lbs {
		if !judgedLoadBalancer(lb) || !oldEnough(aws.ToTime(lb.CreatedTime), env.Now, env.LookbackDays()) {
			continue
		}
		r := loadBalancerResource(lb)
		q := cwbatch.ApplicationELB("RequestCount", "Sum", r.ID)
		if lb.Type == elbtypes.LoadBalancerTypeEnumNetwork {
			q = cwbatch.NetworkELB("NewFlowCount", "Sum", r.ID)
		}
		out = append(out, Candidate{Resource: r, Queries: map[string]cwbatch.Query{"traffic": q}, Data: lb.Type})
	}
	return out, nil
}

func evaluateIdleLoadBalancer(c Candidate, m cwbatch.Results, env Env) (*Verdict, error) {
	n := env.LookbackDays()
	d, err := lastDays(m, c.Queries["traffic"], env.Now, n)
	if err != nil {
		return nil, err
	}
	total, limit := d.sum(), env.Params["maxRequests"]
	if total > limit {
		return nil, nil
	}
	lbType := c.Data.(elbtypes.LoadBalancerTypeEnum)
	what, key := "requests", "requests"
	if lbType == elbtypes.LoadBalancerTypeEnumNetwork {
		what, key = "new flows", "newFlows"
	}
	kind := loadBalancerKind(lbType)
	usd := cost(env.Prices.LoadBalancer(env.Region, string(lbType)))
	return &Verdict{
		Reason: fmt.Sprintf("%s: %g %s in %s (threshold %g); created %s%s", kind, total, what, days(n), limit,
			c.Resource.Created.UTC().Format("2006-01-02"), unknownNote(usd, kind, env.Region)),
		Evidence:       map[string]float64{key: total, "daysWithData": float64(d.days()), "lookbackDays": float64(n)},
		MonthlyCostUSD: usd,
	}, nil
}
