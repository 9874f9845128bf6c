package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/store"
)

// The Lambda functions' error types. aws-lambda-go reports a returned
// error's Go type name as the invocation's errorType, and the state
// machine's Retry and Catch match on it, so these names are a contract:
//
//   - InvalidRequestError: the input is malformed (a bad account ID, an
//     unknown region, check or field). Retrying cannot help; the execution
//     fails and nothing was written.
//   - AccountAccessError: the collector could not get credentials for any
//     pair of its batch (the account's role is missing, denies the collector,
//     or the ExternalId is wrong). Retrying cannot help; the batch is recorded
//     as failed pairs.
//
// Any other error (a Lambda timeout, S3 unavailable) is transient and left
// to the state machine's Retry.

// AccountAccessError is a collector batch whose account denied access.
type AccountAccessError struct {
	AccountID string
	Regions   []string
	Code      string
	Message   string
}

func (e *AccountAccessError) Error() string {
	return fmt.Sprintf("account %s (regions %s): %s: %s", e.AccountID, strings.Join(e.Regions, ","), e.Code, e.Message)
}

// DispatchFunction is the dispatcher Lambda's handler.
type DispatchFunction struct{ Dispatcher *Dispatcher }

// Handle accepts a run request as the execution input, or an EventBridge
// event whose detail is one (a schedule or rule target without an input
// transformer).
func (f DispatchFunction) Handle(ctx context.Context, raw json.RawMessage) (DispatchResult, error) {
	req, err := ParseDispatchInput(raw)
	if err != nil {
		return DispatchResult{}, err
	}
	return f.Dispatcher.Handle(ctx, req)
}

// ParseDispatchInput decodes a run request, unwrapping an EventBridge event
// envelope. Unknown fields, malformed values and an input over
// MaxRunRequestBytes are *InvalidRequestError.
func ParseDispatchInput(raw []byte) (RunRequest, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > MaxRunRequestBytes {
		return RunRequest{}, &InvalidRequestError{Field: "input", Reason: fmt.Sprintf("is %d bytes, over the %d a run request may have (Step Functions carries it through every state, 256 KiB at most): give fewer or shorter exclusions", len(raw), MaxRunRequestBytes)}
	}
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	var envelope struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &envelope) == nil && envelope.Source != "" && envelope.DetailType != "" {
		raw = envelope.Detail
		if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			raw = []byte("{}")
		}
	}
	return DecodeRunRequest(raw)
}

// The bounds the collector is built to. Step Functions and Lambda enforce
// them in AWS; emulators and local runs do not, so they are bounded here
// and proven by worst-case tests.
const (
	// MaxStatePayloadBytes is the largest input or output of a task, state
	// or execution, and so of a Lambda task's result: 256 KiB of UTF-8
	// (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html,
	// "Maximum input or output size for a task, state, or execution").
	MaxStatePayloadBytes = 256 * 1024
	// MaxRunRequestBytes bounds a run request, the execution input: the
	// states after Dispatch carry it on with the dispatch result, the Map's
	// result details and the summary added (ResultPath), and each state's
	// output is at most MaxStatePayloadBytes. Thresholds and exclusions
	// make most of a large request.
	MaxRunRequestBytes = MaxStatePayloadBytes - 16*1024
	// MaxCollectOutputBytes is the largest CollectOutput the collector
	// returns inline; a larger one is written to ResultsKey. The 56 KiB
	// left of MaxStatePayloadBytes are for the Lambda task's envelope: the
	// quota applies to the task result before OutputPath, in which the
	// function's answer is the Payload field next to the status code and
	// the SDK's response metadata.
	MaxCollectOutputBytes = 200 * 1024

	// ExpressChildLimit is the longest an EXPRESS execution, and so a
	// Distributed Map child of the collector, runs: it is then stopped
	// where no Catch can record it
	// (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html,
	// Express workflows' maximum execution duration, 5 minutes).
	ExpressChildLimit = 300 * time.Second
	// ChildScanBudget: the collector returns by the child's start time
	// (CollectInput.ChildStartedAt) plus this, however late its invocation
	// started (a cold start, a retried Invoke). It stops starting work
	// DefaultDeadlineMargin earlier. The state machine's Scan task times
	// one attempt out at 250 s and retries only Invoke errors, at most
	// twice with waits of at most 1 s and 2 s: every path of the child ends
	// well before ExpressChildLimit.
	ChildScanBudget = 240 * time.Second
	// CollectorTimeout is the collector Lambda's timeout (infra/cdk): a
	// backstop for a function that ignores its context. Lambda allows up
	// to 15 minutes
	// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html);
	// an invocation starts after its child did, so its deadline is never
	// before the child's budget.
	CollectorTimeout = 240 * time.Second
	// DefaultDeadlineMargin is kept free before the collector's deadline to
	// write the pairs' findings and return (package collect's default).
	DefaultDeadlineMargin = 10 * time.Second
)

