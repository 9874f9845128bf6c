package historytest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
)

// Env is a fresh state store and blob store for one scenario.
type Env struct {
	State store.State
	Blobs store.Blobs
}

// scenarioOrg is the simulated organization of the scenarios on a day.
func scenarioOrg(t *testing.T, day int) *sim.Org {
	t.Helper()
	o, err := sim.New(sim.Config{Seed: 37, Accounts: 6, Regions: []string{"us-east-1", "eu-west-1"}, Day: day})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// local is the local pipeline over env for org, its runs starting at the
// given time (the dispatcher's clock) and judged at the organization's.
func local(env Env, org *sim.Org, started time.Time, state store.State, n pipeline.Notifier) *pipeline.Local {
	clock := func() time.Time { return started }
	return &pipeline.Local{
		Dispatcher: &pipeline.Dispatcher{Discovery: org, Blobs: env.Blobs, Clock: clock},
		Collector:  &collect.Collector{Clients: org, Blobs: env.Blobs, Clock: org.Now, Prices: pricing.Default()},
		Aggregator: &pipeline.Aggregator{Blobs: env.Blobs, History: history.Parquet{}, State: state, Clock: clock,
			Notifier: n, NotifyMinUSD: 1},
		Concurrency: 3,
	}
}

func mustRun(t *testing.T, l *pipeline.Local, id string) pipeline.RunSummary {
	t.Helper()
	sum, err := l.Run(context.Background(), pipeline.RunRequest{RunID: id})
	if err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	return sum
}

// accountStates reads every account's findings.
func accountStates(t *testing.T, s store.State, accts []pipeline.Account) map[string][]finding.Finding {
	t.Helper()
	out := map[string][]finding.Finding{}
	for _, a := range accts {
		fs, err := s.AccountFindings(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(fs, func(x, y finding.Finding) int { return strings.Compare(x.FindingID, y.FindingID) })
		out[a.ID] = fs
	}
	return out
}

// Ordered aggregates simulated days 0, 2 and then 1 (a late run: an
// overlap of a manual run with the schedule, or a late aggregator). The
// late run must resolve and reopen nothing: afterwards every account's state
// equals that after days 0 and 2 alone, and the late run counts every
// account as stale. newEnv gives a fresh environment each call.
func Ordered(t *testing.T, newEnv func() Env) {
	t.Helper()
	day := func(d int) time.Time { return scenarioOrg(t, 0).Now().Add(time.Duration(d) * 24 * time.Hour) }
	org0, org1, org2 := scenarioOrg(t, 0), scenarioOrg(t, 1), scenarioOrg(t, 2)
	accts, _ := org0.Accounts(context.Background(), nil)

	ref := newEnv()
	mustRun(t, local(ref, org0, day(0), ref.State, nil), "day-0")
	mustRun(t, local(ref, org2, day(2), ref.State, nil), "day-2")
	want := accountStates(t, ref.State, accts)

	env := newEnv()
	mustRun(t, local(env, org0, day(0), env.State, nil), "day-0")
	s2 := mustRun(t, local(env, org2, day(2), env.State, nil), "day-2")
	if s2.New == 0 || s2.Resolved == 0 {
		t.Fatalf("day 2: new %d, resolved %d; the scenario needs both", s2.New, s2.Resolved)
	}
	late := mustRun(t, local(env, org1, day(1), env.State, nil), "day-1")
	if late.New != 0 || late.Resolved != 0 || late.StaleAccounts != len(accts) || late.StateItemsWritten != 0 {
		t.Fatalf("late day-1 run: new %d, resolved %d, stale accounts %d of %d, items written %d; want nothing merged",
			late.New, late.Resolved, late.StaleAccounts, len(accts), late.StateItemsWritten)
	}
	if len(late.Warnings) == 0 {
		t.Fatal("the late run's summary has no warning saying its accounts were not merged")
	}
	got := accountStates(t, env.State, accts)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("state after 0, 2, 1 differs from after 0, 2 (-want +got):\n%s", d)
	}
	n := 0
	for _, fs := range got {
		n += len(fs)
	}
	t.Logf("day 2: %d new, %d resolved; late day 1: %d of %d accounts refused as stale, 0 new, 0 resolved, 0 items written; %d findings equal to days 0, 2 alone",
		s2.New, s2.Resolved, late.StaleAccounts, len(accts), n)
}

// KilledState is an aggregator killed midway: its N-th PutFindings writes
// and then fails, as if the process was killed before the write was
// acknowledged, and it never releases the lease (a killed process does not
// run its deferred calls). Calls counts PutFindings.
type KilledState struct {
	store.State
	N, Calls int
}

func (k *KilledState) PutFindings(ctx context.Context, accountID string, items []finding.Finding) error {
	k.Calls++
	if err := k.State.PutFindings(ctx, accountID, items); err != nil {
		return err
	}
	if k.Calls == k.N {
		return errors.New("aggregator killed (injected)")
	}
	return nil
}

func (k *KilledState) ReleaseLease(context.Context, string) error { return nil }

// recorder keeps the events a run announces.
type recorder struct{ events []pipeline.RunEvent }

func (r *recorder) Notify(_ context.Context, ev pipeline.RunEvent) error {
	r.events = append(r.events, ev)
	return nil
}

// Resumed kills day 1's aggregation after it merged part of the
// organization (without releasing the lease), then aggregates day 1 again
// under a NEW run ID once the lease has expired. The second run must carry
// what the dead one merged: its Parquet resolved and new rows, summary
// counts and event equal those of a day 1 that was never interrupted, and
// the dead run's record says it was superseded.
func Resumed(t *testing.T, newEnv func() Env) {
	t.Helper()
	ctx := context.Background()
	org0, org1 := scenarioOrg(t, 0), scenarioOrg(t, 1)
	t0, t1 := org0.Now(), org1.Now()

	ref := newEnv()
	mustRun(t, local(ref, org0, t0, ref.State, nil), "day-0")
	refEvents := &recorder{}
	want := mustRun(t, local(ref, org1, t1, ref.State, refEvents), "day-1")

	env := newEnv()
	mustRun(t, local(env, org0, t0, env.State, nil), "day-0")
	kill := &KilledState{State: env.State, N: 3}
	if _, err := local(env, org1, t1, kill, nil).Run(ctx, pipeline.RunRequest{RunID: "day-1"}); err == nil {
		t.Fatal("the killed aggregation reported success")
	}
	if kill.Calls < kill.N {
		t.Fatalf("only %d accounts merged before the kill; the scenario needs a partly merged state", kill.Calls)
	}
	// While the dead run's lease lasts, another aggregation must wait.
	if _, err := local(env, org1, t1.Add(time.Minute), env.State, nil).Run(ctx, pipeline.RunRequest{RunID: "day-1-early"}); !isBusy(err) {
		t.Fatalf("an aggregation during the dead run's lease: %v, want an AggregationBusyError", err)
	}
	events := &recorder{}
	later := t1.Add(pipeline.AggregationLease + time.Minute)
	got := mustRun(t, local(env, org1, later, env.State, events), "day-1b")

	if got.New != want.New || got.Resolved != want.Resolved || got.Findings != want.Findings || got.Suppressed != want.Suppressed ||
		got.MonthlyCostUSD != want.MonthlyCostUSD || want.New == 0 || want.Resolved == 0 {
		t.Fatalf("carried run: new %d resolved %d findings %d suppressed %d cost %.2f; uninterrupted: new %d resolved %d findings %d suppressed %d cost %.2f",
			got.New, got.Resolved, got.Findings, got.Suppressed, got.MonthlyCostUSD, want.New, want.Resolved, want.Findings, want.Suppressed, want.MonthlyCostUSD)
	}
	if !slices.Equal(got.Carried, []string{"day-1"}) {
		t.Fatalf("carried %v, want [day-1]", got.Carried)
	}
	rec, ok, err := env.State.GetRun(ctx, "day-1")
	if err != nil || !ok || rec.Status != store.RunSuperseded || rec.CarriedBy != "day-1b" {
		t.Fatalf("dead run's record: %v %v status %q carried by %q", err, ok, rec.Status, rec.CarriedBy)
	}
	if un, err := env.State.UnfinishedRuns(ctx); err != nil || len(un) != 0 {
		t.Fatalf("unfinished runs after the carry: %v %v", un, err)
	}

	// The history rows: what each run resolved and opened.
	wantRows := rowsOf(t, ref.Blobs, want.HistoryKeys[pipeline.FindingsTable], "day-1")
	gotRows := rowsOf(t, env.Blobs, got.HistoryKeys[pipeline.FindingsTable], "day-1", "day-1b")
	if d := cmp.Diff(wantRows, gotRows); d != "" {
		t.Fatalf("Parquet rows of the carried run differ from the uninterrupted run's (-want +got):\n%s", d)
	}
	if len(wantRows.Resolved) != want.Resolved || len(wantRows.Opened) == 0 {
		t.Fatalf("uninterrupted Parquet: %d resolved rows for %d resolved, %d new rows", len(wantRows.Resolved), want.Resolved, len(wantRows.Opened))
	}

	t.Logf("killed after %d accounts merged; the new run carried %v: new %d, resolved %d, %d resolved and %d new Parquet rows, all equal to the uninterrupted run's",
		kill.Calls, got.Carried, got.New, got.Resolved, len(gotRows.Resolved), len(gotRows.Opened))
	// The event.
	if len(refEvents.events) != 1 || len(events.events) != 1 {
		t.Fatalf("events: %d and %d, want one each", len(refEvents.events), len(events.events))
	}
	we, ge := refEvents.events[0], events.events[0]
	if we.New != ge.New || we.Resolved != ge.Resolved || we.NewCostlyTotal != ge.NewCostlyTotal || we.NewCostlyTotal == 0 {
		t.Fatalf("event: new %d/%d resolved %d/%d costly %d/%d", ge.New, we.New, ge.Resolved, we.Resolved, ge.NewCostlyTotal, we.NewCostlyTotal)
	}
	ids := func(ev pipeline.RunEvent) []string {
		var out []string
		for _, f := range ev.NewCostly {
			out = append(out, f.FindingID)
		}
		return out
	}
	if d := cmp.Diff(ids(we), ids(ge)); d != "" {
		t.Fatalf("event findings differ (-want +got):\n%s", d)
	}
}

func isBusy(err error) bool {
	var busy *pipeline.AggregationBusyError
	return errors.As(err, &busy)
}

// historyRows are the IDs of a run's Parquet rows that record a change:
// findings resolved, and findings opened by the run (or by the run it
// carried).
type historyRows struct {
	Resolved, Opened []string
}

func rowsOf(t *testing.T, blobs store.Blobs, key string, opened ...string) historyRows {
	t.Helper()
	rc, err := blobs.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parquet.Read[history.FindingRow](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	var out historyRows
	for _, r := range rows {
		switch {
		case r.Status == string(finding.Resolved):
			out.Resolved = append(out.Resolved, r.FindingID)
		case r.Status == string(finding.Open) && slices.Contains(opened, r.OpenedRunID):
			out.Opened = append(out.Opened, r.FindingID)
		}
	}
	slices.Sort(out.Resolved)
	slices.Sort(out.Opened)
	return out
}
