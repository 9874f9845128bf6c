package checks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// ddbGSI is a global secondary index with provisioned throughput.
func ddbGSI(name string, rcu, wcu int64) ddbtypes.GlobalSecondaryIndexDescription {
	return ddbtypes.GlobalSecondaryIndexDescription{IndexName: aws.String(name), IndexStatus: ddbtypes.IndexStatusActive,
		ProvisionedThroughput: &ddbtypes.ProvisionedThroughputDescription{ReadCapacityUnits: aws.Int64(rcu), WriteCapacityUnits: aws.Int64(wcu)}}
}

// ddbTable describes a table; mode "" leaves BillingModeSummary out, as
// DynamoDB does for tables created before on-demand mode.
func ddbTable(name string, mode ddbtypes.BillingMode, status ddbtypes.TableStatus, created time.Time, rcu, wcu int64, gsis ...ddbtypes.GlobalSecondaryIndexDescription) ddbtypes.TableDescription {
	t := ddbtypes.TableDescription{
		TableName:              aws.String(name),
		TableArn:               aws.String("arn:aws:dynamodb:us-east-1:111122223333:table/" + name),
		TableStatus:            status,
		ProvisionedThroughput:  &ddbtypes.ProvisionedThroughputDescription{ReadCapacityUnits: aws.Int64(rcu), WriteCapacityUnits: aws.Int64(wcu)},
		GlobalSecondaryIndexes: gsis,
	}
	if mode != "" {
		t.BillingModeSummary = &ddbtypes.BillingModeSummary{BillingMode: mode}
	}
	if !created.IsZero() {
		t.CreationDateTime = aws.Time(created)
	}
	return t
}

func consumed(f *fakeAWS, table, index string, reads, writes []point) {
	rq := cwbatch.DynamoDB("ConsumedReadCapacityUnits", "Sum", table)
	wq := cwbatch.DynamoDB("ConsumedWriteCapacityUnits", "Sum", table)
	if index != "" {
		rq.Dimensions = append(rq.Dimensions, cwbatch.Dimension{Name: "GlobalSecondaryIndexName", Value: index})
		wq.Dimensions = append(wq.Dimensions, cwbatch.Dimension{Name: "GlobalSecondaryIndexName", Value: index})
	}
	f.set(rq, reads)
	f.set(wq, writes)
}

// idleTable adds an old, active 5/5 provisioned table with no datapoints.
func idleTable(f *fakeAWS, name string) {
	f.tables = append(f.tables, ddbTable(name, ddbtypes.BillingModeProvisioned, ddbtypes.TableStatusActive, daysAgo(300), 5, 5))
}

