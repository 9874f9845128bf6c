package pipeline

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/store"
)

// ManifestKey is where the dispatcher writes a run's work items, one JSON
// object per line (the Distributed Map's ItemReader input).
func ManifestKey(runID string) string { return "runs/" + runID + "/manifest.jsonl" }

// DispatchResult is what the dispatcher returns: small, whatever the size of
// the organization (the items themselves are in the manifest). Its JSON is
// a few KiB at most, far under MaxStatePayloadBytes: Regions and Checks are
// bounded by AWS's regions and the catalogue.
type DispatchResult struct {
	RunID       string    `json:"runId"`
	ManifestKey string    `json:"manifestKey"`
	Pairs       int       `json:"pairs"`
	Accounts    int       `json:"accounts"`
	Regions     []string  `json:"regions"`
	Checks      []string  `json:"checks"`
	StartedAt   time.Time `json:"startedAt"`
	// For the state machine: the Map batches RegionCount consecutive items
	// (one account's regions, so one AssumeRole per child) and runs at most
	// MaxConcurrency children.
	RegionCount    int `json:"regionCount"`
	MaxConcurrency int `json:"maxConcurrency"`
}

// Dispatcher validates a run request, discovers accounts and regions and
// writes the run's manifest.
type Dispatcher struct {
	Discovery Discovery
	Blobs     store.Blobs
	Clock     func() time.Time
	Logger    *slog.Logger
	// DefaultRoleName is assumed in member accounts when the request names
	// no role (empty: the caller's own credentials, single-account mode).
	DefaultRoleName string
	// NewRunID makes an ID when the request has none; default is the UTC
	// start time plus 6 random hex digits (sortable, unique).
	NewRunID func(now time.Time) string
	// CollectorConcurrency is the collector function's reserved
	// concurrency (0: unreserved). The Map's MaxConcurrency is lowered to
	// it: each child invokes the collector once, and a throttled Invoke
	// would fail its batch after the Scan task's two quick retries.
	CollectorConcurrency int
	// CollectorCapacity, when the collector has no reservation, reports
	// how many collectors the account can run at once: its unreserved
	// concurrency (lambda:GetAccountSettings), which a new account may have
	// at 10. The Map's MaxConcurrency is lowered to it; an error leaves the
	// request's (logged). Nil: no cap (local runs).
	CollectorCapacity func(ctx context.Context) (int, error)
}

