package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
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
// envelope. Unknown fields and malformed values are *InvalidRequestError.
func ParseDispatchInput(raw []byte) (RunRequest, error) {
	raw = bytes.TrimSpace(raw)
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

// CollectInput is what the Distributed Map's ItemBatcher sends: a batch of
// work items (one account's regions).
type CollectInput struct {
	Items      []WorkItem      `json:"Items"`
	BatchInput json.RawMessage `json:"BatchInput,omitempty"`
}

// CollectOutput is the collector Lambda's answer: one small result per item.
type CollectOutput struct {
	Results []PairResult `json:"results"`
}

// CollectFunction is the collector Lambda's handler.
type CollectFunction struct{ Collector BatchCollector }

// Handle scans a batch ({"Items": [...]}) or a single work item. When no
// pair of the batch could get credentials for an access reason it returns
// an *AccountAccessError; otherwise pair failures are in the results.
func (f CollectFunction) Handle(ctx context.Context, raw json.RawMessage) (CollectOutput, error) {
	items, err := ParseCollectInput(raw)
	if err != nil {
		return CollectOutput{}, err
	}
	results, err := f.Collector.Handle(ctx, items)
	if err != nil {
		return CollectOutput{}, err
	}
	if e := accessFailure(results); e != nil {
		return CollectOutput{}, e
	}
	return CollectOutput{Results: results}, nil
}

// ParseCollectInput decodes a batch or a single work item, strictly.
func ParseCollectInput(raw []byte) ([]WorkItem, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, &InvalidRequestError{Field: "input", Reason: "is not a JSON object: " + err.Error()}
	}
	if _, batch := probe["Items"]; batch {
		if err := exactNames(probe, collectInputFields, "Items"); err != nil {
			return nil, err
		}
		var items []map[string]json.RawMessage
		if json.Unmarshal(probe["Items"], &items) == nil {
			for _, it := range items {
				if err := exactNames(it, workItemFields, "Items"); err != nil {
					return nil, err
				}
			}
		}
		var in CollectInput
		if err := dec.Decode(&in); err != nil {
			return nil, &InvalidRequestError{Field: "Items", Reason: "is not a batch of work items: " + err.Error()}
		}
		if len(in.Items) == 0 {
			return nil, &InvalidRequestError{Field: "Items", Reason: "is empty"}
		}
		for _, it := range in.Items {
			if err := it.Validate(); err != nil {
				return nil, err
			}
		}
		return in.Items, nil
	}
	if err := exactNames(probe, workItemFields, "input"); err != nil {
		return nil, err
	}
	var it WorkItem
	if err := dec.Decode(&it); err != nil {
		return nil, &InvalidRequestError{Field: "input", Reason: "is not a work item: " + err.Error()}
	}
	if err := it.Validate(); err != nil {
		return nil, err
	}
	return []WorkItem{it}, nil
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

// AggregateFunction is the aggregator Lambda's handler.
type AggregateFunction struct{ Aggregator *Aggregator }

// Handle aggregates a run.
func (f AggregateFunction) Handle(ctx context.Context, raw json.RawMessage) (RunSummary, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var req AggregateRequest
	if err := dec.Decode(&req); err != nil {
		return RunSummary{}, &InvalidRequestError{Field: "input", Reason: "is not an aggregate request: " + err.Error()}
	}
	return f.Aggregator.Handle(ctx, req)
}
