package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/orgscan/orgscan/pkg/store"
)

// AggregationBusyError says another aggregation holds the lease: two
// executions never merge into the state at once. The state machine retries
// it with a long backoff; the lease expires by itself (AggregationLease)
// when its holder died.
type AggregationBusyError struct {
	RunID  string
	Holder string
	Until  time.Time
}

func (e *AggregationBusyError) Error() string {
	return fmt.Sprintf("run %s: run %s is aggregating (its lease runs until %s)", e.RunID, e.Holder, e.Until.UTC().Format(time.RFC3339))
}

// TransientError is an aggregation that failed for a reason worth retrying
// (S3 or DynamoDB unavailable, a throttled write left unprocessed): the
// aggregator's Lambda handler wraps every error but an *InvalidRequestError
// and an *AggregationBusyError in it, so that the state machine's Retry can
// name it and leave bad requests alone. A retry resumes: the run's record,
// lease and account marks make the merge idempotent.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// AggregateResult is what the aggregator Lambda returns to the state
// machine: a few counts of fixed size, whatever the run (Step Functions
// refuses a task result over 256 KiB before ResultSelector applies; the
// whole summary is at SummaryKey).
type AggregateResult struct {
	RunID          string          `json:"runId"`
	Status         store.RunStatus `json:"status"`
	Pairs          int             `json:"pairs"`
	PairsFailed    int             `json:"pairsFailed"`
	PairsPartial   int             `json:"pairsPartial"`
	Findings       int             `json:"findings"`
	New            int             `json:"new"`
	Resolved       int             `json:"resolved"`
	MonthlyCostUSD float64         `json:"monthlyCostUsd"`
	RunFailed      bool            `json:"runFailed"`
	Warnings       int             `json:"warnings"`
	SummaryKey     string          `json:"summaryKey"`
}

// ResultOf is the state machine's view of a summary.
func ResultOf(s RunSummary) AggregateResult {
	return AggregateResult{RunID: s.RunID, Status: s.Status, Pairs: s.Pairs, PairsFailed: s.PairsFailed, PairsPartial: s.PairsPartial,
		Findings: s.Findings, New: s.New, Resolved: s.Resolved, MonthlyCostUSD: s.MonthlyCostUSD, RunFailed: s.RunFailed,
		Warnings: len(s.Warnings) + s.WarningsOmitted, SummaryKey: SummaryKey(s.RunID)}
}

// AggregateFunction is the aggregator Lambda's handler.
type AggregateFunction struct{ Aggregator *Aggregator }

// aggregateRequestFields are the JSON names of an aggregate request, spelled
// exactly (encoding/json would take "RunID" for "runId").
var aggregateRequestFields = jsonNames(reflect.TypeFor[AggregateRequest]())

// Handle aggregates a run and returns its AggregateResult. A malformed
// request is an *InvalidRequestError, another aggregation holding the lease
// an *AggregationBusyError, and every other failure a *TransientError.
func (f AggregateFunction) Handle(ctx context.Context, raw json.RawMessage) (AggregateResult, error) {
	req, err := ParseAggregateInput(raw)
	if err != nil {
		return AggregateResult{}, err
	}
	sum, err := f.Aggregator.Handle(ctx, req)
	if err != nil {
		var bad *InvalidRequestError
		var busy *AggregationBusyError
		if errors.As(err, &bad) || errors.As(err, &busy) {
			return AggregateResult{}, err
		}
		return AggregateResult{}, &TransientError{Err: err}
	}
	return ResultOf(sum), nil
}

// ParseAggregateInput decodes an aggregate request strictly: exact field
// names, no unknown fields, nothing after the object.
func ParseAggregateInput(raw []byte) (AggregateRequest, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return AggregateRequest{}, &InvalidRequestError{Field: "input", Reason: "is not a JSON object: " + err.Error()}
	}
	if err := exactNames(probe, aggregateRequestFields, "input"); err != nil {
		return AggregateRequest{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var req AggregateRequest
	if err := dec.Decode(&req); err != nil {
		return AggregateRequest{}, &InvalidRequestError{Field: "input", Reason: "is not an aggregate request: " + err.Error()}
	}
	return req, nil
}
