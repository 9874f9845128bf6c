// Package collect is the collector: it scans account × region pairs with
// the checks and writes each pair's findings. It is the only pipeline
// package that links the checks and the scan services' SDK clients, so the
// dispatcher and aggregator functions stay small.
package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orgscan/orgscan/pkg/pipeline"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/store"
)

// DefaultDeadlineMargin is kept free before the invocation deadline to write
// the pair's findings and return.
const DefaultDeadlineMargin = pipeline.DefaultDeadlineMargin

// ClientFactory is the seam between real AWS (assume role, regional
// clients) and the simulator: it returns the API clients of a work item's
// account and region (assuming item.RoleARN when set). An error fails that
// pair only. Implementations must be safe for concurrent use.
type ClientFactory interface {
	Clients(ctx context.Context, item pipeline.WorkItem) (checks.Clients, error)
}

// Collector scans account × region pairs: it reads the run's options
// (pipeline.RunOptions, once per key), gets the pair's clients, runs the
// checks (checks.Scan), writes the findings chunk and returns a small
// pipeline.PairResult per pair. Its methods are safe for concurrent use; a
// Collector must not be copied after first use.
type Collector struct {
	Clients ClientFactory
	Blobs   store.Blobs
	Clock   func() time.Time // the present for windows, ages and timestamps
	Prices  *pricing.Table
	Logger  *slog.Logger
	// Concurrency bounds the pairs of one Handle call scanned at once
	// (default 4).
	Concurrency int
	// DeadlineMargin: when ctx has a deadline, checks stop starting this long
	// before it so the pair can still be saved as partial.
	DeadlineMargin time.Duration

	// options caches the run options objects the items name.
	options optionsCache
}

// optionsCache holds the run options of the keys read so far: a batch's
// pairs share one object, and a warm function sees the next runs'. Each key
// is read once however many pairs ask at the same time (the others wait
// for that read); an object that is missing or invalid is remembered too
// (retrying cannot help), a read that failed otherwise is not.
type optionsCache struct {
	mu      sync.Mutex
	entries map[string]*optionsEntry
}

// optionsEntry is one key's read; done is closed when opts and err are set.
type optionsEntry struct {
	done chan struct{}
	opts pipeline.RunOptions
	err  error
}

// maxCachedOptions bounds the cache: runs are hours apart and a warm
// function serves one run at a time.
const maxCachedOptions = 8

func (c *optionsCache) get(ctx context.Context, blobs store.Blobs, key string) (pipeline.RunOptions, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	if ok {
		c.mu.Unlock()
		select {
		case <-e.done:
			return e.opts, e.err
		case <-ctx.Done():
			return pipeline.RunOptions{}, ctx.Err()
		}
	}
	if c.entries == nil || len(c.entries) >= maxCachedOptions {
		c.entries = map[string]*optionsEntry{}
	}
	e = &optionsEntry{done: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()
	defer close(e.done)
	e.opts, e.err = pipeline.ReadRunOptions(ctx, blobs, key)
	var ir *pipeline.InvalidRequestError
	if e.err != nil && !errors.As(e.err, &ir) {
		// Transient: the pairs waiting now share this failure, the next
		// ones read again.
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return e.opts, e.err
}

// runOptions returns the run options the item names (none when it names
// none).
func (c *Collector) runOptions(ctx context.Context, item pipeline.WorkItem) (pipeline.RunOptions, error) {
	if item.OptionsKey == "" {
		return pipeline.RunOptions{}, nil
	}
	return c.options.get(ctx, c.Blobs, item.OptionsKey)
}

// Handle scans a batch of items (in AWS, one account's regions) and returns
// one result per item, in order. A pair's failure is its result's status,
// never an error of the batch: Handle returns an error only when ctx ends
// before it could start.
func (c *Collector) Handle(ctx context.Context, items []pipeline.WorkItem) ([]pipeline.PairResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]pipeline.PairResult, len(items))
	g := new(errgroup.Group)
	n := c.Concurrency
	if n <= 0 {
		n = 4
	}
	g.SetLimit(n)
	for i, it := range items {
		g.Go(func() error {
			out[i] = c.Scan(ctx, it)
			return nil
		})
	}
	_ = g.Wait()
	return out, nil
}

