package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/store"
)

// mapManifest is the manifest.json a Distributed Map's ResultWriter writes.
type mapManifest struct {
	ResultFiles map[string][]struct {
		Key string `json:"Key"`
	} `json:"ResultFiles"`
}

// mapExecution is one child execution in a ResultWriter results file
// (Transformation NONE: input and output as JSON strings).
type mapExecution struct {
	Input  string `json:"Input"`
	Output string `json:"Output"`
	Status string `json:"Status"`
	Error  string `json:"Error"`
	Cause  string `json:"Cause"`
}

// failedBatchOutput is what the state machine's RecordFailedBatch state
// returns for a batch whose collector invocation failed.
type failedBatchOutput struct {
	FailedBatch *struct {
		Items []WorkItem `json:"items"`
		Error string     `json:"error"`
		Cause string     `json:"cause"`
	} `json:"failedBatch"`
	Results    []PairResult `json:"results"`
	ResultsKey string       `json:"resultsKey"`
	Pairs      int          `json:"pairs"`
}

// gather returns the run's pair results: those given inline, and those
// of the Map. When the Map failed (its Catch passed the error on), it reads
// whatever the ResultWriter managed to write. Every work item of the run's
// manifest that has no result then becomes a failed pair carrying the Map's
// error, so nothing the run was to scan goes missing from it.
func (a *Aggregator) gather(ctx context.Context, req AggregateRequest) ([]PairResult, error) {
	pairs := slices.Clone(req.Pairs)
	if req.Collect == nil {
		sortPairs(pairs)
		return pairs, nil
	}
	var manifests []string
	switch {
	case req.Collect.ResultWriter != nil:
		manifests = []string{req.Collect.ResultWriter.Key}
	case req.Collect.Error == "":
		return nil, &InvalidRequestError{Field: "collect", Reason: "has neither resultWriter nor Error"}
	default:
		if l, ok := a.Blobs.(store.Lister); ok {
			keys, err := l.List(ctx, MapPrefix(req.RunID)+"/")
			if err != nil {
				return nil, fmt.Errorf("find the Map's results: %w", err)
			}
			for _, k := range keys {
				if path.Base(k) == "manifest.json" {
					manifests = append(manifests, k)
				}
			}
		}
	}
	for _, key := range manifests {
		if key != MapPrefix(req.RunID) && !strings.HasPrefix(key, MapPrefix(req.RunID)+"/") {
			return nil, &InvalidRequestError{Field: "collect.resultWriter.Key", Value: key, Reason: "is not under " + MapPrefix(req.RunID)}
		}
		mapped, err := a.mapResults(ctx, req.RunID, key)
		if err != nil {
			return nil, fmt.Errorf("read the Map's results: %w", err)
		}
		pairs = append(pairs, mapped...)
	}
	pairs = dedupePairs(pairs)
	have := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		have[p.AccountID+"/"+p.Region] = true
	}
	code, cause := req.Collect.Error, req.Collect.Cause
	if code == "" {
		code, cause = "NoResult", "the Distributed Map returned no result for this pair"
	}
	err := ReadManifest(ctx, a.Blobs, ManifestKey(req.RunID), func(it WorkItem) error {
		if !have[it.AccountID+"/"+it.Region] {
			have[it.AccountID+"/"+it.Region] = true
			pairs = append(pairs, failedPairs(req.RunID, []WorkItem{it}, code, cause)...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the run's manifest: %w", err)
	}
	sortPairs(pairs)
	return pairs, nil
}

// MapPrefix is where the Distributed Map's ResultWriter writes (the ASL's
// ResultWriter Prefix).
func MapPrefix(runID string) string { return "runs/" + runID + "/map" }

// sortPairs orders pairs by account, then region.
func sortPairs(pairs []PairResult) {
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].AccountID != pairs[j].AccountID {
			return pairs[i].AccountID < pairs[j].AccountID
		}
		return pairs[i].Region < pairs[j].Region
	})
}

// dedupePairs keeps one result per pair (a redriven Map can report a pair
// twice): the best status, ok before partial before failed.
func dedupePairs(pairs []PairResult) []PairResult {
	rank := map[PairStatus]int{PairOK: 0, PairPartial: 1, PairFailed: 2}
	at := map[string]int{}
	out := pairs[:0]
	for _, p := range pairs {
		k := p.AccountID + "/" + p.Region
		if i, ok := at[k]; ok {
			if rank[p.Status] < rank[out[i].Status] {
				out[i] = p
			}
			continue
		}
		at[k] = len(out)
		out = append(out, p)
	}
	return out
}

// mapResults reads the pair results of every child execution the Map ran,
// listed by the ResultWriter manifest at key: collector outputs as they are
// (or, when the collector spilled a large answer, the object it names);
// failed batches (recorded by the state machine, or failed outright) as
// failed pairs carrying the error.
func (a *Aggregator) mapResults(ctx context.Context, runID, key string) ([]PairResult, error) {
	var m mapManifest
	if err := readJSON(ctx, a, key, &m); err != nil {
		return nil, err
	}
	var out []PairResult
	for _, status := range []string{"SUCCEEDED", "FAILED", "PENDING"} {
		for _, f := range m.ResultFiles[status] {
			var execs []mapExecution
			if err := readJSON(ctx, a, f.Key, &execs); err != nil {
				return nil, err
			}
			for _, e := range execs {
				prs, err := a.pairsOf(ctx, runID, e)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f.Key, err)
				}
				out = append(out, prs...)
			}
		}
	}
	return out, nil
}

func (a *Aggregator) pairsOf(ctx context.Context, runID string, e mapExecution) ([]PairResult, error) {
	if e.Status == "SUCCEEDED" || (e.Status == "" && e.Output != "") {
		var o failedBatchOutput
		if err := json.Unmarshal([]byte(e.Output), &o); err != nil {
			return nil, fmt.Errorf("child output: %w", err)
		}
		if o.ResultsKey != "" {
			if !strings.HasPrefix(o.ResultsKey, "runs/"+runID+"/results/") {
				return nil, &InvalidRequestError{Field: "resultsKey", Value: o.ResultsKey, Reason: "is not a results object of run " + runID}
			}
			var spilled CollectOutput
			if err := readJSON(ctx, a, o.ResultsKey, &spilled); err != nil {
				return nil, fmt.Errorf("collector results: %w", err)
			}
			if len(spilled.Results) != o.Pairs {
				return nil, fmt.Errorf("collector results %s hold %d pairs, the child reported %d", o.ResultsKey, len(spilled.Results), o.Pairs)
			}
			return spilled.Results, nil
		}
		if o.FailedBatch == nil {
			return o.Results, nil
		}
		return failedPairs(runID, o.FailedBatch.Items, o.FailedBatch.Error, o.FailedBatch.Cause), nil
	}
	var in CollectInput
	if err := json.Unmarshal([]byte(e.Input), &in); err != nil {
		return nil, fmt.Errorf("child input: %w", err)
	}
	return failedPairs(runID, in.Items, e.Error, e.Cause), nil
}

func failedPairs(runID string, items []WorkItem, code, cause string) []PairResult {
	out := make([]PairResult, 0, len(items))
	for _, it := range items {
		out = append(out, PairResult{RunID: runID, AccountID: it.AccountID, AccountName: it.AccountName, Region: it.Region,
			Status: PairFailed, Checks: it.Checks, Errors: []catalog.CheckError{{Code: code, Message: cause, Count: 1}}})
	}
	return out
}

func readJSON(ctx context.Context, a *Aggregator, key string, v any) error {
	rc, err := a.Blobs.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}
