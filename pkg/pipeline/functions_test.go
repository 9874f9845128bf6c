package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
)

func TestParseDispatchInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		regions  []string
		errField string
	}{
		{"plain request", `{"regions":["eu-west-1"]}`, []string{"eu-west-1"}, ""},
		{"empty", ``, nil, ""},
		{"null", `null`, nil, ""},
		{"scheduled event with detail", `{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{"regions":["us-east-1"]}}`, []string{"us-east-1"}, ""},
		{"scheduled event, empty detail", `{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`, nil, ""},
		{"scheduled event, no detail", `{"source":"aws.events","detail-type":"Scheduled Event"}`, nil, ""},
		{"event with a bad detail", `{"source":"aws.events","detail-type":"Scheduled Event","detail":{"regions":["moon-1"]}}`, nil, "regions"},
		{"unknown field", `{"region":"us-east-1"}`, nil, "region"},
		{"not JSON", `{"regions":`, nil, "input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := pipeline.ParseDispatchInput([]byte(tc.in))
			var ir *pipeline.InvalidRequestError
			if tc.errField != "" {
				if !errors.As(err, &ir) || ir.Field != tc.errField {
					t.Fatalf("err = %v, want InvalidRequestError on %s", err, tc.errField)
				}
				return
			}
			if err != nil || strings.Join(req.Regions, ",") != strings.Join(tc.regions, ",") {
				t.Fatalf("req %+v err %v", req, err)
			}
		})
	}
}

func TestParseCollectInput(t *testing.T) {
	t.Parallel()
	item := `{"runId":"r1","accountId":"123456789012","region":"us-east-1","checks":["ec2-idle-instance"]}`
	items, err := pipeline.ParseCollectInput([]byte(`{"Items":[` + item + `,` + item + `],"BatchInput":{"x":1}}`))
	if err != nil || len(items) != 2 {
		t.Fatalf("batch: %v %v", items, err)
	}
	if items, err := pipeline.ParseCollectInput([]byte(item)); err != nil || len(items) != 1 {
		t.Fatalf("single: %v %v", items, err)
	}
	in, err := pipeline.DecodeCollectInput([]byte(`{"Items":[` + item + `],"childStartedAt":"2026-11-26T06:00:00.123Z"}`))
	if err != nil || in.ChildStartedAt == nil || !in.ChildStartedAt.Equal(time.Date(2026, 11, 26, 6, 0, 0, 123e6, time.UTC)) {
		t.Fatalf("childStartedAt: %+v %v", in, err)
	}
	for _, tc := range []struct{ in, field, value string }{
		{`{"Items":[` + item + `],"childStartedAt":"yesterday"}`, "childStartedAt", `"yesterday"`},
		{`{"Items":[` + item + `],"ChildStartedAt":"2026-11-26T06:00:00Z"}`, "Items", "ChildStartedAt"},
		{`{"Items":[` + item + `],"childstartedat":"2026-11-26T06:00:00Z"}`, "Items", "childstartedat"},
		{`{"runId":"r1","accountId":"123456789012","region":"us-east-1","checks":[],"optionsKey":"runs/r2/options.json"}`, "optionsKey", "runs/r2/options.json"},
		{`{"runId":"r1","accountId":"123456789012","region":"us-east-1","checks":[],"exclusions":[{"regions":["us-east-1"]}]}`, "input", "exclusions"},
	} {
		_, err := pipeline.DecodeCollectInput([]byte(tc.in))
		var ir *pipeline.InvalidRequestError
		if !errors.As(err, &ir) || ir.Field != tc.field || ir.Value != tc.value {
			t.Errorf("%s: err = %v, want InvalidRequestError{%s %s}", tc.in, err, tc.field, tc.value)
		}
	}
	for _, bad := range []string{`{"Items":[]}`, `{"Items":[{"runId":"r1","accountId":"1","region":"us-east-1"}]}`,
		`{"runId":"r1","accountId":"123456789012","region":"us-east-1","extra":true}`, `[1]`, `{"Items":[` + item + `],"More":1}`} {
		var ir *pipeline.InvalidRequestError
		if _, err := pipeline.ParseCollectInput([]byte(bad)); !errors.As(err, &ir) {
			t.Errorf("%s: err = %v, want InvalidRequestError", bad, err)
		}
	}
}

