package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orgscan/orgscan/pkg/store"
)

// writeRun writes a run's manifest of n accounts in us-east-1 and returns
// its work items.
func writeRun(t *testing.T, blobs store.Blobs, runID string, n int) []WorkItem {
	t.Helper()
	var items []WorkItem
	var buf bytes.Buffer
	for i := range n {
		it := WorkItem{RunID: runID, AccountID: []string{"111111111111", "222222222222", "333333333333", "444444444444"}[i], Region: "us-east-1", Checks: []string{"ec2-idle-instance"}}
		items = append(items, it)
		b, _ := json.Marshal(it)
		buf.Write(append(b, '\n'))
	}
	if err := blobs.Put(context.Background(), ManifestKey(runID), &buf); err != nil {
		t.Fatal(err)
	}
	return items
}

// A Map that failed (its Catch passed Error and Cause on) still has its run
// aggregated: what the ResultWriter wrote is read (found by listing the
// Map's prefix), and every other work item of the manifest becomes a failed
// pair carrying the Map's error.
func TestFailedMapIsAggregatedWithWhatS3Holds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		resultsWritten bool
		wantOK         int
	}{
		{"results written", true, 1},
		{"nothing written", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			blobs := store.Dir{Root: dir}
			items := writeRun(t, blobs, "r1", 4)
			if tc.resultsWritten {
				put := func(key string, v any) {
					b, _ := json.Marshal(v)
					if err := blobs.Put(ctx, key, bytes.NewReader(b)); err != nil {
						t.Fatal(err)
					}
				}
				str := func(v any) string { b, _ := json.Marshal(v); return string(b) }
				out := CollectOutput{Results: []PairResult{{RunID: "r1", AccountID: items[0].AccountID, Region: "us-east-1", Status: PairOK, Checks: items[0].Checks}}}
				put("runs/r1/map/0f1e/SUCCEEDED_0.json", []mapExecution{{Status: "SUCCEEDED", Input: str(CollectInput{Items: items[:1]}), Output: str(out)}})
				put("runs/r1/map/0f1e/manifest.json", map[string]any{"ResultFiles": map[string]any{
					"SUCCEEDED": []map[string]any{{"Key": "runs/r1/map/0f1e/SUCCEEDED_0.json"}}}})
			}
			agg := &Aggregator{Blobs: blobs, State: &store.LocalState{Dir: dir}, History: jsonHistory{}, Clock: time.Now}
			sum, err := agg.Handle(ctx, AggregateRequest{RunID: "r1", StartedAt: time.Now(),
				Collect: &MapOutcome{Error: "States.ExceedToleratedFailureThreshold", Cause: "the Map failed"}})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Pairs != 4 || sum.PairsOK != tc.wantOK || sum.PairsFailed != 4-tc.wantOK || sum.Status != store.RunComplete {
				t.Fatalf("summary: %d pairs, %d ok, %d failed, status %s", sum.Pairs, sum.PairsOK, sum.PairsFailed, sum.Status)
			}
			for _, p := range sum.Problems {
				if p.Errors[0].Code != "States.ExceedToleratedFailureThreshold" || p.Errors[0].Message != "the Map failed" {
					t.Fatalf("problem %+v", p)
				}
			}
		})
	}
}

// The aggregator's Lambda handler: a request with a misspelt field is an
// InvalidRequestError, another aggregation holding the lease an
// AggregationBusyError, and any other failure a TransientError, which the
// state machine retries; success is the small AggregateResult.
func TestAggregateFunctionErrorTypes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	blobs := store.Dir{Root: dir}
	state := &store.LocalState{Dir: dir}
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	f := AggregateFunction{Aggregator: &Aggregator{Blobs: blobs, State: state, History: jsonHistory{}, Clock: func() time.Time { return now }}}
	var bad *InvalidRequestError
	if _, err := f.Handle(ctx, json.RawMessage(`{"RunID":"r1"}`)); !errors.As(err, &bad) {
		t.Fatalf("misspelt field: %v", err)
	}
	if _, err := f.Handle(ctx, json.RawMessage(`{"runId":"r1"} {}`)); !errors.As(err, &bad) {
		t.Fatalf("trailing data: %v", err)
	}
	if ok, _, _, err := state.AcquireLease(ctx, "other-run", now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	var busy *AggregationBusyError
	if _, err := f.Handle(ctx, json.RawMessage(`{"runId":"r1","startedAt":"2026-11-26T06:00:00Z"}`)); !errors.As(err, &busy) || busy.Holder != "other-run" {
		t.Fatalf("lease held: %v", err)
	}
	if err := state.ReleaseLease(ctx, "other-run"); err != nil {
		t.Fatal(err)
	}
	// The Map's results are missing from S3: transient (S3 may catch up), retried.
	var transient *TransientError
	_, err := f.Handle(ctx, json.RawMessage(`{"runId":"r1","startedAt":"2026-11-26T06:00:00Z","collect":{"resultWriter":{"Bucket":"b","Key":"runs/r1/map/x/manifest.json"}}}`))
	if !errors.As(err, &transient) || errors.As(err, &bad) {
		t.Fatalf("missing results: %v", err)
	}
	writeRun(t, blobs, "r2", 1)
	res, err := f.Handle(ctx, json.RawMessage(`{"runId":"r2","startedAt":"2026-11-26T06:00:00Z","collect":{"Error":"States.Runtime","Cause":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.RunID != "r2" || res.Pairs != 1 || res.PairsFailed != 1 || !res.RunFailed || res.Status != store.RunComplete || res.SummaryKey != SummaryKey("r2") {
		t.Fatalf("result %+v", res)
	}
}

// Files a killed process left half-written in the data directory are
// removed by the next aggregation: the aggregator's own files at once (it
// holds the lease: no other aggregation writes them), other files (a
// collector's chunk, perhaps of a run under way in another process) once
// they are an hour old.
func TestLeftoverTemporaryFilesAreRemoved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	blobs := store.Dir{Root: dir}
	now := time.Now()
	files := map[string]bool{ // path → removed
		"findings/dt=2026-11-25/.tmp-dead.parquet-123":          true,
		"runs/r0/.tmp-findings.jsonl-456":                       true,
		"reports/.tmp-r0.html-789":                              true,
		"runs/r0/chunks/111111111111/.tmp-us-east-1.jsonl.gz-1": false,
		"runs/r0/chunks/222222222222/.tmp-us-east-1.jsonl.gz-2": true, // two hours old
	}
	for p := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := filepath.Join(dir, "runs/r0/chunks/222222222222/.tmp-us-east-1.jsonl.gz-2")
	if err := os.Chtimes(old, now.Add(-2*time.Hour), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	writeRun(t, blobs, "r1", 1)
	agg := &Aggregator{Blobs: blobs, State: &store.LocalState{Dir: dir}, History: jsonHistory{}, Clock: func() time.Time { return now }}
	if _, err := agg.Handle(ctx, AggregateRequest{RunID: "r1", StartedAt: now, Collect: &MapOutcome{Error: "States.Runtime"}}); err != nil {
		t.Fatal(err)
	}
	for p, removed := range files {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if gone := os.IsNotExist(err); gone != removed {
			t.Errorf("%s: removed %v, want %v", p, gone, removed)
		}
	}
	keys, err := blobs.List(ctx, "runs/r0/")
	if err != nil || len(keys) != 0 {
		t.Fatalf("List shows temporary files as keys: %v %v", keys, err)
	}
}