// CollectInput is what the Distributed Map's child passes the collector: a
// batch of work items (one account's regions, from the ItemBatcher) and the
// child execution's start time ($$.Execution.StartTime), which bounds the
// scan (ChildScanBudget).
type CollectInput struct {
	Items          []WorkItem      `json:"Items"`
	ChildStartedAt *time.Time      `json:"childStartedAt,omitempty"`
	BatchInput     json.RawMessage `json:"BatchInput,omitempty"`
}

// CollectOutput is the collector Lambda's answer: one small result per
// item, or, when those would exceed MaxCollectOutputBytes of JSON, the key
// of an object holding the full CollectOutput and the number of pairs in
// it.
type CollectOutput struct {
	Results    []PairResult `json:"results,omitempty"`
	ResultsKey string       `json:"resultsKey,omitempty"`
	Pairs      int          `json:"pairs,omitempty"`
}

// ChildTimeBudgetExhausted is the error code of every pair of a batch that
// started too late in its child execution to scan anything.
const ChildTimeBudgetExhausted = "ChildTimeBudgetExhausted"

// CollectFunction is the collector Lambda's handler.
type CollectFunction struct {
	Collector BatchCollector
	// Blobs receives the results of a batch too large to return
	// (ResultsKey).
	Blobs store.Blobs
	// Clock is the present (default time.Now).
	Clock func() time.Time
	// DeadlineMargin is the collector's margin (default
	// DefaultDeadlineMargin): a batch with less time than this left is not
	// started.
	DeadlineMargin time.Duration
}

// Handle scans a batch ({"Items": [...], "childStartedAt": ...}) or a single
// work item, within min(ctx's deadline, ChildStartedAt + ChildScanBudget).
// When that leaves less than the deadline margin, every pair fails with
// code ChildTimeBudgetExhausted and nothing is called. When no pair of the
// batch could get credentials for an access reason it returns an
// *AccountAccessError; otherwise pair failures are in the results. Results
// larger than MaxCollectOutputBytes are written to ResultsKey and only the
// key is returned; a failed write is an error (the state machine records
// the batch as failed).
func (f CollectFunction) Handle(ctx context.Context, raw json.RawMessage) (CollectOutput, error) {
	in, err := DecodeCollectInput(raw)
	if err != nil {
		return CollectOutput{}, err
	}
	now := time.Now
	if f.Clock != nil {
		now = f.Clock
	}
	margin := cmp.Or(f.DeadlineMargin, DefaultDeadlineMargin)
	if in.ChildStartedAt != nil {
		budget := in.ChildStartedAt.Add(ChildScanBudget)
		if dl, ok := ctx.Deadline(); !ok || budget.Before(dl) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, budget)
			defer cancel()
		}
	}
	if dl, ok := ctx.Deadline(); ok && dl.Sub(now()) <= margin {
		return CollectOutput{Results: exhausted(in.Items, dl.Sub(now()), margin)}, nil
	}
	results, err := f.Collector.Handle(ctx, in.Items)
	if err != nil {
		return CollectOutput{}, err
	}
	if e := accessFailure(results); e != nil {
		return CollectOutput{}, e
	}
	out := CollectOutput{Results: results}
	b, err := json.Marshal(out)
	if err != nil {
		return CollectOutput{}, err
	}
	if len(b) <= MaxCollectOutputBytes {
		return out, nil
	}
	return f.spill(ctx, in.Items, b, len(results))
}

// exhausted fails every item: its child has no time left to scan.
func exhausted(items []WorkItem, left, margin time.Duration) []PairResult {
	msg := fmt.Sprintf("the batch started with %s of its time budget left, no more than the collector's margin of %s: nothing was scanned", max(left, 0).Round(time.Millisecond), margin)
	out := make([]PairResult, len(items))
	for i, it := range items {
		out[i] = PairResult{RunID: it.RunID, AccountID: it.AccountID, AccountName: it.AccountName, Region: it.Region,
			Status: PairFailed, Checks: it.Checks, Errors: []catalog.CheckError{{Code: ChildTimeBudgetExhausted, Message: msg, Count: 1}}}
	}
	return out
}

