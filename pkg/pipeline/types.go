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
	// MaxConcurrency bounds the Distributed Map's child executions
	// (default DefaultMaxConcurrency); ToleratedFailurePercentage is the
	// share of failed batches the Map tolerates (default
	// DefaultToleratedFailurePercentage). Only the state machine reads them.
	MaxConcurrency             int  `json:"maxConcurrency,omitempty"`
	ToleratedFailurePercentage *int `json:"toleratedFailurePercentage,omitempty"`
}

// Distributed Map defaults.
const (
	DefaultMaxConcurrency             = 40
	DefaultToleratedFailurePercentage = 10
)

// WorkItem is one account × region to scan: one line of the run manifest.
type WorkItem struct {
	RunID       string   `json:"runId"`
	AccountID   string   `json:"accountId"`
	AccountName string   `json:"accountName,omitempty"`
	Region      string   `json:"region"`
	RoleARN     string   `json:"roleArn,omitempty"`
	Checks      []string `json:"checks"`
	// LookbackDays and Params carry the request's overrides to the collector.
	LookbackDays int                           `json:"lookbackDays,omitempty"`
	Params       map[string]map[string]float64 `json:"params,omitempty"`
	Exclusions   []finding.Exclusion           `json:"exclusions,omitempty"`
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

// Validate checks the item's run ID, account ID and region.
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
	for i, e := range it.Exclusions {
		if err := e.Validate(); err != nil {
			return exclusionError(i, err)
		}
	}
	return nil
}
