package finding

import (
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(24 * time.Hour)
	mk := func(id, region, check string, cost float64, seen time.Time) Finding {
		return Finding{FindingID: id, CheckID: check, AccountID: "111111111111", Region: region, ResourceID: "r-" + id,
			Reason: "r at " + seen.String(), Evidence: map[string]float64{"x": float64(seen.Day())}, MonthlyCostUSD: Cost(cost),
			Status: Open, FirstSeen: seen, LastSeen: seen}
	}
	// Run 1 opens a, b, c, d.
	cur1 := []Finding{mk("a", "us-east-1", "c1", 10, t0), mk("b", "us-east-1", "c2", 5, t0), mk("c", "eu-west-1", "c1", 1, t0), mk("d", "us-east-1", "c1", 2, t0)}
	changed, state1, st := Merge("run1", t0, nil, cur1, func(string, string) bool { return true })
	if len(changed) != 4 || st.New != 4 || st.Resolved != 0 || len(state1) != 4 {
		t.Fatalf("run1: changed %d stats %+v", len(changed), st)
	}
	for _, f := range changed {
		if f.OpenedRunID != "run1" || f.RunID != "run1" {
			t.Fatalf("run1 item %+v", f)
		}
	}
	// Run 2: a unchanged but re-measured (reason, evidence differ); b's cost
	// changed; c gone but eu-west-1 was not scanned; d gone and scanned; e new.
	cur2 := []Finding{mk("a", "us-east-1", "c1", 10, t1), mk("b", "us-east-1", "c2", 7, t1), mk("e", "us-east-1", "c2", 3, t1)}
	scanned := func(region, check string) bool { return region == "us-east-1" }
	changed, state2, st := Merge("run2", t1, changed, cur2, scanned)
	byID := map[string]Finding{}
	for _, f := range changed {
		byID[f.FindingID] = f
	}
	if _, ok := byID["a"]; ok {
		t.Fatal("a only got new measurements: it must not be rewritten")
	}
	if b := byID["b"]; b.OpenedRunID != "run1" || !b.FirstSeen.Equal(t0) || *b.MonthlyCostUSD != 7 || b.RunID != "run2" {
		t.Fatalf("b %+v", b)
	}
	if _, ok := byID["c"]; ok {
		t.Fatal("c was not scanned: it must stay as it was")
	}
	if d := byID["d"]; d.Status != Resolved || d.ResolvedRunID != "run2" || d.ResolvedAt == nil || !d.ResolvedAt.Equal(t1) {
		t.Fatalf("d %+v", d)
	}
	if e := byID["e"]; e.OpenedRunID != "run2" || e.Status != Open {
		t.Fatalf("e %+v", e)
	}
	if len(changed) != 3 || st.New != 1 || st.Resolved != 1 || st.Unchanged != 1 || len(state2) != 5 {
		t.Fatalf("run2: changed %d stats %+v state %d", len(changed), st, len(state2))
	}
	// The current findings in the state are as this run saw them.
	if state2[0].FindingID != "a" || state2[0].Reason != cur2[0].Reason || state2[0].RunID != "run2" {
		t.Fatalf("state[0] %+v", state2[0])
	}

	// Merging run 2 again onto its own result changes nothing and reports the
	// same counts.
	full := map[string]Finding{}
	for _, f := range state1 {
		full[f.FindingID] = f
	}
	for _, f := range changed {
		full[f.FindingID] = f
	}
	var stored []Finding
	for _, f := range full {
		stored = append(stored, f)
	}
	again, _, st2 := Merge("run2", t1, stored, cur2, scanned)
	if len(again) != 0 || st2.New != 1 || st2.Resolved != 1 {
		t.Fatalf("re-merge: %d changed, stats %+v", len(again), st2)
	}

	// Run 3: d comes back: reopened, firstSeen kept.
	var after []Finding
	for _, f := range full {
		after = append(after, f)
	}
	t2 := t1.Add(24 * time.Hour)
	changed, _, st = Merge("run3", t2, after, []Finding{mk("d", "us-east-1", "c1", 2, t2)}, scanned)
	var d Finding
	for _, f := range changed {
		if f.FindingID == "d" {
			d = f
		}
	}
	if d.Status != Open || d.OpenedRunID != "run3" || !d.FirstSeen.Equal(t0) || d.ResolvedAt != nil || st.New != 1 {
		t.Fatalf("reopened d %+v stats %+v", d, st)
	}
}