// spill writes a batch's full output (JSON b) to ResultsKey and returns the
// key in its place. A batch is one account's regions (the ItemBatcher
// takes at most the run's region count of consecutive items, and the
// manifest lists each account's regions together), so the key names the
// account; a batch of several accounts or runs is refused rather than
// overwrite another batch's results.
func (f CollectFunction) spill(ctx context.Context, items []WorkItem, b []byte, pairs int) (CollectOutput, error) {
	first := items[0]
	for _, it := range items[1:] {
		if it.RunID != first.RunID || it.AccountID != first.AccountID {
			return CollectOutput{}, fmt.Errorf("results of %d bytes span accounts %s and %s: a batch that large must hold one account", len(b), first.AccountID, it.AccountID)
		}
	}
	if f.Blobs == nil {
		return CollectOutput{}, fmt.Errorf("results of %d bytes exceed %d and no blob store is configured", len(b), MaxCollectOutputBytes)
	}
	key := ResultsKey(first.RunID, first.AccountID)
	if err := f.Blobs.Put(ctx, key, bytes.NewReader(b)); err != nil {
		return CollectOutput{}, fmt.Errorf("write results %s: %w", key, err)
	}
	return CollectOutput{ResultsKey: key, Pairs: pairs}, nil
}

// ParseCollectInput decodes a batch or a single work item, strictly, and
// returns its items (DecodeCollectInput).
func ParseCollectInput(raw []byte) ([]WorkItem, error) {
	in, err := DecodeCollectInput(raw)
	return in.Items, err
}

// DecodeCollectInput decodes a batch ({"Items": [...]}, with the optional
// childStartedAt and BatchInput) or a single work item, strictly: field
// names must match exactly, and every item must be valid. Its errors are
// *InvalidRequestError.
func DecodeCollectInput(raw []byte) (CollectInput, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return CollectInput{}, &InvalidRequestError{Field: "input", Reason: "is not a JSON object: " + err.Error()}
	}
	if _, batch := probe["Items"]; batch {
		if err := exactNames(probe, collectInputFields, "Items"); err != nil {
			return CollectInput{}, err
		}
		var items []map[string]json.RawMessage
		if json.Unmarshal(probe["Items"], &items) == nil {
			for _, it := range items {
				if err := exactNames(it, workItemFields, "Items"); err != nil {
					return CollectInput{}, err
				}
			}
		}
		var in CollectInput
		if err := dec.Decode(&in); err != nil {
			if _, ok := probe["childStartedAt"]; ok && json.Unmarshal(probe["childStartedAt"], new(*time.Time)) != nil {
				return CollectInput{}, &InvalidRequestError{Field: "childStartedAt", Value: string(probe["childStartedAt"]), Reason: "is not an RFC 3339 time"}
			}
			return CollectInput{}, &InvalidRequestError{Field: "Items", Reason: "is not a batch of work items: " + err.Error()}
		}
		if len(in.Items) == 0 {
			return CollectInput{}, &InvalidRequestError{Field: "Items", Reason: "is empty"}
		}
		for _, it := range in.Items {
			if err := it.Validate(); err != nil {
				return CollectInput{}, err
			}
		}
		return in, nil
	}
	if err := exactNames(probe, workItemFields, "input"); err != nil {
		return CollectInput{}, err
	}
	var it WorkItem
	if err := dec.Decode(&it); err != nil {
		return CollectInput{}, &InvalidRequestError{Field: "input", Reason: "is not a work item: " + err.Error()}
	}
	if err := it.Validate(); err != nil {
		return CollectInput{}, err
	}
	return CollectInput{Items: []WorkItem{it}}, nil
}

// The JSON names of a collector batch and of a work item, spelled exactly:
// encoding/json matches names case-insensitively, and a misspelt case
// ("AccountID") must be refused, not taken.
var (
	collectInputFields = jsonNames(reflect.TypeFor[CollectInput]())
	workItemFields     = jsonNames(reflect.TypeFor[WorkItem]())
)

// jsonNames are the JSON field names of struct type t.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// exactNames refuses a key of obj that is not one of names exactly (the
// first in sorted order, so the same input gives the same error).
func exactNames(obj map[string]json.RawMessage, names []string, field string) error {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(names, k) {
			return &InvalidRequestError{Field: field, Value: k, Reason: "is not a field (known: " + strings.Join(names, ", ") + ")"}
		}
	}
	return nil
}

// accessCodes are AWS error codes of an access problem.
var accessCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true,
	"InvalidClientTokenId": true, "UnrecognizedClientException": true, "ExpiredToken": true,
}

func accessFailure(results []PairResult) *AccountAccessError {
	if len(results) == 0 {
		return nil
	}
	var e *AccountAccessError
	for _, r := range results {
		if r.Status != PairFailed || len(r.Errors) != 1 || r.Errors[0].Check != "" || !accessCodes[r.Errors[0].Code] {
			return nil
		}
		if e == nil {
			e = &AccountAccessError{AccountID: r.AccountID, Code: r.Errors[0].Code, Message: r.Errors[0].Message}
		}
		e.Regions = append(e.Regions, r.Region)
	}
	return e
}
