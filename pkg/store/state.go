package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/orgscan/orgscan/pkg/finding"
)

// ResolvedRetention is how long resolved findings are kept in the latest
// state (DynamoDB TTL); Parquet history keeps them for good.
const ResolvedRetention = 90 * 24 * time.Hour

// State is the latest state of every finding, one account at a time, plus
// run records: DynamoDB in AWS, files in the data directory locally.
// Implementations are safe for concurrent use by different accounts.
type State interface {
	// AccountFindings returns every finding item of an account, resolved
	// ones included (until their retention ends).
	AccountFindings(ctx context.Context, accountID string) ([]finding.Finding, error)
	// PutFindings writes new and changed items of one account. A write that
	// cannot complete is an error; nothing is dropped silently.
	PutFindings(ctx context.Context, accountID string, items []finding.Finding) error
	// GetRun returns a run record, and false when there is none.
	GetRun(ctx context.Context, runID string) (RunRecord, bool, error)
	// PutRun writes a run record, replacing one with the same run ID. A
	// record in status RunAggregating is listed by UnfinishedRuns until a
	// record of the same run in another status replaces it.
	PutRun(ctx context.Context, rec RunRecord) error
	// Runs lists run records newest first, at most limit (0: all).
	Runs(ctx context.Context, limit int) ([]RunRecord, error)
	// UnfinishedRuns lists the records in status RunAggregating, oldest
	// first (by RunMark).
	UnfinishedRuns(ctx context.Context) ([]RunRecord, error)
	// AdvanceAccount records that run m is about to merge into the
	// account's state. It refuses (false, and the mark the state holds)
	// when the state already reflects a later run; the same mark again is
	// accepted, so a re-run of a run can finish its merge. The check and
	// the write are one atomic step.
	AdvanceAccount(ctx context.Context, accountID string, m RunMark) (ok bool, current RunMark, err error)
	// AcquireLease takes the aggregation lease for holder until the given
	// time, when the lease is free, has expired (at now) or is already
	// holder's. Otherwise it returns false with the current holder and its
	// expiry. The check and the write are one atomic step.
	AcquireLease(ctx context.Context, holder string, now, until time.Time) (ok bool, heldBy string, heldUntil time.Time, err error)
	// ReleaseLease frees the lease if holder holds it; otherwise it does
	// nothing.
	ReleaseLease(ctx context.Context, holder string) error
}

// RunStatus is where a run's aggregation stands.
type RunStatus string

const (
	// RunAggregating: the aggregator has started merging the run. A record
	// that stays in this status while no aggregator holds the lease is a
	// run whose aggregation died.
	RunAggregating RunStatus = "aggregating"
	// RunComplete: the run's state, history, summary and report are written.
	RunComplete RunStatus = "complete"
	// RunSuperseded: the run's aggregation died and a later run carried what
	// it had merged into its own history, summary and event (CarriedBy).
	RunSuperseded RunStatus = "superseded"
)

// RunMark orders runs: by start time, then by run ID. An account's state
// records the mark of the latest run merged into it.
type RunMark struct {
	RunID     string    `json:"runId"`
	StartedAt time.Time `json:"startedAt"`
}

// Before reports whether m is an earlier run than o.
func (m RunMark) Before(o RunMark) bool {
	if !m.StartedAt.Equal(o.StartedAt) {
		return m.StartedAt.Before(o.StartedAt)
	}
	return m.RunID < o.RunID
}

// String is the mark as a string whose byte order is the marks' order
// (a fixed-width UTC time, then the run ID).
func (m RunMark) String() string {
	return m.StartedAt.UTC().Format(sortableTime) + "#" + m.RunID
}

// ParseRunMark reads a mark written by String.
func ParseRunMark(s string) (RunMark, error) {
	t, id, ok := strings.Cut(s, "#")
	if !ok {
		return RunMark{}, fmt.Errorf("run mark %q has no #", s)
	}
	at, err := time.Parse(sortableTime, t)
	if err != nil {
		return RunMark{}, fmt.Errorf("run mark %q: %w", s, err)
	}
	return RunMark{RunID: id, StartedAt: at}, nil
}

