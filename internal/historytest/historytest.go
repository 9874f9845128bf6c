// Package historytest is a scenario shared by the state stores' tests: two
// simulated days, one account denied on the second, and a re-run of the
// aggregation. It runs against any store.State and store.Blobs.
package historytest

import (
	"context"
	"testing"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
)

// live is a finding the latest state holds as current: open, or
// suppressed by a tag or an exclusion.
func live(f finding.Finding) bool { return f.Status == finding.Open || f.Status == finding.Suppressed }

// Run runs day 0 then day 1 of a simulated organization, with one
// account denied on day 1, against any state store, and checks every
// finding's state, the summary counts, and that re-aggregating day 1 writes
// nothing and changes nothing.
func Run(t *testing.T, state store.State, blobs store.Blobs, readState func() []byte, itemsWritten func() int64) {
	t.Helper()
	ctx := context.Background()
	day0, _ := sim.New(sim.Config{Seed: 31, Accounts: 5, Regions: []string{"us-east-1", "eu-west-1"}})
	accts, _ := day0.Accounts(ctx, nil)
	denied := accts[3].ID
	day1, _ := sim.New(sim.Config{Seed: 31, Accounts: 5, Regions: []string{"us-east-1", "eu-west-1"}, Day: 1, DenyAccounts: []string{denied}})
	run := func(org *sim.Org, id string) (pipeline.RunSummary, []pipeline.PairResult) {
		var results []pipeline.PairResult
		l := &pipeline.Local{
			Dispatcher:  &pipeline.Dispatcher{Discovery: org, Blobs: blobs, Clock: org.Now},
			Collector:   &collect.Collector{Clients: org, Blobs: blobs, Clock: org.Now, Prices: pricing.Default()},
			Aggregator:  &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: state, Clock: org.Now},
			Concurrency: 3,
			Progress:    func(_, _ int, r pipeline.PairResult) { results = append(results, r) },
		}
		sum, err := l.Run(ctx, pipeline.RunRequest{RunID: id})
		if err != nil {
			t.Fatal(err)
		}
		return sum, results
	}
	s0, _ := run(day0, "day-0")
	if s0.New != s0.Findings || s0.Resolved != 0 || s0.StateItemsWritten != s0.Findings+s0.Suppressed {
		t.Fatalf("day 0: %d findings, %d new, %d resolved, %d written", s0.Findings, s0.New, s0.Resolved, s0.StateItemsWritten)
	}
	s1, pairs1 := run(day1, "day-1")

	truth := func(org *sim.Org, acct string) map[string]bool {
		m := map[string]bool{}
		for _, r := range org.Config().Regions {
			for _, e := range org.Truth(acct, r) {
				m[finding.ID(e.CheckID, acct, r, e.ResourceID)] = true
			}
		}
		return m
	}
	var wantNew, wantResolved int
	for _, a := range accts {
		t0, t1 := truth(day0, a.ID), truth(day1, a.ID)
		got := map[string]finding.Finding{}
		items, err := state.AccountFindings(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range items {
			got[f.FindingID] = f
		}
		for id := range t0 {
			f, ok := got[id]
			switch {
			case !ok:
				t.Fatalf("%s: day-0 finding %s lost", a.ID, id)
			case a.ID == denied && !live(f):
				t.Fatalf("denied account %s: finding %s is %s; a failed scan must leave it open", a.ID, id, f.Status)
			case a.ID == denied:
			case t1[id] && (!live(f) || f.OpenedRunID != "day-0" || !f.FirstSeen.Equal(day0.Now())):
				t.Fatalf("unchanged finding %s: %+v", id, f)
			case !t1[id] && (f.Status != finding.Resolved || f.ResolvedRunID != "day-1" || f.ResolvedAt == nil):
				t.Fatalf("finding %s gone on day 1 is not resolved: %+v", id, f)
			}
			if a.ID != denied && !t1[id] {
				wantResolved++
			}
		}
		for id := range t1 {
			if a.ID == denied {
				continue
			}
			if t0[id] {
				continue
			}
			f, ok := got[id]
			if !ok || !live(f) || f.OpenedRunID != "day-1" || !f.FirstSeen.Equal(day1.Now()) {
				t.Fatalf("new finding %s: %+v (found %v)", id, f, ok)
			}
			if f.Status == finding.Open { // suppressed ones are not counted new
				wantNew++
			}
		}
		if len(got) != len(t0)+func() int {
			n := 0
			for id := range t1 {
				if !t0[id] && a.ID != denied {
					n++
				}
			}
			return n
		}() {
			t.Fatalf("%s: %d items in state, want day-0 ∪ day-1 findings", a.ID, len(got))
		}
	}
	if s1.New != wantNew || s1.Resolved != wantResolved || wantNew == 0 || wantResolved == 0 {
		t.Fatalf("day 1: new %d resolved %d, want %d and %d", s1.New, s1.Resolved, wantNew, wantResolved)
	}
	if s1.PairsFailed != 2 {
		t.Fatalf("day 1: %d failed pairs, want the denied account's 2", s1.PairsFailed)
	}

	// A Step Functions retry of the aggregator: same input, nothing written,
	// same state, same counts.
	before := readState()
	var writtenBefore int64
	if itemsWritten != nil {
		writtenBefore = itemsWritten()
	}
	agg := &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: state, Clock: day1.Now}
	again, err := agg.Handle(ctx, pipeline.AggregateRequest{RunID: "day-1", StartedAt: s1.StartedAt, Pairs: pairs1})
	if err != nil {
		t.Fatal(err)
	}
	if again.StateItemsWritten != 0 || again.New != s1.New || again.Resolved != s1.Resolved || again.Findings != s1.Findings {
		t.Fatalf("re-run: wrote %d items, new %d resolved %d findings %d", again.StateItemsWritten, again.New, again.Resolved, again.Findings)
	}
	if string(readState()) != string(before) {
		t.Fatal("re-running the aggregation changed the state")
	}
	if itemsWritten != nil && itemsWritten() != writtenBefore {
		t.Fatalf("re-running the aggregation wrote %d items to the state store", itemsWritten()-writtenBefore)
	}
}
