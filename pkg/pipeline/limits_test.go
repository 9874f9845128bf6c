package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
)

// escaped is a string of n characters that encoding/json writes as six
// bytes each ('<' becomes \u003c): the worst case for JSON sizes.
func escaped(n int) string { return strings.Repeat("<", n) }

// worstCasePairs is 1,000 accounts × 17 regions, every pair failed with an
// error for every check, each with a 400-byte message.
func worstCasePairs(runID string) []pipeline.PairResult {
	var out []pipeline.PairResult
	ids := catalog.IDs()
	for a := range 1000 {
		for r := range 17 {
			p := pipeline.PairResult{RunID: runID, AccountID: fmt.Sprintf("%012d", 100000000000+a), AccountName: escaped(50),
				Region: fmt.Sprintf("xx-test-%d", r+1), Status: pipeline.PairFailed, Checks: ids}
			for _, id := range ids {
				p.Errors = append(p.Errors, catalog.CheckError{Check: id, Code: "AccessDeniedException", Message: strings.Repeat("m", 400), Count: 1})
			}
			out = append(out, p)
		}
	}
	return out
}

// The run record, summary and task result stay bounded by bytes whatever
// the run: 17,000 pairs all failing with 400-byte messages. The summary
// lists what fits and names the rest; the record keeps every pair (one
// bounded item each); the state machine gets a fixed-size result.
// docs/limits.md lists the quotas these bounds meet.
func TestWorstCaseRunRecordIsBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := &store.LocalState{Dir: dir}
	runID := strings.Repeat("r", 80) // the longest run ID
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	agg := &pipeline.Aggregator{Blobs: store.Dir{Root: dir}, History: history.Parquet{}, State: state,
		Clock: func() time.Time { return at }, Notifier: failingNotifier{}}
	pairs := worstCasePairs(runID)
	sum, err := agg.Handle(context.Background(), pipeline.AggregateRequest{RunID: runID, StartedAt: at, Pairs: pairs})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.RunFailed || sum.PairsFailed != len(pairs) {
		t.Fatalf("failed pairs %d of %d", sum.PairsFailed, len(pairs))
	}
	b, err := os.ReadFile(filepath.Join(dir, pipeline.SummaryKey(runID)))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > pipeline.MaxSummaryBytes {
		t.Fatalf("summary.json is %d bytes, over MaxSummaryBytes %d", len(b), pipeline.MaxSummaryBytes)
	}
	if sum.ProblemsOmitted+len(sum.Problems) != len(pairs) || !strings.Contains(sum.ProblemsMore, fmt.Sprintf("and %d more", sum.ProblemsOmitted)) ||
		!strings.Contains(sum.ProblemsMore, pipeline.PairsKey(runID)) {
		t.Fatalf("summary lists %d problems, omits %d: %q", len(sum.Problems), sum.ProblemsOmitted, sum.ProblemsMore)
	}
	if len(sum.Warnings) == 0 || !strings.Contains(sum.Warnings[0], "run event not delivered") {
		t.Fatalf("warnings %q", sum.Warnings)
	}
	rec, ok, err := state.GetRun(context.Background(), runID)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if len(rec.Summary) > pipeline.MaxSummaryBytes || len(rec.Problems) != len(pairs) || rec.Status != store.RunComplete {
		t.Fatalf("record: summary %d bytes, %d problem pairs, status %s", len(rec.Summary), len(rec.Problems), rec.Status)
	}
	for _, p := range rec.Problems {
		if len(p.Errors) > pipeline.MaxPairErrorsBytes {
			t.Fatalf("pair %s/%s keeps %d bytes of errors, over %d", p.AccountID, p.Region, len(p.Errors), pipeline.MaxPairErrorsBytes)
		}
		var errs []catalog.CheckError
		if err := json.Unmarshal(p.Errors, &errs); err != nil || len(errs) != len(catalog.IDs()) {
			t.Fatalf("pair %s/%s: %d errors kept (every check must stay named): %v", p.AccountID, p.Region, len(errs), err)
		}
	}
	res, err := json.Marshal(pipeline.ResultOf(sum))
	if err != nil {
		t.Fatal(err)
	}
	// Step Functions: 256 KiB per task result. The result is a handful of
	// numbers and two IDs.
	if len(res) > 1024 {
		t.Fatalf("task result is %d bytes, want a small fixed size", len(res))
	}
	t.Logf("worst case: summary.json %d bytes, %d problems listed, record summary %d bytes, task result %d bytes", len(b), len(sum.Problems), len(rec.Summary), len(res))
}

type failingNotifier struct{}

func (failingNotifier) Notify(context.Context, pipeline.RunEvent) error {
	return fmt.Errorf("put the run event: %s", escaped(2000))
}

// The run event fits EventBridge's entry limit in the worst case: the
// most new costly findings, each with a 512-character resource ID of
// escaped characters, and the most failed pairs with every error code.
func TestWorstCaseEventFits(t *testing.T) {
	t.Parallel()
	ev := pipeline.RunEvent{RunID: strings.Repeat("r", 80), ReportKey: pipeline.ReportKey(strings.Repeat("r", 80)),
		NewCostlyTotal: 100000, FailedPairsTotal: 17000}
	for i := range pipeline.MaxEventFindings {
		f := finding.Finding{FindingID: fmt.Sprintf("%032x", i), CheckID: "ec2-idle-instance", AccountID: "123456789012", Region: "ap-southeast-7",
			ResourceID: escaped(2000), MonthlyCostUSD: finding.Cost(1e9), Tags: map[string]string{escaped(128): escaped(256)}}
		ev.NewCostly = append(ev.NewCostly, pipeline.NewEventFinding(f))
	}
	for range pipeline.MaxEventPairs {
		p := pipeline.EventPair{AccountID: "123456789012", Region: "ap-southeast-7", Status: pipeline.PairFailed}
		for range 10 {
			p.Codes = append(p.Codes, escaped(64))
		}
		ev.FailedPairs = append(ev.FailedPairs, p)
	}
	b, err := pipeline.FitEvent(&ev, pipeline.MaxEventDetailBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > pipeline.MaxEventDetailBytes || strings.Contains(string(b), `\u003c\u003c\u003c`+strings.Repeat(`\u003c`, 600)) {
		t.Fatalf("event detail %d bytes (limit %d), or a resource ID was not cut", len(b), pipeline.MaxEventDetailBytes)
	}
	if len(ev.NewCostly) == 0 || ev.NewCostlyTotal != 100000 || ev.FailedPairsTotal != 17000 {
		t.Fatalf("%d findings listed, totals %d and %d: the cut must keep the totals", len(ev.NewCostly), ev.NewCostlyTotal, ev.FailedPairsTotal)
	}
	t.Logf("worst-case event detail: %d bytes, %d of %d findings listed, %d pairs", len(b), len(ev.NewCostly), pipeline.MaxEventFindings, len(ev.FailedPairs))

	// A detail that cannot fit whole is cut from the end, totals kept.
	cut := ev
	cut.NewCostly = append([]pipeline.EventFinding(nil), ev.NewCostly...)
	half := len(b) / 2
	b, err = pipeline.FitEvent(&cut, half)
	if err != nil || len(b) > half || len(cut.NewCostly) >= len(ev.NewCostly) || cut.NewCostlyTotal != 100000 {
		t.Fatalf("cut event: %d findings listed, total %d, err %v", len(cut.NewCostly), cut.NewCostlyTotal, err)
	}
}
