package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
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
	Results []PairResult `json:"results"`
}

// mapResults reads the pair results of every child execution the Map ran:
// collector outputs as they are; failed batches (recorded by the state
// machine, or failed outright) as failed pairs carrying the error, so that
// nothing the Map was given goes missing from the run.
func (a *Aggregator) mapResults(ctx context.Context, req AggregateRequest) ([]PairResult, error) {
	var m mapManifest
	if err := readJSON(ctx, a, req.ResultWriter.Key, &m); err != nil {
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
				prs, err := pairsOf(req.RunID, e)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f.Key, err)
				}
				out = append(out, prs...)
			}
		}
	}
	return out, nil
}

func pairsOf(runID string, e mapExecution) ([]PairResult, error) {
	if e.Status == "SUCCEEDED" || (e.Status == "" && e.Output != "") {
		var o failedBatchOutput
		if err := json.Unmarshal([]byte(e.Output), &o); err != nil {
			return nil, fmt.Errorf("child output: %w", err)
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
