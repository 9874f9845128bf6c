package finding

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"
)

// Scanned reports whether this run looked at a region × check of the
// account being merged: the pair was scanned and that check ran without
// error. Only what was looked at can be resolved.
type Scanned func(region, checkID string) bool

// MergeStats counts what a merge decided.
type MergeStats struct {
	// New findings were opened by this run; Resolved findings were resolved
	// by it. Both are read from the merged state, so merging the same run
	// twice reports the same numbers.
	New, Resolved int
	// Unchanged open findings were seen again with nothing to write.
	Unchanged int
}

// Merge folds one account's findings of a run into that account's previous
// state and returns the items that must be written (new or changed) and the
// account's state as this run knows it: the current findings as seen now,
// then the findings no longer seen, sorted by ID. It never writes an item that did
// not change, so merging the same run again returns no changes.
//
//   - A current finding keeps the firstSeen of its earlier sightings; it is
//     new (OpenedRunID = runID) when it was not open before.
//   - A previous open finding absent from the run is resolved only when the
//     run scanned its region × check (scanned); otherwise it stays open.
//   - A finding whose lifecycle did not change is not rewritten: only a
//     change of status, cost, category, names, ARN or tags is written. Its
//     stored runId, lastSeen, reason and evidence are those of the run that
//     last changed it (the numbers of every run are in the Parquet history),
//     so a daily scan of a stable estate writes almost nothing.
func Merge(runID string, at time.Time, prev, cur []Finding, scanned Scanned) (changed, state []Finding, st MergeStats) {
	before := make(map[string]Finding, len(prev))
	for _, p := range prev {
		before[p.FindingID] = p
	}
	seen := make(map[string]bool, len(cur))
	for _, f := range cur {
		seen[f.FindingID] = true
		p, existed := before[f.FindingID]
		switch {
		case existed && p.Status != Resolved:
			f.FirstSeen, f.OpenedRunID = p.FirstSeen, p.OpenedRunID
		case existed: // reopened: the same waste is back
			f.FirstSeen, f.OpenedRunID = p.FirstSeen, runID
		default:
			f.OpenedRunID = runID
		}
		f.ResolvedRunID, f.ResolvedAt = "", nil
		f.RunID = runID
		if existed && sameContent(p, f) {
			st.Unchanged++
		} else {
			changed = append(changed, f)
		}
		state = append(state, f)
		if f.OpenedRunID == runID && f.Status != Suppressed {
			st.New++
		}
	}
	var gone []Finding
	for _, p := range prev {
		if seen[p.FindingID] {
			continue
		}
		if p.Status != Resolved && scanned(p.Region, p.CheckID) {
			r := p
			r.Status, r.RunID, r.LastSeen = Resolved, runID, p.LastSeen
			t := at
			r.ResolvedRunID, r.ResolvedAt = runID, &t
			changed = append(changed, r)
			p = r
		}
		gone = append(gone, p)
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].FindingID < gone[j].FindingID })
	for _, p := range gone {
		if p.Status == Resolved && p.ResolvedRunID == runID {
			st.Resolved++
		}
	}
	state = append(state, gone...)
	return changed, state, st
}

// sameContent compares two versions of a finding, ignoring the fields that
// say which run wrote it and the per-run measurements (reason, evidence).
func sameContent(a, b Finding) bool {
	a.RunID, b.RunID = "", ""
	a.LastSeen, b.LastSeen = time.Time{}, time.Time{}
	a.Reason, b.Reason = "", ""
	a.Evidence, b.Evidence = nil, nil
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
