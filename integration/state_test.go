package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/store"
)

// stateTable creates a state table of its own for the test in moto, with
// TTL on, and a DynamoState over it.
func stateTable(t *testing.T) (*dynamodb.Client, *store.DynamoState) {
	t.Helper()
	ctx := context.Background()
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	name := fmt.Sprintf("orgscan-%s-%d", regexp.MustCompile(`[^A-Za-z0-9_.-]`).ReplaceAllString(t.Name(), "_"), time.Now().UnixNano())
	if _, err := db.CreateTable(ctx, store.DynamoStateTable(name)); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTimeToLive(ctx, store.DynamoStateTTL(name)); err != nil {
		t.Fatalf("update TTL: %v", err)
	}
	return db, &store.DynamoState{Client: db, Table: name}
}

const (
	stateAcctA = "111111111111"
	stateAcctB = "222222222222"
)

// stateFindings are findings of two accounts: open, suppressed and
// resolved; priced, priced at zero and unpriced; two checks.
func stateFindings() map[string][]finding.Finding {
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	resolved := at.Add(-24 * time.Hour)
	mk := func(account, region, check, res string, cost *float64, status finding.Status) finding.Finding {
		f := finding.Finding{
			FindingID: finding.ID(check, account, region, res), RunID: "run-2", CheckID: check, Category: finding.Idle,
			AccountID: account, AccountName: "acct-" + account[:1], Region: region, Service: "ec2", ResourceType: "instance",
			ResourceID: res, ResourceARN: "arn:aws:ec2:" + region + ":" + account + ":instance/" + res,
			Reason: "CPU under 2% for 14 days", Evidence: map[string]float64{"cpuMaxPct": 1.25, "days": 14},
			MonthlyCostUSD: cost, Tags: map[string]string{"team": "data", "env": ""}, FirstSeen: at.Add(-72 * time.Hour),
			LastSeen: at, Status: status, OpenedRunID: "run-1",
		}
		if status == finding.Resolved {
			f.ResolvedRunID, f.ResolvedAt = "run-2", &resolved
		}
		return f
	}
	const idle, vol = "ec2-idle-instance", "ebs-unattached-volume"
	return map[string][]finding.Finding{
		stateAcctA: {
			mk(stateAcctA, "us-east-1", idle, "i-a1", finding.Cost(70.08), finding.Open),
			mk(stateAcctA, "eu-west-1", idle, "i-a2", finding.Cost(8.5), finding.Open),
			mk(stateAcctA, "eu-west-1", idle, "i-a3", nil, finding.Open), // unpriced
			mk(stateAcctA, "eu-west-1", vol, "vol-a1", finding.Cost(0), finding.Open),
			mk(stateAcctA, "us-east-1", idle, "i-a4", finding.Cost(500), finding.Suppressed),
			mk(stateAcctA, "us-east-1", idle, "i-a5", finding.Cost(1000), finding.Resolved),
		},
		stateAcctB: {
			mk(stateAcctB, "us-east-1", idle, "i-b1", finding.Cost(140.16), finding.Open),
			mk(stateAcctB, "us-east-1", idle, "i-b2", nil, finding.Open), // unpriced
			mk(stateAcctB, "us-east-1", vol, "vol-b1", finding.Cost(3.2), finding.Resolved),
		},
	}
}

func statePut(t *testing.T, s *store.DynamoState, byAccount map[string][]finding.Finding) {
	t.Helper()
	for acct, fs := range byAccount {
		if err := s.PutFindings(context.Background(), acct, fs); err != nil {
			t.Fatal(err)
		}
	}
}

// stateQuery runs one query (following its pages) and returns the items'
// findings.
func stateQuery(t *testing.T, db *dynamodb.Client, in *dynamodb.QueryInput) []finding.Finding {
	t.Helper()
	var out []finding.Finding
	p := dynamodb.NewQueryPaginator(db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		var fs []finding.Finding
		if err := attributevalue.UnmarshalListOfMapsWithOptions(page.Items, &fs, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
			t.Fatal(err)
		}
		out = append(out, fs...)
	}
	return out
}

func stateKeyQuery(t *testing.T, table, index string, cond expression.KeyConditionBuilder) *dynamodb.QueryInput {
	t.Helper()
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		t.Fatal(err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if index != "" {
		in.IndexName = aws.String(index)
	}
	return in
}

func stateIDs(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ResourceID)
	}
	return out
}

