package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

const bytesPerMB = 1_000_000

// EC2IdleInstance finds running instances that did no work: on every day of
// the lookback, the daily average CPU and the day's network traffic stayed at
// or under the thresholds.
var EC2IdleInstance = Check{
	ID:           "ec2-idle-instance",
	Service:      "ec2",
	ResourceType: "AWS::EC2::Instance",
	Category:     finding.Idle,
	Description:  "Running instances whose daily average CPU and daily network traffic stayed at or under the thresholds on every day of the lookback.",
	Params: []Param{
		// Trusted Advisor "Low Utilization Amazon EC2 Instances" judges the last 14 days.
		lookbackParam(14, "Trusted Advisor, Low Utilization Amazon EC2 Instances: 14 days"),
		// Trusted Advisor flags ≤10% CPU on 4 of 14 days; orgscan asks for a
		// stricter ≤5% on every day so that a finding means "idle", not "small".
		{Name: "cpuPercent", Default: 5, Min: 0, Max: 100, Unit: "%", Description: "highest daily average CPUUtilization",
			Source: "orgscan default; stricter than Trusted Advisor's 10% on 4 of 14 days"},
		// Trusted Advisor: "network I/O was 5 MB or less".
		{Name: "networkMB", Default: 5, Min: 0, Max: 1e6, Unit: "MB/day", Description: "highest daily NetworkIn+NetworkOut",
			Source: "Trusted Advisor, Low Utilization Amazon EC2 Instances: network I/O 5 MB or less"},
	},
	Actions: []string{"ec2:DescribeInstances", "cloudwatch:GetMetricData"},
	Metrics: []Metric{
		{"AWS/EC2", "CPUUtilization", "Average"},
		{"AWS/EC2", "NetworkIn", "Sum"},
		{"AWS/EC2", "NetworkOut", "Sum"},
	},
	MissingData: "a day without a CPUUtilization datapoint is not enough evidence: the instance is not reported; missing network datapoints count as no traffic",
	Select:      selectIdleInstances,
	Evaluate:    evaluateIdleInstance,
}

func selectIdleInstances(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	instances, err := inv.Instances(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, in := range instances {
		if in.State == nil || in.State.Name != ec2types.InstanceStateNameRunning {
			continue // stopped instances need no metrics; they are another check's business
		}
		launched := aws.ToTime(in.LaunchTime)
		if !oldEnough(launched, env.Now, env.LookbackDays()) {
			continue
		}
		id := aws.ToString(in.InstanceId)
		out = append(out, Candidate{
			Resource: instanceResource(env, in),
			Queries: map[string]cwbatch.Query{
				"cpu":    cwbatch.EC2("CPUUtilization", "Average", id),
				"netIn":  cwbatch.EC2("NetworkIn", "Sum", id),
				"netOut": cwbatch.EC2("NetworkOut", "Sum", id),
			},
			Data: string(in.InstanceType),
		})
	}
	return out, nil
}

func evaluateIdleInstance(c Candidate, m cwbatch.Results, env Env) (*Verdict, error) {
	n := env.LookbackDays()
	cpu, err := lastDays(m, c.Queries["cpu"], env.Now, n)
	if err != nil {
		return nil, err
	}
	in, err := lastDays(m, c.Queries["netIn"], env.Now, n)
	if err != nil {
		return nil, err
	}
	out, err := lastDays(m, c.Queries["netOut"], env.Now, n)
	if err != nil {
		return nil, err
	}
	if cpu.days() < n {
		return nil, nil
	}
	cpuMax, netMaxMB := 0.0, 0.0
	for d := 0; d < n; d++ {
		cpuMax = max(cpuMax, cpu.values[d])
		netMaxMB = max(netMaxMB, (in.values[d]+out.values[d])/bytesPerMB)
	}
	if cpuMax > env.Params["cpuPercent"] || netMaxMB > env.Params["networkMB"] {
		return nil, nil
	}
	typ := c.Data.(string)
	usd := cost(env.Prices.EC2Instance(env.Region, typ))
	return &Verdict{
		Reason: fmt.Sprintf("running %s idle for %s: daily average CPU at most %.1f%% (threshold %g%%), network at most %.2f MB/day (threshold %g MB)%s",
			typ, days(n), cpuMax, env.Params["cpuPercent"], netMaxMB, env.Params["networkMB"], unknownNote(usd, typ, env.Region)),
		Evidence:       map[string]float64{"maxDailyCpuPercent": round2(cpuMax), "maxDailyNetworkMB": round2(netMaxMB), "lookbackDays": float64(n)},
		MonthlyCostUSD: usd,
	}, nil
}