// sortableTime is RFC 3339 with a fixed-width fraction: RFC3339Nano drops
// trailing zeros, so its strings do not sort in time order ("…:05Z" sorts
// after "…:05.1Z").
const sortableTime = "2006-01-02T15:04:05.000000000Z07:00"

// RunRecord is what the state keeps of a run: its status, its summary
// (JSON, opaque to the store) and the pairs that failed or were partly
// scanned.
type RunRecord struct {
	RunID     string    `json:"runId"`
	StartedAt time.Time `json:"startedAt"`
	Status    RunStatus `json:"status,omitempty"`
	// CarriedBy is the run that carried a superseded run's changes.
	CarriedBy string          `json:"carriedBy,omitempty"`
	Summary   json.RawMessage `json:"summary"`
	Problems  []PairRecord    `json:"problems,omitempty"`
}

// Mark is the record's run mark.
func (r RunRecord) Mark() RunMark { return RunMark{RunID: r.RunID, StartedAt: r.StartedAt} }

// PairRecord is one failed or partial pair of a run.
type PairRecord struct {
	AccountID string          `json:"accountId"`
	Region    string          `json:"region"`
	Status    string          `json:"status"`
	Errors    json.RawMessage `json:"errors,omitempty"`
}

// Equal reports whether two records hold the same content.
func (r RunRecord) Equal(o RunRecord) bool {
	a, err1 := json.Marshal(r)
	b, err2 := json.Marshal(o)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// LocalState keeps the state as files under Dir: state/findings/<account>.json
// (the account's items, sorted by ID) and state/runs/<runId>.json. Each write
// replaces a file atomically, through Dir: files 0600, directories 0700, no
// symbolic link below Dir followed. Resolved items past ResolvedRetention are
// dropped when their account's file is rewritten, as DynamoDB's TTL would.
type LocalState struct {
	Dir string
	Now func() time.Time // for retention; default time.Now
}

var _ State = (*LocalState)(nil)

// blobs is the data directory, not its state/ subdirectory, so that a Put
// refuses a state/ that is a symbolic link like any other link below Dir.
func (s *LocalState) blobs() Dir { return Dir{Root: s.Dir} }

// stateKey is the blob key of a file under state/.
func stateKey(key string) string { return "state/" + key }

// AccountFindings reads the account's file; no file is no findings.
func (s *LocalState) AccountFindings(ctx context.Context, accountID string) ([]finding.Finding, error) {
	var out []finding.Finding
	err := s.read(ctx, "findings/"+accountID+".json", &out)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return out, err
}

// PutFindings merges items into the account's file.
func (s *LocalState) PutFindings(ctx context.Context, accountID string, items []finding.Finding) error {
	if len(items) == 0 {
		return nil
	}
	cur, err := s.AccountFindings(ctx, accountID)
	if err != nil {
		return err
	}
	byID := make(map[string]finding.Finding, len(cur)+len(items))
	for _, f := range cur {
		byID[f.FindingID] = f
	}
	for _, f := range items {
		if f.AccountID != accountID {
			return fmt.Errorf("finding %s belongs to account %s, not %s", f.FindingID, f.AccountID, accountID)
		}
		byID[f.FindingID] = f
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	all := make([]finding.Finding, 0, len(byID))
	for _, f := range byID {
		if f.Status == finding.Resolved && f.ResolvedAt != nil && now.Sub(*f.ResolvedAt) > ResolvedRetention {
			continue
		}
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].FindingID < all[j].FindingID })
	return s.write(ctx, "findings/"+accountID+".json", all)
}

// GetRun reads a run's file.
func (s *LocalState) GetRun(ctx context.Context, runID string) (RunRecord, bool, error) {
	var r RunRecord
	err := s.read(ctx, "runs/"+runID+".json", &r)
	if errors.Is(err, ErrNotFound) {
		return RunRecord{}, false, nil
	}
	return r, err == nil, err
}

// PutRun writes a run's file.
func (s *LocalState) PutRun(ctx context.Context, rec RunRecord) error {
	return s.write(ctx, "runs/"+rec.RunID+".json", rec)
}