func TestStateFindingsOnDynamoDB(t *testing.T) {
	t.Parallel()
	db, s := stateTable(t)
	ctx := context.Background()
	put := stateFindings()
	statePut(t, s, put)
	if got, want := s.ItemsWritten(), int64(len(put[stateAcctA])+len(put[stateAcctB])); got != want {
		t.Errorf("ItemsWritten %d, want %d", got, want)
	}

	t.Run("AccountFindings round trip", func(t *testing.T) {
		for acct, want := range put {
			got, err := s.AccountFindings(ctx, acct)
			if err != nil {
				t.Fatal(err)
			}
			byID := func(fs []finding.Finding) []finding.Finding {
				fs = append([]finding.Finding(nil), fs...)
				sort.Slice(fs, func(i, j int) bool { return fs[i].FindingID < fs[j].FindingID })
				return fs
			}
			if d := cmp.Diff(byID(want), byID(got)); d != "" {
				t.Errorf("account %s (-put +got):\n%s", acct, d)
			}
		}
	})

	// Access pattern: the open findings of an account.
	t.Run("open findings of an account", func(t *testing.T) {
		in := stateKeyQuery(t, s.Table, store.DynamoIndexByAccountStatus,
			expression.Key(store.DynamoGSI2PK).Equal(expression.Value("ACCOUNT#"+stateAcctA+"#open")))
		got := stateIDs(stateQuery(t, db, in))
		// Sorted by region, check, resource.
		want := []string{"vol-a1", "i-a2", "i-a3", "i-a1"}
		if !cmp.Equal(got, want) {
			t.Errorf("open findings of %s: %v, want %v", stateAcctA, got, want)
		}
		// Narrowed to a region by the sort key.
		in = stateKeyQuery(t, s.Table, store.DynamoIndexByAccountStatus,
			expression.Key(store.DynamoGSI2PK).Equal(expression.Value("ACCOUNT#"+stateAcctA+"#open")).
				And(expression.Key(store.DynamoGSI2SK).BeginsWith("eu-west-1#ec2-idle-instance#")))
		if got := stateIDs(stateQuery(t, db, in)); !cmp.Equal(got, []string{"i-a2", "i-a3"}) {
			t.Errorf("open idle instances of %s in eu-west-1: %v", stateAcctA, got)
		}
	})

	// Access pattern: the findings of a check, most expensive first,
	// across accounts; unpriced ones are not in the ranking.
	t.Run("findings of a check by cost", func(t *testing.T) {
		in := stateKeyQuery(t, s.Table, store.DynamoIndexByCheckCost,
			expression.Key(store.DynamoGSI1PK).Equal(expression.Value("CHECK#ec2-idle-instance#open")))
		in.ScanIndexForward = aws.Bool(false)
		got := stateQuery(t, db, in)
		if want := []string{"i-b1", "i-a1", "i-a2"}; !cmp.Equal(stateIDs(got), want) {
			t.Errorf("open ec2-idle-instance by cost: %v, want %v", stateIDs(got), want)
		}
		in = stateKeyQuery(t, s.Table, store.DynamoIndexByCheckCost,
			expression.Key(store.DynamoGSI1PK).Equal(expression.Value("CHECK#ec2-idle-instance#open")).
				And(expression.Key(store.DynamoGSI1SK).GreaterThanEqual(expression.Value(50))))
		in.ScanIndexForward = aws.Bool(false)
		if got := stateIDs(stateQuery(t, db, in)); !cmp.Equal(got, []string{"i-b1", "i-a1"}) {
			t.Errorf("open ec2-idle-instance costing $50 or more: %v", got)
		}
		// A known zero cost is ranked.
		in = stateKeyQuery(t, s.Table, store.DynamoIndexByCheckCost,
			expression.Key(store.DynamoGSI1PK).Equal(expression.Value("CHECK#ebs-unattached-volume#open")))
		if got := stateIDs(stateQuery(t, db, in)); !cmp.Equal(got, []string{"vol-a1"}) {
			t.Errorf("open ebs-unattached-volume by cost: %v", got)
		}
	})

	// Resolved items carry the TTL; others do not.
	t.Run("TTL on resolved items only", func(t *testing.T) {
		ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.Table)})
		if err != nil {
			t.Fatal(err)
		}
		if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != store.DynamoTTLAttribute || d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled {
			t.Errorf("TTL %+v", d)
		}
		for acct, fs := range put {
			for _, f := range fs {
				out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: map[string]ddbtypes.AttributeValue{
					store.DynamoPK: &ddbtypes.AttributeValueMemberS{Value: "ACCOUNT#" + acct},
					store.DynamoSK: &ddbtypes.AttributeValueMemberS{Value: "FINDING#" + f.FindingID},
				}})
				if err != nil {
					t.Fatal(err)
				}
				exp, has := out.Item[store.DynamoTTLAttribute].(*ddbtypes.AttributeValueMemberN)
				if want := f.Status == finding.Resolved; has != want {
					t.Errorf("%s (%s): expiresAt present %v", f.ResourceID, f.Status, has)
				} else if has && exp.Value != fmt.Sprint(f.ResolvedAt.Add(store.ResolvedRetention).Unix()) {
					t.Errorf("%s: expiresAt %s", f.ResourceID, exp.Value)
				}
			}
		}
	})

	// A later run reopens a resolved finding and prices an unpriced one:
	// the whole item is replaced, TTL and index entries follow.
	t.Run("changed findings move between indexes", func(t *testing.T) {
		a := put[stateAcctA]
		reopened, priced := a[5], a[2]
		reopened.Status, reopened.ResolvedAt, reopened.ResolvedRunID, reopened.OpenedRunID = finding.Open, nil, "", "run-3"
		priced.MonthlyCostUSD = finding.Cost(99)
		if err := s.PutFindings(ctx, stateAcctA, []finding.Finding{reopened, priced}); err != nil {
			t.Fatal(err)
		}
		in := stateKeyQuery(t, s.Table, store.DynamoIndexByCheckCost,
			expression.Key(store.DynamoGSI1PK).Equal(expression.Value("CHECK#ec2-idle-instance#open")))
		in.ScanIndexForward = aws.Bool(false)
		if got, want := stateIDs(stateQuery(t, db, in)), []string{"i-a5", "i-b1", "i-a3", "i-a1", "i-a2"}; !cmp.Equal(got, want) {
			t.Errorf("after the update: %v, want %v", got, want)
		}
		in = stateKeyQuery(t, s.Table, store.DynamoIndexByCheckCost,
			expression.Key(store.DynamoGSI1PK).Equal(expression.Value("CHECK#ec2-idle-instance#resolved")))
		if got := stateQuery(t, db, in); len(got) != 0 {
			t.Errorf("still resolved: %v", stateIDs(got))
		}
	})
}