// Handle validates req before any discovery or write; an invalid request is
// an *InvalidRequestError and writes nothing. Requested accounts must belong
// to the organization and requested regions must be enabled in it.
func (d *Dispatcher) Handle(ctx context.Context, req RunRequest) (DispatchResult, error) {
	if err := req.Validate(); err != nil {
		return DispatchResult{}, err
	}
	now := d.Clock()
	runID := req.RunID
	if runID == "" {
		newID := d.NewRunID
		if newID == nil {
			newID = DefaultRunID
		}
		runID = newID(now)
	}
	enabled, err := d.Discovery.Regions(ctx)
	if err != nil {
		return DispatchResult{}, fmt.Errorf("discover regions: %w", err)
	}
	regions := enabled
	if len(req.Regions) > 0 {
		for _, r := range req.Regions {
			if !slices.Contains(enabled, r) {
				return DispatchResult{}, &InvalidRequestError{Field: "regions", Value: r, Reason: fmt.Sprintf("is not enabled (enabled: %v)", enabled)}
			}
		}
		regions = dedupe(req.Regions)
	}
	members, err := d.Discovery.Accounts(ctx, req.OrganizationalUnits)
	if err != nil {
		return DispatchResult{}, fmt.Errorf("discover accounts: %w", err)
	}
	accounts := members
	if len(req.Accounts) > 0 {
		byID := map[string]Account{}
		for _, a := range members {
			byID[a.ID] = a
		}
		accounts = nil
		for _, id := range dedupe(req.Accounts) {
			a, ok := byID[id]
			if !ok {
				return DispatchResult{}, &InvalidRequestError{Field: "accounts", Value: id, Reason: "is not an active account of the organization"}
			}
			accounts = append(accounts, a)
		}
	}
	accounts = slices.DeleteFunc(slices.Clone(accounts), func(a Account) bool { return slices.Contains(req.ExcludeAccounts, a.ID) })
	if len(accounts) == 0 || len(regions) == 0 {
		return DispatchResult{}, &InvalidRequestError{Field: "accounts", Reason: "the request selects no account × region pair"}
	}
	cs, _ := catalog.Select(req.Checks) // validated above
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}

	if len(regions) > MaxBatchRegions {
		return DispatchResult{}, &InvalidRequestError{Field: "regions", Value: fmt.Sprint(len(regions)),
			Reason: fmt.Sprintf("regions are more than the %d whose work items fit one Map batch of %d bytes", MaxBatchRegions, MaxBatchInputBytes)}
	}
	opts := RunOptions{Params: req.Params, Exclusions: req.Exclusions, IgnoreTag: req.IgnoreTag}
	var optionsKey string
	if !opts.Empty() {
		optionsKey = OptionsKey(runID)
	}

	// The manifest is built whole before anything is written, so a
	// refused item writes nothing.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, a := range accounts {
		for _, r := range regions {
			item := WorkItem{RunID: runID, AccountID: a.ID, AccountName: a.Name, Region: r, Checks: ids,
				LookbackDays: req.LookbackDays, OptionsKey: optionsKey}
			if role := cmp.Or(req.RoleName, d.DefaultRoleName); role != "" {
				item.RoleARN = fmt.Sprintf("arn:%s:iam::%s:role/%s", partitionOf(r), a.ID, role)
			}
			before := buf.Len()
			if err := enc.Encode(item); err != nil {
				return DispatchResult{}, err
			}
			if n := buf.Len() - before - 1; n > MaxWorkItemBytes { // -1: the newline
				return DispatchResult{}, &InvalidRequestError{Field: "accounts", Value: a.ID,
					Reason: fmt.Sprintf("makes a work item of %d bytes (region %s), over the %d that keep one account's regions within a Map batch; is its name or the role name that long?", n, r, MaxWorkItemBytes)}
			}
		}
	}
	if optionsKey != "" {
		// Before the manifest: no item may name a missing options object.
		b, err := json.Marshal(opts)
		if err != nil {
			return DispatchResult{}, err
		}
		if err := d.Blobs.Put(ctx, optionsKey, bytes.NewReader(b)); err != nil {
			return DispatchResult{}, fmt.Errorf("write run options: %w", err)
		}
	}
	key := ManifestKey(runID)
	if err := d.Blobs.Put(ctx, key, &buf); err != nil {
		return DispatchResult{}, fmt.Errorf("write manifest: %w", err)
	}
	res := DispatchResult{RunID: runID, ManifestKey: key, Pairs: len(accounts) * len(regions), Accounts: len(accounts),
		Regions: regions, Checks: ids, StartedAt: now, RegionCount: len(regions),
		MaxConcurrency: d.maxConcurrency(ctx, req, runID)}
	d.logger().Info("dispatched", "run_id", runID, "accounts", res.Accounts, "regions", len(regions), "pairs", res.Pairs,
		"max_concurrency", res.MaxConcurrency, "options_key", optionsKey)
	return res, nil
}

// maxConcurrency is the request's (or the default) Map concurrency, at most
// the collector's reserved concurrency, or without one at most what the
// account's unreserved pool can run.
func (d *Dispatcher) maxConcurrency(ctx context.Context, req RunRequest, runID string) int {
	n := cmp.Or(req.MaxConcurrency, DefaultMaxConcurrency)
	limit, why := d.CollectorConcurrency, "the collector's reserved concurrency"
	if limit <= 0 && d.CollectorCapacity != nil {
		c, err := d.CollectorCapacity(ctx)
		if err != nil {
			d.logger().Warn("cannot read the account's unreserved Lambda concurrency; maxConcurrency left as requested", "run_id", runID,
				"max_concurrency", n, "error", err.Error())
			return n
		}
		limit, why = c, "the account's unreserved Lambda concurrency"
	}
	if limit <= 0 || n <= limit {
		return n
	}
	d.logger().Info("maxConcurrency lowered to "+why, "run_id", runID,
		"requested", n, "from_request", req.MaxConcurrency != 0, "limit", limit)
	return limit
}

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// DefaultRunID names a run by its UTC start time and a random suffix.
func DefaultRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// ReadManifest streams the work items of a manifest to fn, one at a time;
// the manifest is never held in memory whole. A malformed line is an
// *InvalidRequestError naming its line number.
func ReadManifest(ctx context.Context, blobs store.Blobs, key string, fn func(WorkItem) error) error {
	rc, err := blobs.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	return decodeLines(rc, func(line int, b []byte) error {
		var item WorkItem
		if err := json.Unmarshal(b, &item); err != nil {
			return &InvalidRequestError{Field: fmt.Sprintf("%s line %d", key, line), Reason: err.Error()}
		}
		return fn(item)
	})
}

func decodeLines(r io.Reader, fn func(line int, b []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		if err := fn(line, sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func partitionOf(region string) string {
	switch {
	case len(region) > 3 && region[:3] == "cn-":
		return "aws-cn"
	case len(region) > 7 && region[:7] == "us-gov-":
		return "aws-us-gov"
	}
	return "aws"
}
