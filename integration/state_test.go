package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
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
		{RunID: "run-1", StartedAt: t0, Summary: json.RawMessage(`{"pairs":4,"pairsOk":4,"monthlyCostUsd":210.5}`)},
		{RunID: "run-2", StartedAt: t0.Add(24 * time.Hour), Summary: json.RawMessage(`{"pairs":6,"pairsOk":3,"pairsFailed":2,"pairsPartial":1,"byCheck":{"ec2-idle-instance":3},"regions":["eu-west-1","us-east-1"]}`),
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
	// The summary is readable as attributes too.
	sum, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: map[string]ddbtypes.AttributeValue{
		store.DynamoPK: &ddbtypes.AttributeValueMemberS{Value: "RUN#run-2"}, store.DynamoSK: &ddbtypes.AttributeValueMemberS{Value: "#SUMMARY"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var readable struct {
		Summary struct {
			PairsFailed int            `dynamodbav:"pairsFailed"`
			ByCheck     map[string]int `dynamodbav:"byCheck"`
			Regions     []string       `dynamodbav:"regions"`
		} `dynamodbav:"summary"`
	}
	if err := attributevalue.UnmarshalMap(sum.Item, &readable); err != nil || readable.Summary.PairsFailed != 2 ||
		readable.Summary.ByCheck["ec2-idle-instance"] != 3 || len(readable.Summary.Regions) != 2 {
		t.Errorf("summary attributes %+v (%v)", readable, err)
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
