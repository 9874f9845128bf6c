package checks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// describeTableConcurrency bounds the DescribeTable calls in flight for one
// pair: the API takes one table per call, and a few hundred tables described
// one after the other would eat much of the collector's deadline.
const describeTableConcurrency = 8

// DynamoDBIdleProvisionedTable finds tables in provisioned capacity mode that
// served no read and no write during the lookback: their provisioned read
// and write capacity is billed by the hour whether used or not. On-demand
// tables cost nothing when idle and are not judged.
//
// A read through a global secondary index consumes the index's capacity,
// which CloudWatch reports under TableName and GlobalSecondaryIndexName, not
// under the table; so each index's reads are asked for too. Writes reach an
// index only through its table, so the table's writes cover them.
var DynamoDBIdleProvisionedTable = Check{
	ID:           "dynamodb-idle-provisioned-table",
	Service:      "dynamodb",
	ResourceType: "AWS::DynamoDB::Table",
	Category:     finding.Idle,
	Description:  "Active DynamoDB tables in provisioned capacity mode with no consumed read or write capacity (table and global secondary indexes) over the lookback, billed for their provisioned RCU and WCU.",
	Params: []Param{
		// Trusted Advisor has no idle DynamoDB table check (only reserved
		// capacity recommendations). The DynamoDB Developer Guide,
		// "Identifying your unused resources", reads the Sum of
		// ConsumedRead/WriteCapacityUnits of the table and its GSIs over a
		// long period (its example: 30 days).
		lookbackParam(14, "orgscan default: two weeks, like the other idle checks; rule from the DynamoDB Developer Guide, Identifying your unused resources (zero ConsumedRead/WriteCapacityUnits Sum, table and GSIs)"),
	},
	Actions: []string{"dynamodb:ListTables", "dynamodb:DescribeTable", "cloudwatch:GetMetricData"},
	Metrics: []Metric{
		{"AWS/DynamoDB", "ConsumedReadCapacityUnits", "Sum"},
		{"AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Sum"},
	},
	MissingData: "no ConsumedReadCapacityUnits or ConsumedWriteCapacityUnits datapoints mean zero consumed (DynamoDB publishes none for a table or index without traffic)",
	Select:      selectIdleProvisionedTables,
	Evaluate:    evaluateIdleProvisionedTable,
}

// ddbQuery builds a query on a table's metric, or on one of its global
// secondary indexes' when index is not empty. TableName comes first: it is
// the dimension that names the resource.
func ddbQuery(metric, table, index string) cwbatch.Query {
	q := cwbatch.DynamoDB(metric, "Sum", table)
	if index != "" {
		q.Dimensions = append(q.Dimensions, cwbatch.Dimension{Name: "GlobalSecondaryIndexName", Value: index})
	}
	return q
}

// Query keys of a table candidate: reads and writes of the table, and
// gsiReadsPrefix + index name for the reads of each global secondary index.
const (
	tableReads     = "reads"
	tableWrites    = "writes"
	gsiReadsPrefix = "reads:"
)

func selectIdleProvisionedTables(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	names, err := inv.TableNames(ctx)
	if err != nil {
		return nil, err
	}
	// Only DescribeTable says a table's billing mode, so every table is
	// described, once, a few at a time.
	tables := make([]*ddbtypes.TableDescription, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(describeTableConcurrency)
	for i, name := range names {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err // another table failed: do not start more calls
			}
			t, err := inv.Table(gctx, name)
			var api smithy.APIError
			if errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException" {
				return nil // deleted between ListTables and DescribeTable
			}
			tables[i] = t
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []Candidate
	for _, t := range tables {
		if t == nil || t.TableStatus != ddbtypes.TableStatusActive || !provisioned(t) {
			continue
		}
		created := aws.ToTime(t.CreationDateTime)
		if !oldEnough(created, env.Now, env.LookbackDays()) {
			continue
		}
		name := aws.ToString(t.TableName)
		qs := map[string]cwbatch.Query{
			tableReads:  ddbQuery("ConsumedReadCapacityUnits", name, ""),
			tableWrites: ddbQuery("ConsumedWriteCapacityUnits", name, ""),
		}
		for _, gsi := range t.GlobalSecondaryIndexes {
			idx := aws.ToString(gsi.IndexName)
			qs[gsiReadsPrefix+idx] = ddbQuery("ConsumedReadCapacityUnits", name, idx)
		}
		out = append(out, Candidate{
			// DescribeTable returns no tags (ListTagsOfResource would cost
			// a call per table).
			Resource: Resource{Type: "AWS::DynamoDB::Table", ID: name, ARN: aws.ToString(t.TableArn), Name: name,
				State: string(t.TableStatus), Created: created},
			Queries: qs,
			Data:    *t,
		})
	}
	return out, nil
}

// provisioned reports whether a table bills provisioned capacity. Tables
// created before on-demand mode existed may carry no BillingModeSummary:
// they are provisioned.
func provisioned(t *ddbtypes.TableDescription) bool {
	return t.BillingModeSummary == nil || t.BillingModeSummary.BillingMode == "" ||
		t.BillingModeSummary.BillingMode == ddbtypes.BillingModeProvisioned
}

func evaluateIdleProvisionedTable(c Candidate, m cwbatch.Results, env Env) (*Verdict, error) {
	n := env.LookbackDays()
	keys := slices.Sorted(maps.Keys(c.Queries)) // the first unavailable query, always the same one
	var reads, writes float64
	for _, k := range keys {
		d, err := lastDays(m, c.Queries[k], env.Now, n)
		if err != nil {
			return nil, err
		}
		if k == tableWrites {
			writes += d.sum()
		} else {
			reads += d.sum()
		}
	}
	if reads > 0 || writes > 0 {
		return nil, nil
	}
	t := c.Data.(ddbtypes.TableDescription)
	rcu, wcu := throughput(t.ProvisionedThroughput)
	for _, gsi := range t.GlobalSecondaryIndexes {
		r, w := throughput(gsi.ProvisionedThroughput)
		rcu, wcu = rcu+r, wcu+w
	}
	usd := cost(env.Prices.DynamoDBProvisioned(env.Region, rcu, wcu))
	scope := "table"
	if k := len(t.GlobalSecondaryIndexes); k > 0 {
		scope = fmt.Sprintf("table and %d global secondary index(es)", k)
	}
	return &Verdict{
		Reason: fmt.Sprintf("provisioned %d RCU and %d WCU (%s): no read or write capacity consumed in %s; created %s%s",
			rcu, wcu, scope, days(n), c.Resource.Created.UTC().Format("2006-01-02"),
			unknownNote(usd, "DynamoDB provisioned capacity", env.Region)),
		Evidence: map[string]float64{"consumedReadCapacityUnits": 0, "consumedWriteCapacityUnits": 0,
			"provisionedRCU": float64(rcu), "provisionedWCU": float64(wcu),
			"globalSecondaryIndexes": float64(len(t.GlobalSecondaryIndexes)), "lookbackDays": float64(n)},
		MonthlyCostUSD: usd,
	}, nil
}

func throughput(p *ddbtypes.ProvisionedThroughputDescription) (rcu, wcu int64) {
	if p == nil {
		return 0, 0
	}
	return aws.ToInt64(p.ReadCapacityUnits), aws.ToInt64(p.WriteCapacityUnits)
}
