// Package pipeline holds orgscan's dispatcher and aggregator handlers, the
// contracts between them and the collector (package collect), and the local
// runner. It is the only package that
// knows about fan-out: the Lambda functions and the local CLI both call these
// handlers, so a local run exercises the code that runs in AWS.
package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/store"
)

// Account is an AWS account to scan.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Discovery finds what a run may scan: the accounts of the organization and
// the regions enabled for it. Implementations must be safe for concurrent use.
type Discovery interface {
	// Accounts lists the active accounts, only those under the given
	// organizational units (or roots) when ous is not empty.
	Accounts(ctx context.Context, ous []string) ([]Account, error)
	Regions(ctx context.Context) ([]string, error)
}

// BatchCollector scans a batch of work items and returns one result per item,
// in order (package collect's Collector). A pair's failure is its result's
// status; an error means the batch could not start.
type BatchCollector interface {
	Handle(ctx context.Context, items []WorkItem) ([]PairResult, error)
}

// RunRequest is a run's input: the execution input in AWS, flags locally.
// Empty lists mean "all": every account discovered, every enabled region,
// every registered check.
type RunRequest struct {
	RunID               string                        `json:"runId,omitempty"`
	Accounts            []string                      `json:"accounts,omitempty"`
	ExcludeAccounts     []string                      `json:"excludeAccounts,omitempty"`
	OrganizationalUnits []string                      `json:"organizationalUnits,omitempty"`
	Regions             []string                      `json:"regions,omitempty"`
	Checks              []string                      `json:"checks,omitempty"`
	RoleName            string                        `json:"roleName,omitempty"`
	LookbackDays        int                           `json:"lookbackDays,omitempty"`
	Params              map[string]map[string]float64 `json:"params,omitempty"`
	// Exclusions mark the findings they match suppressed (see the
	// configuration file).
	Exclusions []finding.Exclusion `json:"exclusions,omitempty"`
	// IgnoreTag says where the orgscan:ignore tag suppresses findings
	// (default: everywhere).
	IgnoreTag *finding.TagPolicy `json:"ignoreTag,omitempty"`
	// MaxConcurrency bounds the Distributed Map's child executions
	// (default DefaultMaxConcurrency, lowered to the dispatcher's
	// CollectorConcurrency). Only the state machine reads it.
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
}

// DefaultMaxConcurrency is the Distributed Map's concurrency when the
// request sets none.
const DefaultMaxConcurrency = 40

// WorkItem is one account × region to scan: one line of the run manifest.
// It stays small whatever the request (at most MaxWorkItemBytes of JSON, so
// that a batch of one account's regions fits the ItemBatcher's
// MaxInputBytesPerBatch): the request's thresholds and exclusions, which
// can be long, are in the run options object named by OptionsKey.
type WorkItem struct {
	RunID       string   `json:"runId"`
	AccountID   string   `json:"accountId"`
	AccountName string   `json:"accountName,omitempty"`
	Region      string   `json:"region"`
	RoleARN     string   `json:"roleArn,omitempty"`
	Checks      []string `json:"checks"`
	// LookbackDays carries the request's override to the collector.
	LookbackDays int `json:"lookbackDays,omitempty"`
	// OptionsKey is OptionsKey(RunID) when the run has parameters or
	// exclusions, empty otherwise.
	OptionsKey string `json:"optionsKey,omitempty"`
}

// Work item bounds. The Distributed Map's ItemBatcher sends a child at most
// MaxInputBytesPerBatch of items, 256 KiB by default and at most
// (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html);
// the state machine batches one account's regions, so an account's items
// must fit together or its batch would be split (and the pairs of one
// account scanned by two children, each assuming the role).
const (
	// MaxBatchInputBytes is the state machine's MaxInputBytesPerBatch.
	MaxBatchInputBytes = 256 * 1024
	// MaxWorkItemBytes bounds one work item's JSON; the dispatcher refuses
	// a run that would exceed it. A realistic worst case (every check, a
	// 50-character account name, a 64-character role name under a
	// 512-character path) is under 2 KiB.
	MaxWorkItemBytes = 4 * 1024
	// MaxBatchRegions is the most regions a run may scan so that one
	// account's items always fit a batch: 64, more than AWS has.
	MaxBatchRegions = MaxBatchInputBytes / MaxWorkItemBytes
)