// A batch whose account denies the role is an AccountAccessError (its Go
// type name is the errorType the state machine catches); a batch with one
// healthy pair returns results.
func TestCollectFunctionAccountAccessError(t *testing.T) {
	t.Parallel()
	base, _ := sim.New(sim.Config{Seed: 3, Accounts: 2})
	accts, _ := base.Accounts(context.Background(), nil)
	org, _ := sim.New(sim.Config{Seed: 3, Accounts: 2, DenyAccounts: []string{accts[0].ID}})
	blobs := store.Dir{Root: t.TempDir()}
	fn := pipeline.CollectFunction{Collector: &collect.Collector{Clients: org, Blobs: blobs, Clock: org.Now, Prices: pricing.Default()}, Blobs: blobs}
	batch := func(account string) json.RawMessage {
		var items []pipeline.WorkItem
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			items = append(items, pipeline.WorkItem{RunID: "r", AccountID: account, Region: r, Checks: checks.IDs()})
		}
		b, _ := json.Marshal(pipeline.CollectInput{Items: items})
		return b
	}
	_, err := fn.Handle(context.Background(), batch(accts[0].ID))
	var ae *pipeline.AccountAccessError
	if !errors.As(err, &ae) || ae.AccountID != accts[0].ID || ae.Code != "AccessDenied" || strings.Join(ae.Regions, ",") != "us-east-1,eu-west-1" {
		t.Fatalf("err = %#v", err)
	}
	out, err := fn.Handle(context.Background(), batch(accts[1].ID))
	if err != nil || len(out.Results) != 2 || out.Results[0].Status != pipeline.PairOK {
		t.Fatalf("healthy batch: %+v %v", out, err)
	}
}

// fakeBatch is a BatchCollector that records the context it was given and
// returns canned results (or one ok result per item).
type fakeBatch struct {
	calls    int
	deadline time.Time
	hasDL    bool
	results  []pipeline.PairResult
}

func (f *fakeBatch) Handle(ctx context.Context, items []pipeline.WorkItem) ([]pipeline.PairResult, error) {
	f.calls++
	f.deadline, f.hasDL = ctx.Deadline()
	if f.results != nil {
		return f.results, nil
	}
	out := make([]pipeline.PairResult, len(items))
	for i, it := range items {
		out[i] = pipeline.PairResult{RunID: it.RunID, AccountID: it.AccountID, Region: it.Region, Status: pipeline.PairOK, Checks: it.Checks}
	}
	return out, nil
}

func batchInput(t *testing.T, started *time.Time, regions ...string) json.RawMessage {
	t.Helper()
	in := pipeline.CollectInput{ChildStartedAt: started}
	for _, r := range regions {
		in.Items = append(in.Items, pipeline.WorkItem{RunID: "r1", AccountID: "123456789012", Region: r, Checks: []string{"ec2-idle-instance"}})
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The scan of a batch ends by its child's start + ChildScanBudget, however
// late the invocation started; a batch with less than the collector's
// margin left scans nothing and says why, at once.
func TestChildBudgetDeadline(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 6, 5, 0, 0, time.UTC)
	at := func(ago time.Duration) *time.Time { t := now.Add(-ago); return &t }
	for _, tc := range []struct {
		name      string
		started   *time.Time
		lambdaDL  time.Time // zero: no deadline on ctx
		exhausted bool
		want      time.Time // the collector's deadline; zero: none
	}{
		{name: "started 100 s ago", started: at(100 * time.Second), want: now.Add(140 * time.Second)},
		{name: "started 235 s ago", started: at(235 * time.Second), exhausted: true},
		{name: "started 230 s ago: exactly the margin left", started: at(230 * time.Second), exhausted: true},
		{name: "started 229 s ago", started: at(229 * time.Second), want: now.Add(11 * time.Second)},
		{name: "started after its budget", started: at(10 * time.Minute), exhausted: true},
		{name: "Lambda deadline first", started: at(100 * time.Second), lambdaDL: now.Add(60 * time.Second), want: now.Add(60 * time.Second)},
		{name: "budget first", started: at(100 * time.Second), lambdaDL: now.Add(pipeline.CollectorTimeout), want: now.Add(140 * time.Second)},
		{name: "no child start: the Lambda deadline", lambdaDL: now.Add(200 * time.Second), want: now.Add(200 * time.Second)},
		{name: "no child start, no deadline (local)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeBatch{}
			fn := pipeline.CollectFunction{Collector: fake, Clock: func() time.Time { return now }}
			ctx := context.Background()
			if !tc.lambdaDL.IsZero() {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, tc.lambdaDL)
				defer cancel()
			}
			out, err := fn.Handle(ctx, batchInput(t, tc.started, "us-east-1", "eu-west-1"))
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Results) != 2 {
				t.Fatalf("results %+v", out)
			}
			if tc.exhausted {
				if fake.calls != 0 {
					t.Fatal("the collector was called with no time left")
				}
				for _, r := range out.Results {
					if r.Status != pipeline.PairFailed || len(r.Errors) != 1 || r.Errors[0].Code != pipeline.ChildTimeBudgetExhausted ||
						r.AccountID != "123456789012" || len(r.Checks) != 1 {
						t.Fatalf("pair %+v, want failed with %s", r, pipeline.ChildTimeBudgetExhausted)
					}
				}
				return
			}
			if fake.calls != 1 || fake.hasDL != !tc.want.IsZero() || !fake.deadline.Equal(tc.want) {
				t.Fatalf("collector called %d times with deadline %v (set %v), want %v", fake.calls, fake.deadline, fake.hasDL, tc.want)
			}
		})
	}
}