// Runs reads every run file, newest first.
func (s *LocalState) Runs(ctx context.Context, limit int) ([]RunRecord, error) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, "state", "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RunRecord
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || filepath.Ext(name) != ".json" || name[0] == '.' {
			continue
		}
		var r RunRecord
		if err := s.read(ctx, "runs/"+name, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.After(out[j].StartedAt)
		}
		return out[i].RunID > out[j].RunID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *LocalState) read(ctx context.Context, key string, v any) error {
	rc, err := s.blobs().Open(ctx, stateKey(key))
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("state %s: %w", key, err)
	}
	return nil
}

func (s *LocalState) write(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.blobs().Put(ctx, stateKey(key), bytes.NewReader(append(b, '\n')))
}

// UnfinishedRuns reads every run file and keeps those still aggregating.
func (s *LocalState) UnfinishedRuns(ctx context.Context) ([]RunRecord, error) {
	all, err := s.Runs(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []RunRecord
	for i := len(all) - 1; i >= 0; i-- { // Runs is newest first
		if all[i].Status == RunAggregating {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// AdvanceAccount keeps the account's mark in state/accounts/<id>.json.
// The check and the write are atomic only among the callers of one
// process that hold the aggregation lease (the aggregator takes it first).
func (s *LocalState) AdvanceAccount(ctx context.Context, accountID string, m RunMark) (bool, RunMark, error) {
	key := "accounts/" + accountID + ".json"
	var cur RunMark
	err := s.read(ctx, key, &cur)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return false, RunMark{}, err
	case m.Before(cur):
		return false, cur, nil
	}
	if err := s.write(ctx, key, m); err != nil {
		return false, RunMark{}, err
	}
	return true, m, nil
}

// localLease is the lease file's content: the holder, its expiry, and the
// process that took it.
type localLease struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
	Host   string    `json:"host,omitempty"`
	PID    int       `json:"pid,omitempty"`
}

// dead reports whether the lease was taken by a process of this host that
// no longer runs (a killed `orgscan run`): its lease need not be waited for.
func (l localLease) dead() bool {
	host, err := os.Hostname()
	return err == nil && l.PID > 0 && l.Host == host && !processAlive(l.PID)
}

// AcquireLease creates state/lease.json exclusively, or replaces it when it
// has expired, is holder's, or was taken by a process of this host that has
// died. Two processes racing to replace such a lease can both believe they
// won; the window is one file rename. The file is written like every other
// file of the data directory (mode 0600, no symbolic link followed: see Dir).
func (s *LocalState) AcquireLease(ctx context.Context, holder string, now, until time.Time) (bool, string, time.Time, error) {
	host, _ := os.Hostname()
	mine := localLease{Holder: holder, Until: until, Host: host, PID: os.Getpid()}
	b, err := json.Marshal(mine)
	if err != nil {
		return false, "", time.Time{}, err
	}
	err = s.blobs().create(stateKey("lease.json"), append(b, '\n'))
	if err == nil {
		return true, "", time.Time{}, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, "", time.Time{}, err
	}
	var cur localLease
	if err := s.read(ctx, "lease.json", &cur); err != nil && !errors.Is(err, ErrNotFound) {
		return false, "", time.Time{}, err
	}
	if cur.Holder != holder && now.Before(cur.Until) && !cur.dead() {
		return false, cur.Holder, cur.Until, nil
	}
	if err := s.write(ctx, "lease.json", mine); err != nil {
		return false, "", time.Time{}, err
	}
	return true, "", time.Time{}, nil
}

// ReleaseLease removes state/lease.json when holder holds it.
func (s *LocalState) ReleaseLease(ctx context.Context, holder string) error {
	var cur localLease
	err := s.read(ctx, "lease.json", &cur)
	if errors.Is(err, ErrNotFound) || (err == nil && cur.Holder != holder) {
		return nil
	}
	if err != nil {
		return err
	}
	err = os.Remove(filepath.Join(s.Dir, "state", "lease.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