// MaxErrorMessageBytes bounds a CheckError's message (CapMessage): a pair
// result carries an error per check with AWS's own message, and a batch's
// results must stay small (MaxCollectOutputBytes).
const MaxErrorMessageBytes = 1024

// CapMessage returns msg cut at a UTF-8 boundary to at most
// MaxErrorMessageBytes bytes, ending in "…" when it was cut.
func CapMessage(msg string) string {
	if len(msg) <= MaxErrorMessageBytes {
		return msg
	}
	const ellipsis = "…"
	return truncateUTF8(msg, MaxErrorMessageBytes-len(ellipsis)) + ellipsis
}

// RunOptions are the parts of a run request every pair needs but that can
// be large (up to 1,000 exclusions): the dispatcher writes them once, at
// OptionsKey(runID), instead of into every work item.
type RunOptions struct {
	Params     map[string]map[string]float64 `json:"params,omitempty"`
	Exclusions []finding.Exclusion           `json:"exclusions,omitempty"`
	IgnoreTag  *finding.TagPolicy            `json:"ignoreTag,omitempty"`
}

// Empty reports whether the options change nothing (no object is written).
func (o RunOptions) Empty() bool {
	return len(o.Params) == 0 && len(o.Exclusions) == 0 && o.IgnoreTag == nil
}

// TagPolicy is the options' IgnoreTag, or the default (honoured everywhere).
func (o RunOptions) TagPolicy() finding.TagPolicy {
	if o.IgnoreTag == nil {
		return finding.TagPolicy{}
	}
	return *o.IgnoreTag
}

// Validate checks the exclusions (finding.Exclusion.Validate); the
// parameters are checked against the pair's checks by checks.Configure.
// Its error is an *InvalidRequestError.
func (o RunOptions) Validate() error {
	for i, e := range o.Exclusions {
		if err := e.Validate(); err != nil {
			return exclusionError(i, err)
		}
	}
	return tagPolicyError(o.IgnoreTag)
}

// runOptionsFields are RunOptions' JSON names, spelled exactly.
var runOptionsFields = jsonNames(reflect.TypeFor[RunOptions]())

// OptionsKey is where the dispatcher writes a run's RunOptions.
func OptionsKey(runID string) string { return "runs/" + runID + "/options.json" }

