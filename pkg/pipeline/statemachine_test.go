package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/store"
)

// The state machine and the handlers agree on names: these tests read
// statemachine/orgscan.asl.json and check it against the Go types.

func loadASL(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "statemachine", "orgscan.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func state(t *testing.T, d map[string]any, path ...string) map[string]any {
	t.Helper()
	cur := d
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			t.Fatalf("no %s in %v", p, path)
		}
		cur = next
	}
	return cur
}

// jsonFields are the JSON names of a struct's fields.
func jsonFields(v any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// walk calls fn on every value under v with its key.
func walk(v any, fn func(key string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			fn(k, vv)
			walk(vv, fn)
		}
	case []any:
		for _, vv := range x {
			walk(vv, fn)
		}
	}
}

// Every error name Retry or Catch matches is either a Step Functions or
// Lambda service error, or the Go type name of an error a handler returns
// (aws-lambda-go reports that name as errorType).
func TestStateMachineErrorNamesAreHandlerErrorTypes(t *testing.T) {
	t.Parallel()
	ours := map[string]bool{}
	for _, e := range []error{&InvalidRequestError{}, &AggregationBusyError{}, &TransientError{}} {
		ours[reflect.TypeOf(e).Elem().Name()] = true
	}
	// The collector's AccountAccessError is caught by Scan's catch-all,
	// which records the batch as failed pairs whatever the error.
	ours[reflect.TypeOf(&AccountAccessError{}).Elem().Name()] = false
	seen := map[string]bool{}
	walk(loadASL(t), func(k string, v any) {
		if k != "ErrorEquals" {
			return
		}
		for _, n := range v.([]any) {
			name := n.(string)
			seen[name] = true
			if _, known := ours[name]; !strings.HasPrefix(name, "States.") && !strings.HasPrefix(name, "Lambda.") && !known {
				t.Errorf("ErrorEquals %q is no handler error type", name)
			}
		}
	})
	for name, branched := range ours {
		if branched && !seen[name] {
			t.Errorf("the state machine never branches on %s", name)
		}
	}
}

// Every field the state machine reads from a handler's answer exists in the
// Go type, and every field it passes to a handler is one the handler decodes.
func TestStateMachinePayloadsMatchHandlerTypes(t *testing.T) {
	t.Parallel()
	d := loadASL(t)
	check := func(where string, fields map[string]any, known map[string]bool, prefix string) {
		for k, v := range fields {
			s, _ := v.(string)
			name := strings.TrimSuffix(k, ".$")
			if prefix != "" {
				name = strings.TrimPrefix(s, prefix)
			}
			if !known[name] {
				t.Errorf("%s: %q is not a field of the handler's type (known %v)", where, name, keys(known))
			}
		}
	}
	dispatch := state(t, d, "States", "Dispatch")
	check("Dispatch.ResultSelector", dispatch["ResultSelector"].(map[string]any), jsonFields(DispatchResult{}), "$.Payload.")
	agg := state(t, d, "States", "Aggregate")
	check("Aggregate.Parameters.Payload", state(t, agg, "Parameters", "Payload"), jsonFields(AggregateRequest{}), "")
	check("Aggregate.ResultSelector", agg["ResultSelector"].(map[string]any), jsonFields(AggregateResult{}), "$.Payload.")

	// The Map hands manifest lines (WorkItems) to the collector as they
	// are: no ItemSelector renames them, and ItemBatcher wraps them in
	// {"Items": [...]}, which is CollectInput.
	collect := state(t, d, "States", "Collect")
	if _, ok := collect["ItemSelector"]; ok {
		t.Error("an ItemSelector would change the WorkItem fields the collector decodes")
	}
	if !jsonFields(CollectInput{})["Items"] {
		t.Error("CollectInput has no Items field")
	}
	if got := state(t, collect, "ItemReader", "ReaderConfig")["InputType"]; got != "JSONL" {
		t.Errorf("ItemReader input type %v, want JSONL (the manifest's format)", got)
	}
	// RecordFailedBatch produces what the aggregator decodes as a failed batch.
	rec := state(t, collect, "ItemProcessor", "States", "RecordFailedBatch", "Parameters", "failedBatch")
	fb := reflect.TypeOf(failedBatchOutput{}).Field(0).Type.Elem()
	known := map[string]bool{}
	for i := 0; i < fb.NumField(); i++ {
		known[fb.Field(i).Tag.Get("json")] = true
	}
	check("RecordFailedBatch", rec, known, "")
}