// The child's time budget fits the EXPRESS limit whatever path the Scan task
// takes (statemachine/orgscan.asl.json): an attempt ends by child start +
// ChildScanBudget (the budget is measured from the child's start, not the
// attempt's), or at its TimeoutSeconds; retries (Invoke errors only, at most
// two, waits of at most 1 s and 2 s) start after the budget only to return
// exhausted at once.
func TestChildBudgetArithmetic(t *testing.T) {
	const (
		taskTimeout = 250 * time.Second // Scan's TimeoutSeconds
		retryWaits  = 1*time.Second + 2*time.Second
	)
	if pipeline.CollectorTimeout > taskTimeout || pipeline.ChildScanBudget > taskTimeout {
		t.Errorf("collector timeout %s and budget %s must end before the task's timeout %s", pipeline.CollectorTimeout, pipeline.ChildScanBudget, taskTimeout)
	}
	// Worst case: the first attempt hangs until the task times out (caught,
	// not retried); or Invoke errors come at the budget's end and the two
	// retries return at once.
	if worst := max(taskTimeout, pipeline.ChildScanBudget+retryWaits); worst >= pipeline.ExpressChildLimit-30*time.Second {
		t.Errorf("worst child of %s leaves under 30 s of the %s EXPRESS limit for Invoke latency", worst, pipeline.ExpressChildLimit)
	}
	if pipeline.DefaultDeadlineMargin >= pipeline.ChildScanBudget/4 {
		t.Errorf("margin %s leaves too little of the budget", pipeline.DefaultDeadlineMargin)
	}
}

// A batch's output is at most MaxCollectOutputBytes of JSON in the worst
// case: 40 regions, every pair with 40 check errors of MaxErrorMessageBytes
// made of a character JSON escapes to 6 bytes. The full results go to
// ResultsKey and decode back whole.
func TestCollectorOutputIsBounded(t *testing.T) {
	t.Parallel()
	runID := strings.Repeat("r", 80)
	const account = "123456789012"
	msg := strings.Repeat("<", pipeline.MaxErrorMessageBytes)
	var regions []string
	var results []pipeline.PairResult
	for i := range 40 {
		r := fmt.Sprintf("us-gov-northeast-%d", i+1)
		regions = append(regions, r)
		pr := pipeline.PairResult{RunID: runID, AccountID: account, AccountName: strings.Repeat("<", 50), Region: r, Status: pipeline.PairPartial,
			Checks: checks.IDs(), APICalls: pipeline.CountsOf(map[string]int{"ec2:DescribeInstances": 3, "cloudwatch:GetMetricData": 1}), MetricsRequested: 500, DurationMs: 1}
		for j := range 40 {
			pr.Errors = append(pr.Errors, catalog.CheckError{Check: fmt.Sprintf("check-%d", j), Code: "ThrottlingException", Message: msg, Count: 1})
		}
		results = append(results, pr)
	}
	blobs := store.Dir{Root: t.TempDir()}
	fn := pipeline.CollectFunction{Collector: &fakeBatch{results: results}, Blobs: blobs}
	in := pipeline.CollectInput{}
	for _, r := range regions {
		in.Items = append(in.Items, pipeline.WorkItem{RunID: runID, AccountID: account, Region: r, Checks: checks.IDs()})
	}
	raw, _ := json.Marshal(in)
	out, err := fn.Handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	full, _ := json.Marshal(pipeline.CollectOutput{Results: results})
	t.Logf("inline results would be %d bytes; returned %d bytes: %s", len(full), len(b), b)
	if len(b) > pipeline.MaxCollectOutputBytes || len(out.Results) != 0 {
		t.Fatalf("returned %d bytes with %d results, want the key only", len(b), len(out.Results))
	}
	if out.ResultsKey != pipeline.ResultsKey(runID, account) || out.Pairs != 40 {
		t.Fatalf("output %s", b)
	}
	rc, err := blobs.Open(context.Background(), out.ResultsKey)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var spilled pipeline.CollectOutput
	if err := json.NewDecoder(rc).Decode(&spilled); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(results, spilled.Results); d != "" {
		t.Fatalf("spilled results differ (-want +got):\n%s", d)
	}
}