// Scan scans one pair. It never panics and never returns an error: what
// went wrong is in the result's Status and Errors.
func (c *Collector) Scan(ctx context.Context, item pipeline.WorkItem) (res pipeline.PairResult) {
	start := time.Now()
	res = pipeline.PairResult{RunID: item.RunID, AccountID: item.AccountID, AccountName: item.AccountName, Region: item.Region, Checks: catalog.Shared(item.Checks)}
	log := c.logger().With("run_id", item.RunID, "account_id", item.AccountID, "region", item.Region)
	defer func() {
		if r := recover(); r != nil {
			log.Error("collector panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res.Status = pipeline.PairFailed
			res.Errors = append(res.Errors, checks.CheckError{Code: "Panic", Message: fmt.Sprint(r), Count: 1})
		}
		// AWS's messages are unbounded; the batch's results must stay
		// under MaxCollectOutputBytes.
		for i := range res.Errors {
			res.Errors[i].Message = pipeline.CapMessage(res.Errors[i].Message)
		}
		res.DurationMs = time.Since(start).Milliseconds()
	}()
	fail := func(code string, err error) pipeline.PairResult {
		res.Status = pipeline.PairFailed
		res.Errors = append(res.Errors, checks.CheckError{Code: code, Message: checks.Message(err), Count: 1})
		log.Warn("pair failed", "code", code, "error", err.Error())
		return res
	}
	if err := item.Validate(); err != nil {
		return fail("InvalidRequestError", err)
	}
	cs, err := checks.Select(item.Checks)
	if err != nil {
		return fail("InvalidRequestError", err)
	}
	opts, err := c.runOptions(ctx, item)
	var ir *pipeline.InvalidRequestError
	switch {
	case errors.As(err, &ir):
		return fail("InvalidRequestError", err)
	case err != nil:
		// Not the account's AWS error code: an S3 failure must not read
		// as the account denying access (pipeline.AccountAccessError).
		return fail("RunOptionsUnreadable", err)
	}
	cfgs, err := checks.Configure(cs, opts.Params, item.LookbackDays)
	if err != nil {
		return fail("InvalidRequestError", err)
	}
	clients, err := c.Clients.Clients(ctx, item)
	if err != nil {
		return fail(checks.Code(err), err)
	}

	scanCtx := ctx
	if dl, ok := ctx.Deadline(); ok {
		margin := c.DeadlineMargin
		if margin == 0 {
			margin = DefaultDeadlineMargin
		}
		var cancel context.CancelFunc
		scanCtx, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	now := c.Clock()
	sr := checks.Scan(scanCtx, checks.ScanInput{AccountID: item.AccountID, Region: item.Region, Now: now,
		Clients: clients, Checks: cfgs, Prices: c.Prices})
	res.APICalls = pipeline.CountsOf(sr.Calls)
	res.MetricsRequested = sr.Metrics.Queries
	res.Candidates = sr.Candidates
	res.Errors = sr.Errors

	byID := map[string]checks.Check{}
	for _, ch := range cs {
		byID[ch.ID] = ch
	}
	fs := make([]finding.Finding, 0, len(sr.Judged))
	for _, j := range sr.Judged {
		ch := byID[j.CheckID]
		fs = append(fs, finding.Finding{
			FindingID: finding.ID(j.CheckID, item.AccountID, item.Region, j.Resource.ID),
			RunID:     item.RunID, CheckID: j.CheckID, Category: ch.Category,
			AccountID: item.AccountID, AccountName: item.AccountName, Region: item.Region,
			Service: ch.Service, ResourceType: j.Resource.Type, ResourceID: j.Resource.ID, ResourceARN: j.Resource.ARN,
			Reason: j.Verdict.Reason, Evidence: j.Verdict.Evidence, MonthlyCostUSD: j.Verdict.MonthlyCostUSD,
			Tags: j.Resource.Tags, FirstSeen: now, LastSeen: now, Status: finding.Open,
		})
		finding.Suppress(&fs[len(fs)-1], opts.Exclusions, opts.TagPolicy())
	}
	if len(fs) > 0 {
		key := pipeline.ChunkKey(item.RunID, item.AccountID, item.Region)
		if err := pipeline.WriteJSONLines(ctx, c.Blobs, key, fs); err != nil {
			// The findings are not saved: the pair must not look scanned.
			return fail("ChunkWriteFailed", err)
		}
		res.ChunkKey = key
		res.Findings = len(fs)
	}
	if len(sr.Records) > 0 {
		recs := make([]pipeline.InventoryRecord, len(sr.Records))
		for i, r := range sr.Records {
			recs[i] = pipeline.InventoryRecord{RunID: item.RunID, AccountID: item.AccountID, AccountName: item.AccountName, Region: item.Region,
				ResourceType: r.Type, ResourceID: r.ID, ResourceARN: r.ARN, Name: r.Name, State: r.State, Tags: r.Tags}
			if !r.Created.IsZero() {
				t := r.Created.UTC()
				recs[i].CreatedAt = &t
			}
		}
		key := pipeline.InventoryKey(item.RunID, item.AccountID, item.Region)
		if err := pipeline.WriteJSONLines(ctx, c.Blobs, key, recs); err != nil {
			return fail("ChunkWriteFailed", err)
		}
		res.InventoryKey, res.Resources = key, len(recs)
	}
	switch {
	case len(cfgs) > 0 && sr.Selected == 0:
		res.Status = pipeline.PairFailed
	case len(sr.Errors) > 0:
		res.Status = pipeline.PairPartial
	default:
		res.Status = pipeline.PairOK
	}
	log.Debug("pair scanned", "status", res.Status, "findings", res.Findings, "metrics", res.MetricsRequested)
	return res
}

func (c *Collector) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}