func TestDynamoDBIdleProvisionedTable(t *testing.T) {
	t.Parallel()
	const name = "orders-archive"
	fiveFive := priceOf(pricing.Default().DynamoDBProvisioned(priced, 5, 5))
	if fiveFive == nil || *fiveFive != 2.85 { // (5 × 0.00013 + 5 × 0.00065) $/h × 730 h
		t.Fatalf("pricing fixture changed: 5 RCU + 5 WCU = %v", fmtCost(fiveFive))
	}
	withGSIs := priceOf(pricing.Default().DynamoDBProvisioned(priced, 5+10+1, 5+2+1))
	active, prov := ddbtypes.TableStatusActive, ddbtypes.BillingModeProvisioned
	one := func(reads, writes []point) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			idleTable(f, name)
			consumed(f, name, "", reads, writes)
		}
	}
	createdAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) { f.tables = []ddbtypes.TableDescription{ddbTable(name, prov, active, at, 5, 5)} }
	}
	gsiTable := func(f *fakeAWS) {
		f.tables = []ddbtypes.TableDescription{ddbTable(name, prov, active, daysAgo(300), 5, 5, ddbGSI("by-customer", 10, 2), ddbGSI("by-date", 1, 1))}
	}
	runCheckCases(t, checks.DynamoDBIdleProvisionedTable, []checkCase{
		{
			name:    "no datapoints means nothing consumed: reported with the provisioned capacity's cost",
			setup:   one(nil, nil),
			wantIDs: []string{name},
			wantJudged: []checks.Judged{{
				CheckID: "dynamodb-idle-provisioned-table",
				Resource: checks.Resource{Type: "AWS::DynamoDB::Table", ID: name, ARN: "arn:aws:dynamodb:us-east-1:111122223333:table/" + name,
					Name: name, State: "ACTIVE", Created: daysAgo(300)},
				Verdict: checks.Verdict{
					Reason: "provisioned 5 RCU and 5 WCU (table): no read or write capacity consumed in 14 days; created 2026-01-24",
					Evidence: map[string]float64{"consumedReadCapacityUnits": 0, "consumedWriteCapacityUnits": 0,
						"provisionedRCU": 5, "provisionedWCU": 5, "globalSecondaryIndexes": 0, "lookbackDays": 14},
					MonthlyCostUSD: fiveFive,
				},
			}},
			wantCalls: map[string]int{opListTables: 1, opDescribeTable: 1, opGetMetricData: 1},
		},
		{
			name:     "zero-valued datapoints (exactly the threshold): reported",
			setup:    one(flat(14, 0), flat(14, 0)),
			wantIDs:  []string{name},
			wantCost: fiveFive,
		},
		{
			name: "no BillingModeSummary (a table older than on-demand mode) is provisioned",
			setup: func(f *fakeAWS) {
				f.tables = []ddbtypes.TableDescription{ddbTable(name, "", active, daysAgo(300), 5, 5)}
			},
			wantIDs:  []string{name},
			wantCost: fiveFive,
		},
		{
			name: "on-demand table: never a candidate, though described",
			setup: func(f *fakeAWS) {
				f.tables = []ddbtypes.TableDescription{ddbTable(name, ddbtypes.BillingModePayPerRequest, active, daysAgo(300), 0, 0)}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opListTables: 1, opDescribeTable: 1},
		},
		{
			name: "tables not ACTIVE are no candidates",
			setup: func(f *fakeAWS) {
				for _, s := range []ddbtypes.TableStatus{ddbtypes.TableStatusCreating, ddbtypes.TableStatusUpdating, ddbtypes.TableStatusDeleting,
					ddbtypes.TableStatusInaccessibleEncryptionCredentials, ddbtypes.TableStatusArchiving, ddbtypes.TableStatusArchived} {
					f.tables = append(f.tables, ddbTable("t-"+string(s), prov, s, daysAgo(300), 5, 5))
				}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opListTables: 1, opDescribeTable: 6},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(nil, nil),
			wantIDs:     []string{name},
			wantReason:  []string{"no read or write capacity consumed", "(no price known for DynamoDB provisioned capacity in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name:  "busy table: not reported",
			setup: one(flat(14, 120), flat(14, 30)),
		},
		{
			name:  "one read on one day: not reported",
			setup: one(with(14, 0, 6, 1), nil),
		},
		{
			name:  "half a read unit (one eventually consistent read) on one day: not reported",
			setup: one(daily(nan, nan, nan, 0.5), nil),
		},
		{
			name:  "one write on the oldest day of the window: not reported",
			setup: one(nil, with(14, 0, 0, 1)),
		},
		{
			name: "reads consumed before the window do not count",
			setup: func(f *fakeAWS) {
				idleTable(f, name)
				consumed(f, name, "", []point{{midnight.AddDate(0, 0, -15), 500}}, nil)
			},
			wantIDs: []string{name},
		},
		{
			name: "global secondary indexes: their provisioned capacity is billed too",
			setup: func(f *fakeAWS) {
				gsiTable(f)
				consumed(f, name, "", flat(14, 0), nil)
			},
			wantIDs:    []string{name},
			wantReason: []string{"provisioned 16 RCU and 8 WCU (table and 2 global secondary index(es))"},
			wantEvidence: map[string]float64{"consumedReadCapacityUnits": 0, "consumedWriteCapacityUnits": 0,
				"provisionedRCU": 16, "provisionedWCU": 8, "globalSecondaryIndexes": 2, "lookbackDays": 14},
			wantCost: withGSIs,
		},
		{
			name: "a table read only through an index is not idle",
			setup: func(f *fakeAWS) {
				gsiTable(f)
				consumed(f, name, "by-date", with(14, 0, 12, 3), nil)
			},
		},
		{
			name:        "younger than the window: never a candidate",
			setup:       createdAt(daysAgo(13)),
			wantNoFetch: true,
		},
		{
			name:        "created one second too late for the window",
			setup:       createdAt(daysAgo(14).Add(time.Second)),
			wantNoFetch: true,
		},
		{
			name:       "created exactly one window ago: judged",
			setup:      createdAt(daysAgo(14)),
			wantIDs:    []string{name},
			wantReason: []string{"created 2026-11-06"},
		},
		{
			name:        "unknown creation time: never a candidate",
			setup:       createdAt(time.Time{}),
			wantNoFetch: true,
		},
		{
			name:       "shorter lookback judges a younger table",
			params:     map[string]float64{"lookbackDays": 7},
			setup:      createdAt(daysAgo(10)),
			wantIDs:    []string{name},
			wantReason: []string{"in 7 days"},
		},
		{
			name: "tables over many pages: each described exactly once",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 5 {
					idleTable(f, fmt.Sprintf("t-%d", i))
				}
				consumed(f, "t-3", "", nil, with(14, 0, 2, 4))
			},
			wantIDs:   []string{"t-0", "t-1", "t-2", "t-4"},
			wantCost:  fiveFive,
			wantCalls: map[string]int{opListTables: 3, opDescribeTable: 5, opGetMetricData: 1},
		},
		{
			name: "table deleted between ListTables and DescribeTable: skipped without error",
			setup: func(f *fakeAWS) {
				idleTable(f, name)
				f.errs = map[string]error{opDescribeTable: &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Requested resource not found"}}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opListTables: 1, opDescribeTable: 1},
		},
		{
			name: "ListTables denied",
			setup: func(f *fakeAWS) {
				idleTable(f, name)
				f.errs = map[string]error{opListTables: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "dynamodb-idle-provisioned-table", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opListTables: 1},
		},
		{
			name: "DescribeTable denied",
			setup: func(f *fakeAWS) {
				idleTable(f, name)
				f.errs = map[string]error{opDescribeTable: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "dynamodb-idle-provisioned-table", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opListTables: 1, opDescribeTable: 1},
		},
	})
}

// TestDynamoDBDescribeTableOncePerTable runs the check twice on one pair
// (as two registered copies would) over many tables: ListTables is walked
// once and each table is described once, whatever the concurrency.
func TestDynamoDBDescribeTableOncePerTable(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{pageSize: 7}
	var want []string
	for i := range 40 {
		name := fmt.Sprintf("t-%02d", i)
		idleTable(f, name)
		want = append(want, "dynamodb-idle-provisioned-table/"+name)
	}
	twin := checks.DynamoDBIdleProvisionedTable
	twin.ID = "dynamodb-idle-provisioned-table-twin"
	res := scan(t, f, priced, []checks.Check{checks.DynamoDBIdleProvisionedTable, twin}, nil)
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	for _, name := range want {
		want = append(want, "dynamodb-idle-provisioned-table-twin/"+name[len("dynamodb-idle-provisioned-table/"):])
	}
	if diff := cmp.Diff(want, judgedIDs(res)); diff != "" {
		t.Errorf("judged (-want +got):\n%s", diff)
	}
	wantCalls := map[string]int{opListTables: 6, opDescribeTable: 40, opGetMetricData: 1}
	if diff := cmp.Diff(wantCalls, f.Calls()); diff != "" {
		t.Errorf("fake calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantCalls, res.Calls); diff != "" {
		t.Errorf("ScanResult.Calls (-want +got):\n%s", diff)
	}

	// Described tables are memoised per inventory: asking again costs nothing.
	inv := checks.NewInventory((&fakeAWS{tables: f.tables}).clients())
	for range 3 {
		if _, err := inv.Table(context.Background(), "t-07"); err != nil {
			t.Fatal(err)
		}
	}
	if got := inv.Calls()[opDescribeTable]; got != 1 {
		t.Errorf("DescribeTable called %d times for one table, want 1", got)
	}
}

func TestDynamoDBIdleProvisionedTableMetricsUnavailable(t *testing.T) {
	t.Parallel()
	for _, q := range []cwbatch.Query{
		cwbatch.DynamoDB("ConsumedReadCapacityUnits", "Sum", "t-1"),
		cwbatch.DynamoDB("ConsumedWriteCapacityUnits", "Sum", "t-1"),
	} {
		t.Run(q.Metric, func(t *testing.T) {
			t.Parallel()
			testMetricsUnavailable(t, checks.DynamoDBIdleProvisionedTable, func(f *fakeAWS) { idleTable(f, "t-1") }, q)
		})
	}
}
