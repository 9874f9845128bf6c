package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// RDSIdleInstance finds DB instances nobody connected to during the lookback.
var RDSIdleInstance = Check{
	ID:           "rds-idle-instance",
	Service:      "rds",
	ResourceType: "AWS::RDS::DBInstance",
	Category:     finding.Idle,
	Description:  "Available RDS DB instances whose highest DatabaseConnections over the lookback is at or under the threshold (zero by default).",
	Params: []Param{
		// Trusted Advisor "Amazon RDS Idle DB Instances" flags no connection for
		// 7 days; orgscan looks back two weeks so a weekly job still counts.
		lookbackParam(14, "Trusted Advisor, Amazon RDS Idle DB Instances: no connection for 7 days; orgscan doubles the window"),
		{Name: "maxConnections", Default: 0, Min: 0, Max: 1e6, Unit: "connections", Description: "highest DatabaseConnections tolerated",
			Source: "Trusted Advisor, Amazon RDS Idle DB Instances: no connection"},
	},
	Actions:     []string{"rds:DescribeDBInstances", "cloudwatch:GetMetricData"},
	Metrics:     []Metric{{"AWS/RDS", "DatabaseConnections", "Maximum"}},
	MissingData: "no DatabaseConnections datapoint in the whole window is not enough evidence: the instance is not reported",
	Select:      selectIdleDBInstances,
	Evaluate:    evaluateIdleDBInstance,
}

func selectIdleDBInstances(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	dbs, err := inv.DBInstances(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, db := range dbs {
		if aws.ToString(db.DBInstanceStatus) != "available" {
			continue
		}
		created := aws.ToTime(db.InstanceCreateTime)
		if !oldEnough(created, env.Now, env.LookbackDays()) {
			continue
		}
		id := aws.ToString(db.DBInstanceIdentifier)
		out = append(out, Candidate{
			Resource: dbResource(db),
			Queries:  map[string]cwbatch.Query{"connections": cwbatch.RDS("DatabaseConnections", "Maximum", id)},
			Data:     db,
		})
	}
	return out, nil
}

func evaluateIdleDBInstance(c Candidate, m cwbatch.Results, env Env) (*Verdict, error) {
	n := env.LookbackDays()
	d, err := lastDays(m, c.Queries["connections"], env.Now, n)
	if err != nil {
		return nil, err
	}
	if d.days() == 0 {
		return nil, nil
	}
	peak := d.max()
	if peak > env.Params["maxConnections"] {
		return nil, nil
	}
	db := c.Data.(rdstypes.DBInstance)
	class := aws.ToString(db.DBInstanceClass)
	multiAZ := aws.ToBool(db.MultiAZ)
	storage := aws.ToInt32(db.AllocatedStorage)
	usd := cost(env.Prices.RDSInstance(env.Region, class, storage, multiAZ))
	az := "single-AZ"
	if multiAZ {
		az = "Multi-AZ"
	}
	return &Verdict{
		Reason: fmt.Sprintf("%s %s %s with %d GiB: at most %g database connections in %s (threshold %g)%s",
			az, aws.ToString(db.Engine), class, storage, peak, days(n), env.Params["maxConnections"], unknownNote(usd, class, env.Region)),
		Evidence:       map[string]float64{"maxConnections": peak, "daysWithData": float64(d.days()), "lookbackDays": float64(n), "allocatedStorageGiB": float64(storage)},
		MonthlyCostUSD: usd,
	}, nil
}
