package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pricing"
)

const gibibyte = int64(1) << 30

// logGroup describes a log group; retention 0 means none (never expire) and
// a zero created leaves CreationTime out.
func logGroup(name string, retention int32, stored int64, created time.Time) logstypes.LogGroup {
	arn := "arn:aws:logs:us-east-1:111122223333:log-group:" + name
	g := logstypes.LogGroup{
		LogGroupName: aws.String(name),
		Arn:          aws.String(arn + ":*"),
		LogGroupArn:  aws.String(arn),
		StoredBytes:  aws.Int64(stored),
	}
	if retention > 0 {
		g.RetentionInDays = aws.Int32(retention)
	}
	if !created.IsZero() {
		g.CreationTime = aws.Int64(created.UnixMilli())
	}
	return g
}

func TestLogsNoRetention(t *testing.T) {
	t.Parallel()
	const name = "/aws/lambda/orders"
	ten := priceOf(pricing.Default().LogsStorage(priced, 10*gibibyte))
	if ten == nil || *ten != 0.3 { // 10 GiB × 0.03 $/GB-month
		t.Fatalf("pricing fixture changed: 10 GiB of logs = %v", fmtCost(ten))
	}
	stored := func(retention int32, bytes int64) func(f *fakeAWS) {
		return func(f *fakeAWS) { f.logGroups = []logstypes.LogGroup{logGroup(name, retention, bytes, daysAgo(400))} }
	}
	runCheckCases(t, checks.LogsNoRetention, []checkCase{
		{
			name:    "never-expiring group of 10 GiB reported with today's monthly storage cost",
			setup:   stored(0, 10*gibibyte),
			wantIDs: []string{name},
			wantJudged: []checks.Judged{{
				CheckID: "logs-no-retention",
				Resource: checks.Resource{Type: "AWS::Logs::LogGroup", ID: name, ARN: "arn:aws:logs:us-east-1:111122223333:log-group:" + name,
					Name: name, Created: daysAgo(400)},
				Verdict: checks.Verdict{
					Reason:         "no retention policy (events never expire): 10.00 GiB stored (threshold 1 GiB); cost is today's monthly storage charge, which grows as events arrive; created 2025-10-16",
					Evidence:       map[string]float64{"storedBytes": float64(10 * gibibyte)},
					MonthlyCostUSD: ten,
				},
			}},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeLogGroups: 1},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       stored(0, 10*gibibyte),
			wantIDs:     []string{name},
			wantReason:  []string{"10.00 GiB stored", "(no price known for CloudWatch Logs storage in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name:  "a retention policy, however long: not reported",
			setup: stored(3653, 500*gibibyte),
		},
		{
			name:  "a one-day retention policy: not reported",
			setup: stored(1, 10*gibibyte),
		},
		{
			name:         "exactly the minimum size: reported",
			setup:        stored(0, gibibyte),
			wantIDs:      []string{name},
			wantReason:   []string{"1.00 GiB stored (threshold 1 GiB)"},
			wantEvidence: map[string]float64{"storedBytes": float64(gibibyte)},
			wantCost:     priceOf(pricing.Default().LogsStorage(priced, gibibyte)),
		},
		{
			name:  "one byte under the minimum size: not reported",
			setup: stored(0, gibibyte-1),
		},
		{
			name:    "exactly a raised minimum: reported",
			params:  map[string]float64{"minStoredGiB": 5},
			setup:   stored(0, 5*gibibyte),
			wantIDs: []string{name},
		},
		{
			name:   "one byte under a raised minimum: not reported",
			params: map[string]float64{"minStoredGiB": 5},
			setup:  stored(0, 5*gibibyte-1),
		},
		{
			name:    "a fractional minimum: 0.5 GiB",
			params:  map[string]float64{"minStoredGiB": 0.5},
			setup:   stored(0, gibibyte/2),
			wantIDs: []string{name},
		},
		{
			name:       "minimum 0 reports even an empty group, at a known zero cost",
			params:     map[string]float64{"minStoredGiB": 0},
			setup:      stored(0, 0),
			wantIDs:    []string{name},
			wantReason: []string{"0.00 GiB stored (threshold 0 GiB)"},
			wantCost:   usd(0),
		},
		{
			name: "no StoredBytes: nothing known to be stored, not reported",
			setup: func(f *fakeAWS) {
				g := logGroup(name, 0, 0, daysAgo(400))
				g.StoredBytes = nil
				f.logGroups = []logstypes.LogGroup{g}
			},
		},
		{
			name: "young group: the age does not matter",
			setup: func(f *fakeAWS) {
				f.logGroups = []logstypes.LogGroup{logGroup(name, 0, 3*gibibyte, ago(2*time.Hour))}
			},
			wantIDs:    []string{name},
			wantReason: []string{"created 2026-11-20"},
		},
		{
			name: "no creation time: reported, the reason names no date",
			setup: func(f *fakeAWS) {
				f.logGroups = []logstypes.LogGroup{logGroup(name, 0, 3*gibibyte, time.Time{})}
			},
			wantIDs:      []string{name},
			wantNoReason: []string{"created"},
		},
		{
			name: "only the older Arn field: its trailing :* is dropped",
			setup: func(f *fakeAWS) {
				g := logGroup(name, 0, 3*gibibyte, daysAgo(400))
				g.LogGroupArn = nil
				f.logGroups = []logstypes.LogGroup{g}
			},
			wantJudged: []checks.Judged{{
				CheckID: "logs-no-retention",
				Resource: checks.Resource{Type: "AWS::Logs::LogGroup", ID: name, ARN: "arn:aws:logs:us-east-1:111122223333:log-group:" + name,
					Name: name, Created: daysAgo(400)},
				Verdict: checks.Verdict{
					Reason:         "no retention policy (events never expire): 3.00 GiB stored (threshold 1 GiB); cost is today's monthly storage charge, which grows as events arrive; created 2025-10-16",
					Evidence:       map[string]float64{"storedBytes": float64(3 * gibibyte)},
					MonthlyCostUSD: priceOf(pricing.Default().LogsStorage(priced, 3*gibibyte)),
				},
			}},
			wantIDs: []string{name},
		},
		{
			name: "log groups over many pages (NextToken)",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 5 {
					f.logGroups = append(f.logGroups, logGroup(fmt.Sprintf("/app/%d", i), 0, 10*gibibyte, daysAgo(400)))
				}
				f.logGroups[1].RetentionInDays = aws.Int32(30)
			},
			wantIDs:     []string{"/app/0", "/app/2", "/app/3", "/app/4"},
			wantCost:    ten,
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeLogGroups: 3},
		},
		{
			name: "DescribeLogGroups denied",
			setup: func(f *fakeAWS) {
				f.logGroups = []logstypes.LogGroup{logGroup(name, 0, 10*gibibyte, daysAgo(400))}
				f.errs = map[string]error{opDescribeLogGroups: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "logs-no-retention", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
	})
}
