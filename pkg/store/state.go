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
	// PutRun writes a run record, replacing one with the same run ID.
	PutRun(ctx context.Context, rec RunRecord) error
	// Runs lists run records newest first, at most limit (0: all).
	Runs(ctx context.Context, limit int) ([]RunRecord, error)
}

// RunRecord is what the state keeps of a run: its summary (JSON, opaque to
// the store) and the pairs that failed or were partly scanned.
type RunRecord struct {
	RunID     string          `json:"runId"`
	StartedAt time.Time       `json:"startedAt"`
	Summary   json.RawMessage `json:"summary"`
	Problems  []PairRecord    `json:"problems,omitempty"`
}

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
// replaces a file atomically. Resolved items past ResolvedRetention are
// dropped when their account's file is rewritten, as DynamoDB's TTL would.
type LocalState struct {
	Dir string
	Now func() time.Time // for retention; default time.Now
}

var _ State = (*LocalState)(nil)

func (s *LocalState) blobs() Dir { return Dir{Root: filepath.Join(s.Dir, "state")} }

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
	rc, err := s.blobs().Open(ctx, key)
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
	return s.blobs().Put(ctx, key, bytes.NewReader(append(b, '\n')))
}
