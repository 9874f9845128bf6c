package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

func dbInstance(id, class, engine, status string, created time.Time, storage int32, multiAZ bool, tags ...string) rdstypes.DBInstance {
	db := rdstypes.DBInstance{
		DBInstanceIdentifier: aws.String(id),
		DBInstanceArn:        aws.String("arn:aws:rds:us-east-1:111122223333:db:" + id),
		DBInstanceClass:      aws.String(class),
		Engine:               aws.String(engine),
		DBInstanceStatus:     aws.String(status),
		AllocatedStorage:     aws.Int32(storage),
		MultiAZ:              aws.Bool(multiAZ),
	}
	if !created.IsZero() {
		db.InstanceCreateTime = aws.Time(created)
	}
	for i := 0; i+1 < len(tags); i += 2 {
		db.TagList = append(db.TagList, rdstypes.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
	}
	return db
}

func connections(f *fakeAWS, id string, pts []point) {
	f.set(cwbatch.RDS("DatabaseConnections", "Maximum", id), pts)
}

// idleDB adds an old, available db.t3.micro with 14 days of zero connections.
func idleDB(f *fakeAWS, id string) {
	f.dbInstances = append(f.dbInstances, dbInstance(id, "db.t3.micro", "mysql", "available", daysAgo(300), 20, false))
	connections(f, id, flat(14, 0))
}

func TestRDSIdleInstance(t *testing.T) {
	t.Parallel()
	const id = "orders-db"
	single := priceOf(pricing.Default().RDSInstance(priced, "db.t3.micro", 20, false))
	if single == nil || *single != 14.71 { // 0.017 × 730 + 20 GB × 0.115
		t.Fatalf("pricing fixture changed: db.t3.micro = %v", fmtCost(single))
	}
	multi := priceOf(pricing.Default().RDSInstance(priced, "db.t3.micro", 20, true))
	if multi == nil || *multi != 29.42 {
		t.Fatalf("pricing fixture changed: Multi-AZ db.t3.micro = %v", fmtCost(multi))
	}
	one := func(pts []point) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.dbInstances = []rdstypes.DBInstance{dbInstance(id, "db.t3.micro", "mysql", "available", daysAgo(300), 20, false)}
			connections(f, id, pts)
		}
	}
	createdAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.dbInstances = []rdstypes.DBInstance{dbInstance(id, "db.t3.micro", "mysql", "available", at, 20, false)}
			connections(f, id, flat(14, 0))
		}
	}
	runCheckCases(t, checks.RDSIdleInstance, []checkCase{
		{
			name: "idle instance reported with instance and storage cost",
			setup: func(f *fakeAWS) {
				f.dbInstances = []rdstypes.DBInstance{dbInstance(id, "db.t3.micro", "mysql", "available", daysAgo(300), 20, false, "team", "orders")}
				connections(f, id, flat(14, 0))
			},
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "rds-idle-instance",
				Resource: checks.Resource{Type: "AWS::RDS::DBInstance", ID: id, ARN: "arn:aws:rds:us-east-1:111122223333:db:" + id,
					Name: id, State: "available", Created: daysAgo(300), Tags: map[string]string{"team": "orders"}},
				Verdict: checks.Verdict{
					Reason:         "single-AZ mysql db.t3.micro with 20 GiB: at most 0 database connections in 14 days (threshold 0)",
					Evidence:       map[string]float64{"maxConnections": 0, "daysWithData": 14, "lookbackDays": 14, "allocatedStorageGiB": 20},
					MonthlyCostUSD: single,
				},
			}},
			wantCalls: map[string]int{opDescribeDBInstances: 1, opGetMetricData: 1},
		},
		{
			name: "Multi-AZ doubles the cost",
			setup: func(f *fakeAWS) {
				f.dbInstances = []rdstypes.DBInstance{dbInstance(id, "db.t3.micro", "postgres", "available", daysAgo(300), 20, true)}
				connections(f, id, flat(14, 0))
			},
			wantIDs:    []string{id},
			wantReason: []string{"Multi-AZ postgres db.t3.micro with 20 GiB"},
			wantCost:   multi,
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(flat(14, 0)),
			wantIDs:     []string{id},
			wantReason:  []string{"at most 0 database connections", "(no price known for db.t3.micro in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name: "unknown class in a priced region: nil cost",
			setup: func(f *fakeAWS) {
				f.dbInstances = []rdstypes.DBInstance{dbInstance(id, "db.x9.huge", "mysql", "available", daysAgo(300), 20, false)}
				connections(f, id, flat(14, 0))
			},
			wantIDs:     []string{id},
			wantReason:  []string{"(no price known for db.x9.huge in us-east-1)"},
			wantNilCost: true,
		},
		{
			name:  "one connection on one day: not reported",
			setup: one(with(14, 0, 4, 1)),
		},
		{
			name:       "peak exactly at a raised threshold: reported",
			params:     map[string]float64{"maxConnections": 3},
			setup:      one(with(14, 1, 4, 3)),
			wantIDs:    []string{id},
			wantReason: []string{"at most 3 database connections in 14 days (threshold 3)"},
			wantEvidence: map[string]float64{"maxConnections": 3, "daysWithData": 14, "lookbackDays": 14,
				"allocatedStorageGiB": 20},
		},
		{
			name:   "peak just above a raised threshold: not reported",
			params: map[string]float64{"maxConnections": 3},
			setup:  one(with(14, 1, 4, 3.5)),
		},
		{
			name:  "no datapoints in the whole window: not enough evidence, no error",
			setup: one(nil),
		},
		{
			name:         "a single zero datapoint is enough evidence",
			setup:        one(daily(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0, nan, nan, nan)),
			wantIDs:      []string{id},
			wantEvidence: map[string]float64{"maxConnections": 0, "daysWithData": 1, "lookbackDays": 14, "allocatedStorageGiB": 20},
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
			name:    "created exactly one window ago: judged",
			setup:   createdAt(daysAgo(14)),
			wantIDs: []string{id},
		},
		{
			name:        "unknown creation time: never a candidate",
			setup:       createdAt(time.Time{}),
			wantNoFetch: true,
		},
		{
			name:       "shorter lookback judges a younger instance",
			params:     map[string]float64{"lookbackDays": 7},
			setup:      createdAt(daysAgo(10)),
			wantIDs:    []string{id},
			wantReason: []string{"in 7 days"},
		},
		{
			name: "instances not available are no candidates",
			setup: func(f *fakeAWS) {
				for _, s := range []string{"stopped", "creating", "starting", "deleting", "storage-full"} {
					f.dbInstances = append(f.dbInstances, dbInstance("db-"+s, "db.t3.micro", "mysql", s, daysAgo(300), 20, false))
					connections(f, "db-"+s, flat(14, 0))
				}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeDBInstances: 1},
		},
		{
			name: "instances over many pages (Marker)",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 5 {
					idleDB(f, fmt.Sprintf("db-%d", i))
				}
				connections(f, "db-3", flat(14, 12))
			},
			wantIDs:   []string{"db-0", "db-1", "db-2", "db-4"},
			wantCost:  single,
			wantCalls: map[string]int{opDescribeDBInstances: 3, opGetMetricData: 1},
		},
		{
			name: "DescribeDBInstances denied",
			setup: func(f *fakeAWS) {
				idleDB(f, id)
				f.errs = map[string]error{opDescribeDBInstances: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "rds-idle-instance", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
	})
}

func TestRDSIdleInstanceMetricsUnavailable(t *testing.T) {
	t.Parallel()
	testMetricsUnavailable(t, checks.RDSIdleInstance, func(f *fakeAWS) { idleDB(f, "db-1") },
		cwbatch.RDS("DatabaseConnections", "Maximum", "db-1"))
}