// The S3 keys the state machine reads are the ones the handlers write.
func TestStateMachineKeys(t *testing.T) {
	t.Parallel()
	d := loadASL(t)
	collect := state(t, d, "States", "Collect")
	if got := state(t, collect, "ItemReader", "Parameters")["Key.$"]; got != "$.dispatch.manifestKey" {
		t.Errorf("ItemReader key %v, want the dispatcher's manifestKey", got)
	}
	if res := (DispatchResult{ManifestKey: ManifestKey("r1")}); res.ManifestKey != "runs/r1/manifest.jsonl" {
		t.Errorf("manifest key %s", res.ManifestKey)
	}
	prefix := state(t, collect, "ResultWriter", "Parameters")["Prefix.$"]
	if prefix != "States.Format('runs/{}/map', $.dispatch.runId)" {
		t.Errorf("ResultWriter prefix %v", prefix)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The aggregator reads the Map's ResultWriter output: collector results,
// batches the state machine recorded as failed, and child executions that
// failed outright all become pair results.
func TestAggregatorReadsTheMapResults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blobs := store.Dir{Root: dir}
	ctx := context.Background()
	put := func(key string, v any) {
		b, _ := json.Marshal(v)
		if err := blobs.Put(ctx, key, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	str := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	ok := CollectOutput{Results: []PairResult{{RunID: "r1", AccountID: "111111111111", Region: "us-east-1", Status: PairOK, Checks: checks.IDs()}}}
	batch := func(acct string) CollectInput {
		return CollectInput{Items: []WorkItem{{RunID: "r1", AccountID: acct, Region: "us-east-1"}, {RunID: "r1", AccountID: acct, Region: "eu-west-1"}}}
	}
	recorded := map[string]any{"failedBatch": map[string]any{"items": batch("222222222222").Items, "error": "AccountAccessError", "cause": "role denied"}}
	put("runs/r1/map/abc/SUCCEEDED_0.json", []mapExecution{{Status: "SUCCEEDED", Input: str(batch("111111111111")), Output: str(ok)},
		{Status: "SUCCEEDED", Input: str(batch("222222222222")), Output: str(recorded)}})
	put("runs/r1/map/abc/FAILED_0.json", []mapExecution{{Status: "FAILED", Input: str(batch("333333333333")), Error: "States.Timeout", Cause: "timed out"}})
	put("runs/r1/map/abc/manifest.json", map[string]any{"ResultFiles": map[string]any{
		"SUCCEEDED": []map[string]any{{"Key": "runs/r1/map/abc/SUCCEEDED_0.json"}},
		"FAILED":    []map[string]any{{"Key": "runs/r1/map/abc/FAILED_0.json"}}, "PENDING": []any{}}})
	// The run's manifest also lists a pair the Map has no result for.
	var manifest bytes.Buffer
	for _, acct := range []string{"111111111111", "222222222222", "333333333333"} {
		for _, it := range batch(acct).Items {
			if acct == "111111111111" && it.Region == "eu-west-1" {
				continue
			}
			b, _ := json.Marshal(it)
			manifest.Write(append(b, '\n'))
		}
	}
	manifest.WriteString(`{"runId":"r1","accountId":"444444444444","region":"us-east-1","checks":[]}` + "\n")
	if err := blobs.Put(ctx, ManifestKey("r1"), &manifest); err != nil {
		t.Fatal(err)
	}
	agg := &Aggregator{Blobs: blobs, State: &store.LocalState{Dir: dir}, History: jsonHistory{}, Clock: time.Now}
	sum, err := agg.Handle(ctx, AggregateRequest{RunID: "r1", StartedAt: time.Now(), Collect: &MapOutcome{ResultWriter: &ResultWriterRef{Bucket: "b", Key: "runs/r1/map/abc/manifest.json"}}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pairs != 6 || sum.PairsOK != 1 || sum.PairsFailed != 5 || sum.RunFailed {
		t.Fatalf("summary %+v", sum)
	}
	codes := map[string]int{}
	for _, p := range sum.Problems {
		codes[p.Errors[0].Code]++
	}
	if codes["AccountAccessError"] != 2 || codes["States.Timeout"] != 2 || codes["NoResult"] != 1 {
		t.Fatalf("problems %+v", sum.Problems)
	}
}

// jsonHistory stands in for Parquet (pkg/history imports this package).
type jsonHistory struct{}

type jsonWriter[T any] struct{ w *json.Encoder }

func (j jsonWriter[T]) Write(rows []T) error {
	for _, r := range rows {
		if err := j.w.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
func (jsonWriter[T]) Close() error { return nil }

func (jsonHistory) Findings(w io.Writer, _ string, _ time.Time) HistoryWriter[finding.Finding] {
	return jsonWriter[finding.Finding]{json.NewEncoder(w)}
}
func (jsonHistory) Pairs(w io.Writer, _ string, _ time.Time) HistoryWriter[PairResult] {
	return jsonWriter[PairResult]{json.NewEncoder(w)}
}
func (jsonHistory) Inventory(w io.Writer, _ string, _ time.Time) HistoryWriter[InventoryRecord] {
	return jsonWriter[InventoryRecord]{json.NewEncoder(w)}
}