func TestStateRunsOnDynamoDB(t *testing.T) {
	t.Parallel()
	db, s := stateTable(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	denied := json.RawMessage(`[{"check":"*","code":"AccessDenied","message":"not authorized to perform sts:AssumeRole"}]`)
	throttled := json.RawMessage(`[{"check":"ec2-idle-instance","code":"Throttling","message":"rate exceeded"}]`)
	recs := []store.RunRecord{
		{RunID: "run-1", StartedAt: t0, Status: store.RunSuperseded, CarriedBy: "run-2", Summary: json.RawMessage(`{"pairs":4,"pairsOk":4,"monthlyCostUsd":210.5}`)},
		{RunID: "run-2", StartedAt: t0.Add(24 * time.Hour), Status: store.RunComplete, Summary: json.RawMessage(`{"pairs":6,"pairsOk":3,"pairsFailed":2,"pairsPartial":1,"byCheck":{"ec2-idle-instance":3},"regions":["eu-west-1","us-east-1"]}`),
			Problems: []store.PairRecord{
				{AccountID: stateAcctB, Region: "us-east-1", Status: "failed", Errors: denied},
				{AccountID: stateAcctA, Region: "eu-west-1", Status: "partial", Errors: throttled},
				{AccountID: stateAcctB, Region: "eu-west-1", Status: "failed", Errors: denied},
			}},
		{RunID: "run-0", StartedAt: t0.Add(-24 * time.Hour), Summary: json.RawMessage(`{}`)},
	}
	for _, r := range recs {
		if err := s.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range recs {
		got, ok, err := s.GetRun(ctx, want.RunID)
		if err != nil || !ok {
			t.Fatalf("GetRun %s: %v %v", want.RunID, ok, err)
		}
		if !got.Equal(want) {
			t.Errorf("GetRun %s = %+v\nwant %+v", want.RunID, got, want)
		}
	}

	// Access pattern: a run and its failed pairs.
	failed := func() []string {
		in := stateKeyQuery(t, s.Table, "", expression.Key(store.DynamoPK).Equal(expression.Value("RUN#run-2")).
			And(expression.Key(store.DynamoSK).BeginsWith("PAIR#failed#")))
		out, err := db.Query(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var pairs []struct {
			AccountID string `dynamodbav:"accountId"`
			Region    string `dynamodbav:"region"`
			Errors    string `dynamodbav:"errors"`
		}
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &pairs); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range pairs {
			if !json.Valid([]byte(p.Errors)) {
				t.Errorf("errors of %s %s: %q", p.AccountID, p.Region, p.Errors)
			}
			got = append(got, p.AccountID+" "+p.Region)
		}
		return got
	}
	if got, want := failed(), []string{stateAcctB + " eu-west-1", stateAcctB + " us-east-1"}; !cmp.Equal(got, want) {
		t.Errorf("failed pairs of run-2: %v, want %v", got, want)
	}
	// The summary is stored once, verbatim, beside the status.
	sum, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: map[string]ddbtypes.AttributeValue{
		store.DynamoPK: &ddbtypes.AttributeValueMemberS{Value: "RUN#run-2"}, store.DynamoSK: &ddbtypes.AttributeValueMemberS{Value: "#SUMMARY"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := attributevalue.UnmarshalMap(sum.Item, &stored); err != nil {
		t.Fatal(err)
	}
	if _, has := stored["summary"]; has || stored["summaryJson"] != string(recs[1].Summary) || stored["status"] != "complete" {
		t.Errorf("summary item %v", stored)
	}

	runIDs := func(limit int) []string {
		rs, err := s.Runs(ctx, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.RunID)
		}
		return out
	}
	if got := runIDs(0); !cmp.Equal(got, []string{"run-2", "run-1", "run-0"}) {
		t.Errorf("Runs(0) = %v", got)
	}
	if got := runIDs(2); !cmp.Equal(got, []string{"run-2", "run-1"}) {
		t.Errorf("Runs(2) = %v", got)
	}

	// run-2 again, as a re-run that fixed one denied account: the stale
	// failed pair goes, and so does its old runs-index item.
	again := store.RunRecord{RunID: "run-2", StartedAt: t0.Add(-48 * time.Hour), Summary: json.RawMessage(`{"pairs":6,"pairsFailed":1}`),
		Problems: []store.PairRecord{{AccountID: stateAcctB, Region: "us-east-1", Status: "failed", Errors: denied}}}
	if err := s.PutRun(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got, want := failed(), []string{stateAcctB + " us-east-1"}; !cmp.Equal(got, want) {
		t.Errorf("failed pairs after the re-put: %v, want %v", got, want)
	}
	if got, ok, err := s.GetRun(ctx, "run-2"); err != nil || !ok || !got.Equal(again) {
		t.Errorf("GetRun after the re-put = %+v (%v)", got, err)
	}
	if got := runIDs(0); !cmp.Equal(got, []string{"run-1", "run-0", "run-2"}) {
		t.Errorf("Runs after the re-put = %v", got)
	}
	index, err := db.Query(ctx, stateKeyQuery(t, s.Table, "", expression.Key(store.DynamoPK).Equal(expression.Value("RUNS"))))
	if err != nil || index.Count != 3 {
		t.Errorf("runs index holds %d items (%v), want 3", index.Count, err)
	}
}

// stateCountingDB counts the GetItem calls of a DynamoState: a refused
// conditional write that needs none got the item it failed on in the
// response (ReturnValuesOnConditionCheckFailure ALL_OLD), which moto
// supports.
type stateCountingDB struct {
	*dynamodb.Client
	gets atomic.Int64
}

func (c *stateCountingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.Client.GetItem(ctx, in, opts...)
}

func TestStateAdvanceAccountOnDynamoDB(t *testing.T) {
	t.Parallel()
	db, s := stateTable(t)
	counting := &stateCountingDB{Client: db}
	s.Client = counting
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	statePut(t, s, stateFindings())

	r2 := store.RunMark{RunID: "run-2", StartedAt: t0.Add(time.Hour)}
	for i, step := range []struct {
		name   string
		m      store.RunMark
		ok     bool
		stored store.RunMark
	}{
		{"first mark", r2, true, r2},
		{"earlier run", store.RunMark{RunID: "run-1", StartedAt: t0}, false, r2},
		{"earlier by a nanosecond", store.RunMark{RunID: "run-9", StartedAt: t0.Add(time.Hour - time.Nanosecond)}, false, r2},
		{"the same mark again", r2, true, r2},
		{"same start, lower run ID", store.RunMark{RunID: "run-1", StartedAt: t0.Add(time.Hour)}, false, r2},
		{"same start, higher run ID", store.RunMark{RunID: "run-3", StartedAt: t0.Add(time.Hour)}, true, store.RunMark{RunID: "run-3", StartedAt: t0.Add(time.Hour)}},
		{"later run", store.RunMark{RunID: "run-0", StartedAt: t0.Add(24 * time.Hour)}, true, store.RunMark{RunID: "run-0", StartedAt: t0.Add(24 * time.Hour)}},
	} {
		ok, cur, err := s.AdvanceAccount(ctx, stateAcctA, step.m)
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, step.name, err)
		}
		if ok != step.ok || cur.String() != step.stored.String() {
			t.Errorf("step %d (%s): AdvanceAccount(%s) = %v %s, want %v %s", i, step.name, step.m, ok, cur, step.ok, step.stored)
		}
	}
	if n := counting.gets.Load(); n != 0 {
		t.Errorf("%d GetItem calls: moto did not return the item with the refusals", n)
	}
	// The mark shares the account's partition with its findings, and
	// stays out of them.
	got, err := s.AccountFindings(ctx, stateAcctA)
	if err != nil || len(got) != len(stateFindings()[stateAcctA]) {
		t.Errorf("AccountFindings: %d findings (%v), want %d", len(got), err, len(stateFindings()[stateAcctA]))
	}

	// Eight aggregators race on one account with different marks: each
	// check-and-write is one request, so the latest mark ends up stored,
	// the latest run is never refused, and every refusal names a later
	// mark than the refused one.
	marks := make([]store.RunMark, 8)
	for i := range marks {
		marks[i] = store.RunMark{RunID: fmt.Sprintf("run-%d", i), StartedAt: t0.Add(time.Duration(i%3) * time.Minute)}
	}
	latest := marks[5] // +2m, like run-2, with a higher ID
	type result struct {
		m, cur store.RunMark
		ok     bool
		err    error
	}
	results := make(chan result, len(marks))
	var wg sync.WaitGroup
	for _, m := range marks {
		wg.Go(func() {
			ok, cur, err := s.AdvanceAccount(ctx, stateAcctB, m)
			results <- result{m, cur, ok, err}
		})
	}
	wg.Wait()
	close(results)
	refused := 0
	for r := range results {
		switch {
		case r.err != nil:
			t.Fatal(r.err)
		case r.m == latest && !r.ok:
			t.Errorf("the latest mark %s was refused for %s", r.m, r.cur)
		case !r.ok && !r.m.Before(r.cur):
			t.Errorf("%s refused (ok=%v) for %s, which is not later", r.m, r.ok, r.cur)
		case !r.ok:
			refused++
		}
	}
	ok, cur, err := s.AdvanceAccount(ctx, stateAcctB, marks[0])
	if err != nil || ok || cur != latest {
		t.Errorf("after the race: %v %s (%v), want the stored mark %s", ok, cur, err, latest)
	}
	t.Logf("%d of %d concurrent advances refused", refused, len(marks))
}

func TestStateLeaseOnDynamoDB(t *testing.T) {
	t.Parallel()
	_, s := stateTable(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	until := now.Add(15 * time.Minute)
	type got struct {
		OK     bool
		Holder string
		Until  time.Time
	}
	acquire := func(holder string, now, until time.Time) got {
		t.Helper()
		ok, h, u, err := s.AcquireLease(ctx, holder, now, until)
		if err != nil {
			t.Fatal(err)
		}
		return got{ok, h, u}
	}
	release := func(holder string) {
		t.Helper()
		if err := s.ReleaseLease(ctx, holder); err != nil {
			t.Fatalf("release by %s: %v", holder, err)
		}
	}
	for i, step := range []struct {
		name string
		do   func() got
		want got
	}{
		{"free", func() got { return acquire("exec-a", now, until) }, got{OK: true}},
		{"another holder while live", func() got { return acquire("exec-b", now.Add(time.Minute), now.Add(time.Hour)) }, got{false, "exec-a", until}},
		{"renewed by its holder", func() got { return acquire("exec-a", now.Add(time.Minute), until.Add(time.Minute)) }, got{OK: true}},
		{"another holder just before expiry", func() got {
			return acquire("exec-b", until.Add(time.Minute-time.Millisecond), now.Add(time.Hour))
		}, got{false, "exec-a", until.Add(time.Minute)}},
		{"release by a non-holder leaves it", func() got {
			release("exec-b")
			return acquire("exec-b", now.Add(2*time.Minute), now.Add(time.Hour))
		}, got{false, "exec-a", until.Add(time.Minute)}},
		{"taken after expiry", func() got { return acquire("exec-b", until.Add(2*time.Minute), until.Add(time.Hour)) }, got{OK: true}},
		{"the expired holder is refused", func() got { return acquire("exec-a", until.Add(2*time.Minute), until.Add(time.Hour)) },
			got{false, "exec-b", until.Add(time.Hour)}},
		{"release by the holder frees it", func() got {
			release("exec-b")
			release("exec-b") // nothing left to release: not an error
			return acquire("exec-c", until.Add(2*time.Minute), until.Add(time.Hour))
		}, got{OK: true}},
	} {
		if d := cmp.Diff(step.want, step.do()); d != "" {
			t.Errorf("step %d, %s (-want +got):\n%s", i, step.name, d)
		}
	}
}

func TestStateUnfinishedRunsOnDynamoDB(t *testing.T) {
	t.Parallel()
	db, s := stateTable(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	put := func(rec store.RunRecord) {
		t.Helper()
		if err := s.PutRun(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	unfinished := func() []string {
		t.Helper()
		rs, err := s.UnfinishedRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.RunID+" "+string(r.Status))
		}
		return out
	}
	index := func() int32 {
		t.Helper()
		out, err := db.Query(ctx, stateKeyQuery(t, s.Table, "", expression.Key(store.DynamoPK).Equal(expression.Value("UNFINISHED"))))
		if err != nil {
			t.Fatal(err)
		}
		return out.Count
	}
	sum := json.RawMessage(`{"pairs":2}`)
	put(store.RunRecord{RunID: "run-2", StartedAt: t0.Add(time.Hour), Status: store.RunAggregating, Summary: sum})
	if got := unfinished(); !cmp.Equal(got, []string{"run-2 aggregating"}) {
		t.Errorf("after an aggregating PutRun: %v", got)
	}
	put(store.RunRecord{RunID: "run-2", StartedAt: t0.Add(time.Hour), Status: store.RunComplete, Summary: sum})
	if got := unfinished(); len(got) != 0 || index() != 0 {
		t.Errorf("after a complete PutRun: %v, %d index items", got, index())
	}
	put(store.RunRecord{RunID: "run-3", StartedAt: t0.Add(2 * time.Hour), Status: store.RunAggregating, Summary: sum})
	put(store.RunRecord{RunID: "run-1", StartedAt: t0, Status: store.RunAggregating, Summary: sum})
	if got := unfinished(); !cmp.Equal(got, []string{"run-1 aggregating", "run-3 aggregating"}) {
		t.Errorf("two unfinished runs: %v, want oldest first", got)
	}
	put(store.RunRecord{RunID: "run-1", StartedAt: t0, Status: store.RunSuperseded, CarriedBy: "run-3", Summary: sum})
	if got := unfinished(); !cmp.Equal(got, []string{"run-3 aggregating"}) || index() != 1 {
		t.Errorf("after run-1 was superseded: %v, %d index items", got, index())
	}
	if got, ok, err := s.GetRun(ctx, "run-1"); err != nil || !ok || got.Status != store.RunSuperseded || got.CarriedBy != "run-3" {
		t.Errorf("GetRun run-1 = %+v %v %v", got, ok, err)
	}
}

// stateItemSize reads an item back from the table and returns its size by
// store.DynamoItemSize.
func stateItemSize(t *testing.T, db *dynamodb.Client, table, pk, sk string) int {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{
		store.DynamoPK: &ddbtypes.AttributeValueMemberS{Value: pk}, store.DynamoSK: &ddbtypes.AttributeValueMemberS{Value: sk},
	}})
	if err != nil || len(out.Item) == 0 {
		t.Fatalf("get %s %s: %v (%d attributes)", pk, sk, err, len(out.Item))
	}
	return store.DynamoItemSize(out.Item)
}

// The largest findings and run records orgscan writes fit DynamoDB's item
// and key limits, which moto enforces; a larger item is refused before
// anything is written. The measured sizes are logged.
func TestStateWorstCaseSizesOnDynamoDB(t *testing.T) {
	t.Parallel()
	db, s := stateTable(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

	// AWS tags: up to 50 a resource, keys up to 128 characters, values up
	// to 256. '<' is one byte here but six in encoding/json's output
	// (\u003c); '𝄞' is four bytes of UTF-8 anywhere.
	worst := func(account, c string) finding.Finding {
		res := strings.Repeat("𝄞", 512)
		tags := make(map[string]string, 50)
		for i := range 50 {
			tags[fmt.Sprintf("%02d", i)+strings.Repeat(c, 126)] = strings.Repeat(c, 256)
		}
		return finding.Finding{
			FindingID: finding.ID("ec2-idle-instance", account, "ap-southeast-4", res), RunID: "run-1", CheckID: "ec2-idle-instance",
			Category: finding.Idle, AccountID: account, AccountName: strings.Repeat(c, 50), Region: "ap-southeast-4", Service: "ec2",
			ResourceType: "instance", ResourceID: res, ResourceARN: "arn:aws:ec2:ap-southeast-4:" + account + ":instance/" + res,
			Reason: "CPU under 2% for 14 days", Evidence: map[string]float64{"cpuMaxPct": 1.25, "days": 14},
			MonthlyCostUSD: finding.Cost(70.08), Tags: tags, FirstSeen: at, LastSeen: at, Status: finding.Open, OpenedRunID: "run-1",
		}
	}
	for _, tc := range []struct{ name, account, c string }{
		{"JSON-escaped tags", stateAcctA, "<"},
		{"4-byte UTF-8 tags", stateAcctB, "𝄞"},
	} {
		f := worst(tc.account, tc.c)
		if err := s.PutFindings(ctx, f.AccountID, []finding.Finding{f}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := s.AccountFindings(ctx, f.AccountID)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: AccountFindings = %d findings, %v", tc.name, len(got), err)
		}
		if d := cmp.Diff(f, got[0]); d != "" {
			t.Errorf("%s: (-put +got):\n%s", tc.name, d)
		}
		js, _ := json.Marshal(f)
		t.Logf("%s: finding item %d bytes (limit %d), its JSON line %d bytes",
			tc.name, stateItemSize(t, db, s.Table, "ACCOUNT#"+f.AccountID, "FINDING#"+f.FindingID), store.DynamoMaxItemBytes, len(js))
		// The resource ID is 2,048 bytes: the byAccountStatus sort key is
		// cut to fit, and the index still finds the finding under its
		// region and check.
		in := stateKeyQuery(t, s.Table, store.DynamoIndexByAccountStatus,
			expression.Key(store.DynamoGSI2PK).Equal(expression.Value("ACCOUNT#"+f.AccountID+"#open")).
				And(expression.Key(store.DynamoGSI2SK).BeginsWith("ap-southeast-4#ec2-idle-instance#𝄞")))
		if ids := stateIDs(stateQuery(t, db, in)); len(ids) != 1 || ids[0] != f.ResourceID {
			t.Errorf("%s: byAccountStatus found %d findings", tc.name, len(ids))
		}
	}

	// A run whose summary is 64 KiB of JSON, with 2,000 problem pairs
	// whose errors are 16 KiB of JSON each.
	jsonOf := func(n int) json.RawMessage {
		head := `[{"check":"*","code":"AccessDenied","message":"`
		return json.RawMessage(head + strings.Repeat("𝄞", (n-len(head)-3)/4) + strings.Repeat("x", (n-len(head)-3)%4) + `"}]`)
	}
	rec := store.RunRecord{RunID: "run-big", StartedAt: at, Status: store.RunAggregating, Summary: jsonOf(64 << 10)}
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1", "ap-southeast-1"}
	for i := range 2000 {
		status := []string{"failed", "partial"}[i%2]
		rec.Problems = append(rec.Problems, store.PairRecord{AccountID: fmt.Sprintf("%012d", 100000000000+i/len(regions)),
			Region: regions[i%len(regions)], Status: status, Errors: jsonOf(16 << 10)})
	}
	if len(rec.Summary) != 64<<10 || len(rec.Problems[0].Errors) != 16<<10 || !json.Valid(rec.Summary) {
		t.Fatalf("summary %d bytes, errors %d bytes", len(rec.Summary), len(rec.Problems[0].Errors))
	}
	if err := s.PutRun(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetRun(ctx, rec.RunID)
	if err != nil || !ok {
		t.Fatalf("GetRun: %v %v", ok, err)
	}
	if d := cmp.Diff(rec, got); d != "" {
		t.Errorf("GetRun (-put +got):\n%.2000s", d)
	}
	p := rec.Problems[len(rec.Problems)-1]
	t.Logf("run summary item %d bytes, problem-pair item %d bytes (limit %d)",
		stateItemSize(t, db, s.Table, "RUN#run-big", "#SUMMARY"),
		stateItemSize(t, db, s.Table, "RUN#run-big", "PAIR#"+p.Status+"#"+p.AccountID+"#"+p.Region), store.DynamoMaxItemBytes)

	// One byte over the limit: refused, and nothing of the call is
	// written. A first refusal measures the rest of the item.
	const acct = "333333333333"
	small := worst(acct, "a")
	small.Tags = nil
	large := small
	large.ResourceID = "i-large"
	large.FindingID = finding.ID(large.CheckID, acct, large.Region, large.ResourceID)
	var tooLarge *store.ItemTooLargeError
	for _, reason := range []int{store.DynamoMaxItemBytes, 0} {
		if reason == 0 {
			reason = store.DynamoMaxItemBytes - (tooLarge.Bytes - len(large.Reason)) + 1
		}
		large.Reason = strings.Repeat("x", reason)
		if err := s.PutFindings(ctx, acct, []finding.Finding{small, large}); !errors.As(err, &tooLarge) ||
			tooLarge.SK != "FINDING#"+large.FindingID || tooLarge.Bytes <= store.DynamoMaxItemBytes {
			t.Fatalf("PutFindings of a finding over the limit: %v", err)
		}
	}
	if tooLarge.Bytes != store.DynamoMaxItemBytes+1 {
		t.Errorf("refused finding of %d bytes, want %d", tooLarge.Bytes, store.DynamoMaxItemBytes+1)
	}
	if got, err := s.AccountFindings(ctx, acct); err != nil || len(got) != 0 {
		t.Errorf("after the refusal: %d findings (%v)", len(got), err)
	}
	over := store.RunRecord{RunID: "run-over", StartedAt: at, Status: store.RunAggregating,
		Problems: []store.PairRecord{{AccountID: acct, Region: "us-east-1", Status: "failed"}}}
	for _, n := range []int{store.DynamoMaxItemBytes, 0} {
		if n == 0 {
			n = store.DynamoMaxItemBytes - (tooLarge.Bytes - len(over.Summary)) + 1
		}
		over.Summary = jsonOf(n)
		if err := s.PutRun(ctx, over); !errors.As(err, &tooLarge) || tooLarge.SK != "#SUMMARY" {
			t.Fatalf("PutRun of a summary over the limit: %v", err)
		}
	}
	if tooLarge.Bytes != store.DynamoMaxItemBytes+1 {
		t.Errorf("refused run summary of %d bytes, want %d", tooLarge.Bytes, store.DynamoMaxItemBytes+1)
	}
	items, err := db.Query(ctx, stateKeyQuery(t, s.Table, "", expression.Key(store.DynamoPK).Equal(expression.Value("RUN#run-over"))))
	if err != nil || items.Count != 0 {
		t.Errorf("after the refusal: %d items of run-over (%v)", items.Count, err)
	}
	if runs, err := s.UnfinishedRuns(ctx); err != nil || len(runs) != 1 || runs[0].RunID != "run-big" {
		t.Errorf("UnfinishedRuns after the refusal: %d runs (%v)", len(runs), err)
	}
}