// ReadRunOptions reads and validates the run options object at key. A
// missing, malformed or invalid object is an *InvalidRequestError naming the
// key (retrying cannot help); any other error (S3 unavailable) is returned
// as it is.
func ReadRunOptions(ctx context.Context, blobs store.Blobs, key string) (RunOptions, error) {
	invalid := func(reason string) error {
		return &InvalidRequestError{Field: "optionsKey", Value: key, Reason: reason}
	}
	rc, err := blobs.Open(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return RunOptions{}, invalid("names no run options object")
	}
	if err != nil {
		return RunOptions{}, fmt.Errorf("read run options %s: %w", key, err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return RunOptions{}, fmt.Errorf("read run options %s: %w", key, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var o RunOptions
	if err := dec.Decode(&o); err != nil {
		return RunOptions{}, invalid("is not a run options object: " + err.Error())
	}
	if dec.More() {
		return RunOptions{}, invalid("is not a run options object: data after the JSON object")
	}
	// encoding/json took "Params" for "params": the names must be exact.
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return RunOptions{}, invalid("is not a run options object: " + err.Error())
	}
	for _, k := range slices.Sorted(maps.Keys(probe)) {
		if !slices.Contains(runOptionsFields, k) {
			return RunOptions{}, invalid(fmt.Sprintf("is not a run options object: field %q is not one of %s", k, strings.Join(runOptionsFields, ", ")))
		}
	}
	if err := o.Validate(); err != nil {
		// The InvalidRequestError of the key, saying what is wrong inside.
		return RunOptions{}, invalid("holds an invalid " + strings.TrimPrefix(err.Error(), "invalid request: "))
	}
	return o, nil
}

// PairStatus is how the scan of one pair ended.
type PairStatus string

const (
	// PairOK: every check judged every candidate.
	PairOK PairStatus = "ok"
	// PairPartial: some checks or candidates could not be judged.
	PairPartial PairStatus = "partial"
	// PairFailed: nothing could be scanned (credentials, or every check failed).
	PairFailed PairStatus = "failed"
)

// PairResult is the collector's small answer for one pair (it passes through
// the state machine, so it never carries findings: those go to ChunkKey).
type PairResult struct {
	RunID       string     `json:"runId"`
	AccountID   string     `json:"accountId"`
	AccountName string     `json:"accountName,omitempty"`
	Region      string     `json:"region"`
	Status      PairStatus `json:"status"`
	Findings    int        `json:"findings"`
	ChunkKey    string     `json:"chunkKey,omitempty"`
	// Resources the pair's inventory described, written to InventoryKey.
	Resources        int                  `json:"resources"`
	InventoryKey     string               `json:"inventoryKey,omitempty"`
	Checks           []string             `json:"checks"`
	Errors           []catalog.CheckError `json:"errors,omitempty"`
	APICalls         OpCounts             `json:"apiCalls,omitempty"`
	MetricsRequested int                  `json:"metricsRequested"`
	Candidates       int                  `json:"candidates"`
	DurationMs       int64                `json:"durationMs"`
}

// Duration is the pair's scan time.
func (p PairResult) Duration() time.Duration { return time.Duration(p.DurationMs) * time.Millisecond }

// ChunkKey is where the collector writes the findings of one pair.
func ChunkKey(runID, accountID, region string) string {
	return "runs/" + runID + "/chunks/" + accountID + "/" + region + ".jsonl.gz"
}

// ResultsKey is where the collector writes a batch's full CollectOutput
// when it is too large to return (over MaxCollectOutputBytes); a batch is
// one account's regions.
func ResultsKey(runID, accountID string) string {
	return "runs/" + runID + "/results/" + accountID + ".json"
}

// gzipWriters are reused: a collector writes two objects a pair, and a new
// gzip.Writer allocates most of a megabyte of compressor state — a CPU
// profile of a 5,100-pair scan found the garbage collector chasing them.
// The objects are intermediate (the aggregator reads them once), so they
// are compressed for speed.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return zw
}}

// WriteJSONLines writes items as a gzipped JSON-lines object.
func WriteJSONLines[T any](ctx context.Context, blobs store.Blobs, key string, items []T) error {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	enc := json.NewEncoder(zw)
	for i := range items {
		if err := enc.Encode(&items[i]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return blobs.Put(ctx, key, &buf)
}

// Validate checks the item's run ID, account ID, region, role and options
// key.
func (it WorkItem) Validate() error {
	switch {
	case !runIDRe.MatchString(it.RunID):
		return &InvalidRequestError{Field: "runId", Value: it.RunID, Reason: "is not a valid run ID"}
	case !ValidAccountID(it.AccountID):
		return &InvalidRequestError{Field: "accountId", Value: it.AccountID, Reason: "is not a 12-digit AWS account ID"}
	case !ValidRegion(it.Region):
		return &InvalidRequestError{Field: "region", Value: it.Region, Reason: "is not an AWS region name"}
	}
	if it.RoleARN != "" {
		// The role scanned must be the item's account's: findings are
		// recorded under AccountID.
		m := roleARNRe.FindStringSubmatch(it.RoleARN)
		if m == nil {
			return &InvalidRequestError{Field: "roleArn", Value: it.RoleARN, Reason: "is not an IAM role ARN"}
		}
		if m[1] != it.AccountID {
			return &InvalidRequestError{Field: "roleArn", Value: it.RoleARN, Reason: "is not a role of account " + it.AccountID}
		}
	}
	if it.OptionsKey != "" && it.OptionsKey != OptionsKey(it.RunID) {
		return &InvalidRequestError{Field: "optionsKey", Value: it.OptionsKey, Reason: "is not the run's options key " + OptionsKey(it.RunID)}
	}
	return nil
}