// Results under the bound are returned inline and nothing is written; a
// batch too large to return with no blob store, or spanning accounts, is an
// error (the state machine records it as failed pairs), never a truncation.
func TestCollectFunctionInlineAndUnspillable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fn := pipeline.CollectFunction{Collector: &fakeBatch{}, Blobs: store.Dir{Root: dir}}
	out, err := fn.Handle(context.Background(), batchInput(t, nil, "us-east-1", "eu-west-1"))
	if err != nil || len(out.Results) != 2 || out.ResultsKey != "" || out.Pairs != 0 {
		t.Fatalf("out %+v err %v", out, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a small batch wrote %v", entries)
	}
	big := func(accounts ...string) []pipeline.PairResult {
		var rs []pipeline.PairResult
		for _, a := range accounts {
			rs = append(rs, pipeline.PairResult{RunID: "r1", AccountID: a, Region: "us-east-1", Status: pipeline.PairPartial,
				Errors: []catalog.CheckError{{Code: "X", Message: strings.Repeat("<", pipeline.MaxCollectOutputBytes/4)}}})
		}
		return rs
	}
	if _, err := (pipeline.CollectFunction{Collector: &fakeBatch{results: big("123456789012")}}).Handle(context.Background(), batchInput(t, nil, "us-east-1")); err == nil {
		t.Error("large results with no blob store: no error")
	}
	two := json.RawMessage(`{"Items":[{"runId":"r1","accountId":"123456789012","region":"us-east-1","checks":[]},{"runId":"r1","accountId":"210987654321","region":"us-east-1","checks":[]}]}`)
	if _, err := (pipeline.CollectFunction{Collector: &fakeBatch{results: big("123456789012", "210987654321")}, Blobs: store.Dir{Root: dir}}).Handle(context.Background(), two); err == nil {
		t.Error("large results of two accounts: no error")
	}
}

func TestCapMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		cut  bool
	}{
		{"short", "api error AccessDenied", false},
		{"exactly the bound", strings.Repeat("a", pipeline.MaxErrorMessageBytes), false},
		{"ASCII over", strings.Repeat("a", pipeline.MaxErrorMessageBytes+1), true},
		{"two-byte runes", strings.Repeat("é", pipeline.MaxErrorMessageBytes), true},
		{"four-byte runes", strings.Repeat("😀", pipeline.MaxErrorMessageBytes), true},
		{"three-byte rune across the cut", strings.Repeat("a", pipeline.MaxErrorMessageBytes-4) + strings.Repeat("€", 10), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := pipeline.CapMessage(tc.in)
			if !tc.cut {
				if got != tc.in {
					t.Fatalf("changed a message within the bound")
				}
				return
			}
			body, ok := strings.CutSuffix(got, "…")
			if len(got) > pipeline.MaxErrorMessageBytes || !utf8.ValidString(got) || !ok || !strings.HasPrefix(tc.in, body) || len(got) < pipeline.MaxErrorMessageBytes-6 {
				t.Fatalf("CapMessage gave %d bytes (valid %v): %q", len(got), utf8.ValidString(got), got[max(0, len(got)-20):])
			}
		})
	}
}

// A run request over MaxRunRequestBytes is refused by name before it is
// decoded; 1,000 realistic exclusions fit.
func TestParseDispatchInputSizeBound(t *testing.T) {
	t.Parallel()
	request := func(reason string) []byte {
		var req pipeline.RunRequest
		for i := range 1000 {
			req.Exclusions = append(req.Exclusions, finding.Exclusion{Accounts: []string{"123456789012"}, Resources: []string{fmt.Sprintf("i-%017d", i)}, Reason: reason})
		}
		b, _ := json.Marshal(req)
		return b
	}
	if req, err := pipeline.ParseDispatchInput(request("kept for the 2026 audit")); err != nil || len(req.Exclusions) != 1000 {
		t.Fatalf("1,000 exclusions: %v", err)
	}
	big := request(strings.Repeat("x", 200))
	_, err := pipeline.ParseDispatchInput(big)
	var ir *pipeline.InvalidRequestError
	if len(big) <= pipeline.MaxRunRequestBytes || !errors.As(err, &ir) || ir.Field != "input" || !strings.Contains(ir.Reason, fmt.Sprint(len(big))) {
		t.Fatalf("%d bytes: err = %v", len(big), err)
	}
}
