package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// VPCIdleNATGateway finds NAT gateways that carried no traffic, following
// AWS Compute Optimizer's idle NAT gateway criteria: no active connections
// and no packets from source or destination over 32 days. A gateway that no
// route table points at is reported as "unused" rather than "idle".
var VPCIdleNATGateway = Check{
	ID:           "vpc-idle-nat-gateway",
	Service:      "ec2",
	ResourceType: "AWS::EC2::NatGateway",
	Category:     finding.Idle,
	Description:  "NAT gateways with no active connections and no packets in either direction over the lookback; \"unused\" when no route table routes through them.",
	Params: []Param{
		lookbackParam(32, "AWS Compute Optimizer, idle NAT gateway: ActiveConnectionCount, PacketsInFromSource and PacketsInFromDestination all zero over 32 days"),
	},
	Actions: []string{"ec2:DescribeNatGateways", "ec2:DescribeRouteTables", "cloudwatch:GetMetricData"},
	Metrics: []Metric{
		{"AWS/NATGateway", "ActiveConnectionCount", "Maximum"},
		{"AWS/NATGateway", "PacketsInFromSource", "Sum"},
		{"AWS/NATGateway", "PacketsInFromDestination", "Sum"},
	},
	MissingData: "days without datapoints count as no traffic (the metrics are counters)",
	Select:      selectIdleNATGateways,
	Evaluate:    evaluateIdleNATGateway,
}

type natData struct {
	routeTables int
}

func selectIdleNATGateways(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	gws, err := inv.NATGateways(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, g := range gws {
		if g.State != ec2types.NatGatewayStateAvailable {
			continue
		}
		created := aws.ToTime(g.CreateTime)
		if !oldEnough(created, env.Now, env.LookbackDays()) {
			continue
		}
		id := aws.ToString(g.NatGatewayId)
		out = append(out, Candidate{
			Resource: natResource(env, g),
			Queries: map[string]cwbatch.Query{
				"connections": cwbatch.NATGateway("ActiveConnectionCount", "Maximum", id),
				"fromSource":  cwbatch.NATGateway("PacketsInFromSource", "Sum", id),
				"fromDest":    cwbatch.NATGateway("PacketsInFromDestination", "Sum", id),
			},
		})
	}
	if len(out) == 0 {
		return nil, nil // route tables are only read when a gateway could be reported
	}
	tables, err := inv.RouteTables(ctx)
	if err != nil {
		return nil, err
	}
	refs := map[string]int{}
	for _, t := range tables {
		seen := map[string]bool{}
		for _, r := range t.Routes {
			if id := aws.ToString(r.NatGatewayId); id != "" && !seen[id] {
				seen[id] = true
				refs[id]++
			}
		}
	}
	for i := range out {
		out[i].Data = natData{routeTables: refs[out[i].Resource.ID]}
	}
	return out, nil
}

func evaluateIdleNATGateway(c Candidate, m cwbatch.Results, env Env) (*Verdict, error) {
	n := env.LookbackDays()
	var total [3]float64
	for i, k := range []string{"connections", "fromSource", "fromDest"} {
		d, err := lastDays(m, c.Queries[k], env.Now, n)
		if err != nil {
			return nil, err
		}
		total[i] = d.sum()
	}
	if total[0] > 0 || total[1] > 0 || total[2] > 0 {
		return nil, nil
	}
	rt := c.Data.(natData).routeTables
	what := "idle"
	if rt == 0 {
		what = "unused (no route table routes through it)"
	}
	usd := cost(env.Prices.NATGateway(env.Region))
	return &Verdict{
		Reason: fmt.Sprintf("NAT gateway %s: no active connections and no packets from source or destination in %s; referenced by %d route table(s)%s",
			what, days(n), rt, unknownNote(usd, "NAT gateway", env.Region)),
		Evidence:       map[string]float64{"activeConnections": 0, "packetsInFromSource": 0, "packetsInFromDestination": 0, "routeTables": float64(rt), "lookbackDays": float64(n)},
		MonthlyCostUSD: usd,
	}, nil
}
