package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
)

// A pair that is partial on day 2 because one check failed (access denied,
// metrics unavailable, out of time) while the others ran: the failed check's
// findings stay open, untouched; the other checks' missing findings are
// resolved as usual. Without the guard in the aggregator (a partial pair's
// failed checks counted as scanned) the failed check's findings would all
// be resolved.
func TestPartialPairResolvesOnlyWhatItScanned(t *testing.T) {
	t.Parallel()
	const (
		acct, region       = "111111111111", "us-east-1"
		failing, succeeded = "ec2-idle-instance", "ebs-unattached-volume"
	)
	for _, code := range []string{"AccessDenied", "MetricsUnavailable", "DeadlineExceeded"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx := context.Background()
			blobs, state := store.Dir{Root: dir}, &store.LocalState{Dir: dir}
			day0 := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
			mk := func(check, res string) finding.Finding {
				return finding.Finding{FindingID: finding.ID(check, acct, region, res), CheckID: check, Category: finding.Idle,
					AccountID: acct, Region: region, Service: "ec2", ResourceID: res, FirstSeen: day0, LastSeen: day0, Status: finding.Open}
			}
			aggregate := func(run string, at time.Time, status pipeline.PairStatus, errs []catalog.CheckError, fs ...finding.Finding) pipeline.RunSummary {
				t.Helper()
				p := pipeline.PairResult{RunID: run, AccountID: acct, Region: region, Status: status, Checks: []string{failing, succeeded},
					Errors: errs, Findings: len(fs)}
				if len(fs) > 0 {
					for i := range fs {
						fs[i].RunID, fs[i].LastSeen = run, at
					}
					p.ChunkKey = pipeline.ChunkKey(run, acct, region)
					if err := pipeline.WriteJSONLines(ctx, blobs, p.ChunkKey, fs); err != nil {
						t.Fatal(err)
					}
				}
				agg := &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: state, Clock: func() time.Time { return at }}
				sum, err := agg.Handle(ctx, pipeline.AggregateRequest{RunID: run, StartedAt: at, Pairs: []pipeline.PairResult{p}})
				if err != nil {
					t.Fatal(err)
				}
				return sum
			}
			aggregate("day-0", day0, pipeline.PairOK, nil, mk(failing, "i-1"), mk(failing, "i-2"), mk(succeeded, "vol-1"), mk(succeeded, "vol-2"))
			// Day 2: vol-1 is gone; the failing check reported nothing.
			day2 := day0.Add(48 * time.Hour)
			sum := aggregate("day-2", day2, pipeline.PairPartial,
				[]catalog.CheckError{{Check: failing, Code: code, Message: "injected", Count: 1}}, mk(succeeded, "vol-2"))
			if sum.Resolved != 1 || sum.PairsPartial != 1 {
				t.Fatalf("day 2: resolved %d, partial pairs %d; want vol-1 alone resolved", sum.Resolved, sum.PairsPartial)
			}
			items, err := state.AccountFindings(ctx, acct)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range items {
				want := finding.Open
				if f.ResourceID == "vol-1" {
					want = finding.Resolved
				}
				if f.Status != want {
					t.Errorf("%s (%s): %s, want %s", f.ResourceID, f.CheckID, f.Status, want)
				}
				if f.CheckID == failing && !f.LastSeen.Equal(day0) {
					t.Errorf("%s: lastSeen %s, want day 0's (the failed check did not see it)", f.ResourceID, f.LastSeen)
				}
			}
			if len(items) != 4 {
				t.Fatalf("%d items in state, want 4", len(items))
			}
		})
	}
}

// The same through the simulator: on day 2 one account's GetMetricData is
// denied, so every metric-based check fails there while the describe-only
// checks run. The metric checks' day-0 findings of that account all stay
// open; the describe-only checks' findings that disappeared are resolved.
func TestDeniedMetricsKeepTheirFindingsOpen(t *testing.T) {
	t.Parallel()
	day0 := mustSim(t, sim.Config{Seed: 12, Accounts: 3, Regions: []string{"us-east-1"}})
	accts, _ := day0.Accounts(context.Background(), nil)
	victim := accts[1].ID
	day2 := mustSim(t, sim.Config{Seed: 12, Accounts: 3, Regions: []string{"us-east-1"}, Day: 10,
		DenyOperations: []string{victim + "/cloudwatch:GetMetricData"}})
	dir := t.TempDir()
	run := func(org *sim.Org, id string) pipeline.RunSummary {
		l := newLocal(t, org, dir, 2)
		l.Dispatcher.Clock, l.Aggregator.Clock = org.Now, org.Now
		sum, err := l.Run(context.Background(), pipeline.RunRequest{RunID: id})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	run(day0, "day-0")
	before, _ := (&store.LocalState{Dir: dir}).AccountFindings(context.Background(), victim)
	s2 := run(day2, "day-2")
	if s2.PairsPartial == 0 {
		t.Fatal("day 2: no partial pair; the denied GetMetricData did not fail any check")
	}
	after, _ := (&store.LocalState{Dir: dir}).AccountFindings(context.Background(), victim)
	status := map[string]finding.Status{}
	for _, f := range after {
		status[f.FindingID] = f.Status
	}
	failed := map[string]bool{} // the checks the victim's pair could not run
	for _, p := range s2.Problems {
		for _, e := range p.Errors {
			if p.AccountID == victim {
				failed[e.Check] = true
			}
		}
	}
	if len(failed) == 0 || failed[""] {
		t.Fatalf("victim's pair errors %v: want per-check errors", failed)
	}
	keptOpen, resolved := 0, 0
	for _, f := range before {
		switch {
		case failed[f.CheckID] && status[f.FindingID] != f.Status:
			t.Errorf("%s (%s): %s on day 0, %s after a day its check could not judge", f.ResourceID, f.CheckID, f.Status, status[f.FindingID])
		case failed[f.CheckID]:
			keptOpen++
		case status[f.FindingID] == finding.Resolved:
			resolved++
		}
	}
	if keptOpen == 0 || resolved == 0 {
		t.Fatalf("victim account: %d findings of failed checks kept, %d of other checks findings resolved; the test needs both", keptOpen, resolved)
	}
}
