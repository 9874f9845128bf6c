package pipeline

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	pathpkg "path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/store"
)

// FindingsKey and SummaryKey are where the aggregator writes a run's current
// findings (JSON lines) and its summary.
func FindingsKey(runID string) string { return "runs/" + runID + "/findings.jsonl" }
func SummaryKey(runID string) string  { return "runs/" + runID + "/summary.json" }

// PairsKey is where the aggregator writes every pair result of a run (JSON
// lines, sorted by account and region).
func PairsKey(runID string) string { return "runs/" + runID + "/pairs.jsonl" }

// Bounds of what a run record holds (its DynamoDB item is at most 400 KB:
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
// Every cap is by bytes as well as by count, and what is cut is counted in
// what remains (docs/limits.md).
const (
	// MaxSummaryProblems and MaxSummaryProblemsBytes bound the problem pairs
	// a summary lists; the rest are counted in ProblemsOmitted and are in
	// pairs.jsonl and the run's pair items.
	MaxSummaryProblems      = 100
	MaxSummaryProblemsBytes = 32 * 1024
	// MaxSummaryWarnings bounds the warnings a summary lists, each at most
	// maxWarningBytes.
	MaxSummaryWarnings = 20
	maxWarningBytes    = 512
	// MaxSummaryCarried bounds the carried runs a summary names.
	MaxSummaryCarried = 20
	// MaxPairErrorsBytes bounds one pair's errors as the run record keeps
	// them (a DynamoDB pair item); longer messages are cut.
	MaxPairErrorsBytes = 4 * 1024
	// MaxSummaryBytes is what the bounds above add up to, with margin: a
	// test holds the worst case under it.
	MaxSummaryBytes = 64 * 1024
	// AggregationLease is how long an aggregator holds the lease: longer
	// than the aggregator Lambda's 15-minute maximum run, so a lease left
	// by a killed invocation expires on its own.
	AggregationLease = 16 * time.Minute
	// tempFileAge is how old a temporary file of the data directory must
	// be before the aggregator deletes it as left over.
	tempFileAge = time.Hour
)

// AggregateRequest names a run and its pair results: given inline (the
// local runner), or as the Distributed Map's outcome (Collect).
type AggregateRequest struct {
	RunID     string       `json:"runId"`
	StartedAt time.Time    `json:"startedAt"`
	Pairs     []PairResult `json:"pairs,omitempty"`
	// Collect is the Collect state's result: where the Map's ResultWriter
	// wrote, or the Map's error when it failed (its Catch).
	Collect *MapOutcome `json:"collect,omitempty"`
}

// MapOutcome is what the state machine passes on from the Distributed Map:
// ResultWriterDetails when it completed, Error and Cause when it failed.
type MapOutcome struct {
	ResultWriter *ResultWriterRef `json:"resultWriter,omitempty"`
	Error        string           `json:"Error,omitempty"`
	Cause        string           `json:"Cause,omitempty"`
}

// ResultWriterRef is the Map's ResultWriterDetails: where its manifest is.
type ResultWriterRef struct {
	Bucket string `json:"Bucket"`
	Key    string `json:"Key"`
}

// CheckTotal is one check's share of a run's open findings.
type CheckTotal struct {
	CheckID        string  `json:"checkId"`
	Findings       int     `json:"findings"`
	MonthlyCostUSD float64 `json:"monthlyCostUsd"`
	Unpriced       int     `json:"unpriced"`
}

// PairProblem is a pair that failed or was only partly scanned.
type PairProblem struct {
	AccountID   string               `json:"accountId"`
	AccountName string               `json:"accountName,omitempty"`
	Region      string               `json:"region"`
	Status      PairStatus           `json:"status"`
	Errors      []catalog.CheckError `json:"errors"`
}

// RunSummary is a run's outcome: counts, money, what changed since the
// previous state, what failed and what the scan itself cost.
type RunSummary struct {
	RunID string `json:"runId"`
	// Status is the run record's status (complete once summarized).
	Status       store.RunStatus `json:"status"`
	StartedAt    time.Time       `json:"startedAt"`
	FinishedAt   time.Time       `json:"finishedAt"`
	DurationMs   int64           `json:"durationMs"`
	Accounts     int             `json:"accounts"`
	Regions      int             `json:"regions"`
	Pairs        int             `json:"pairs"`
	PairsOK      int             `json:"pairsOk"`
	PairsPartial int             `json:"pairsPartial"`
	PairsFailed  int             `json:"pairsFailed"`
	// Problems lists failed then partial pairs, at most MaxSummaryProblems
	// and MaxSummaryProblemsBytes; ProblemsOmitted counts the rest and
	// ProblemsMore says where they are (pairs.jsonl, PairsKey).
	Problems        []PairProblem `json:"problems,omitempty"`
	ProblemsOmitted int           `json:"problemsOmitted,omitempty"`
	ProblemsMore    string        `json:"problemsMore,omitempty"`
	// Findings are the open findings this run saw (Suppressed ones are
	// counted apart and left out of every total); New of them were opened
	// by it (or by a run whose aggregation died and which it carried);
	// Resolved findings were open before and found gone by it (or by a
	// carried run).
	Findings   int `json:"findings"`
	Suppressed int `json:"suppressed"`
	// Resources counts every resource the run's inventories described.
	Resources          int            `json:"resources"`
	New                int            `json:"new"`
	Resolved           int            `json:"resolved"`
	MonthlyCostUSD     float64        `json:"monthlyCostUsd"`
	Unpriced           int            `json:"unpriced"`
	ByCheck            []CheckTotal   `json:"byCheck"`
	APICalls           map[string]int `json:"apiCalls"`
	MetricsRequested   int            `json:"metricsRequested"`
	GetMetricDataCalls int            `json:"getMetricDataCalls"`
	// ScanCostUSD estimates what the scan cost in AWS charges (ScanCost's
	// total; ScanCost has the parts).
	ScanCostUSD float64  `json:"scanCostUsd"`
	ScanCost    ScanCost `json:"scanCost"`
	// RunFailed is true when no pair could be scanned: the state machine
	// fails the execution on it.
	RunFailed bool `json:"runFailed"`
	// Carried are runs whose aggregation died part-way: this run took the
	// changes they had merged into the state into its own history, counts
	// and event (at most MaxSummaryCarried named).
	Carried []string `json:"carried,omitempty"`
	// StaleAccounts counts accounts whose state already reflected a later
	// run: this run's findings there were not merged.
	StaleAccounts int `json:"staleAccounts,omitempty"`
	// Warnings are things that went wrong without failing the run (the run
	// event not delivered, stale accounts), at most MaxSummaryWarnings;
	// WarningsOmitted counts the rest.
	Warnings        []string `json:"warnings,omitempty"`
	WarningsOmitted int      `json:"warningsOmitted,omitempty"`
	FindingsKey     string   `json:"findingsKey"`
	// ReportKey is the run's HTML report, when one is written.
	ReportKey string `json:"reportKey,omitempty"`
	// HistoryKeys are the run's Parquet files, by table.
	HistoryKeys map[string]string `json:"historyKeys"`
	// StateItemsWritten counts the latest-state items this invocation wrote
	// (new, changed or resolved findings); an unchanged re-run writes none.
	// It describes the invocation, so it is not part of the run record.
	StateItemsWritten int `json:"stateItemsWritten"`
}

// warn adds a warning to the summary, within its bounds.
func (s *RunSummary) warn(msg string) {
	if len(s.Warnings) >= MaxSummaryWarnings {
		s.WarningsOmitted++
		return
	}
	s.Warnings = append(s.Warnings, truncateUTF8(msg, maxWarningBytes))
}

// Aggregator merges a run's pair results and findings chunks into the latest
// state, the run's history files and its summary.
type Aggregator struct {
	Blobs   store.Blobs
	State   store.State
	History HistoryFormat
	// Reporter, when set, renders the run's report to ReportKey.
	Reporter Reporter
	// Notifier, when set, announces the run; NotifyMinUSD is the monthly
	// cost from which a new finding is named in the announcement. Failing
	// to announce is a warning, not a failed run.
	Notifier     Notifier
	NotifyMinUSD float64
	Clock        func() time.Time
	Logger       *slog.Logger
}

// Handle aggregates a run, one account at a time (one account's findings in
// memory at once).
//
// It takes the aggregation lease first (another live aggregation is an
// *AggregationBusyError, which the state machine retries), and writes the
// run record in status aggregating. Runs whose aggregation died before
// completing (still aggregating, older than this one) are carried: the new
// and resolved findings they merged into the state count as this run's, in
// its history rows, summary, report and event, and they are marked
// superseded.
//
// For each account it advances the account's run mark, refusing to merge
// into a state that already reflects a later run (counted in StaleAccounts),
// diffs the run's findings against the latest state (finding.Merge) and
// writes only what changed; a finding is resolved only where this run
// scanned its region and check successfully. It streams the run's findings
// to findings.jsonl and the findings Parquet file, writes the pairs Parquet
// file, pairs.jsonl, the run record (complete) and summary.json. Running it
// again on the same run writes no finding item and the same files. A chunk
// that a pair reported but that cannot be read, or a state write that does
// not complete, fails the run loudly; a run event that cannot be delivered
// is a warning.
func (a *Aggregator) Handle(ctx context.Context, req AggregateRequest) (RunSummary, error) {
	if !runIDRe.MatchString(req.RunID) {
		return RunSummary{}, &InvalidRequestError{Field: "runId", Value: req.RunID, Reason: "is not a valid run ID"}
	}
	if a.State == nil || a.History == nil {
		return RunSummary{}, fmt.Errorf("aggregator needs a state store and a history format")
	}
	// Everything the request names is read and checked before anything is
	// written: a bad request writes nothing, not even the lease.
	pairs, err := a.gather(ctx, req)
	if err != nil {
		return RunSummary{}, err
	}
	sum, problems, err := summarizePairs(req, pairs)
	if err != nil {
		return RunSummary{}, err
	}
	now := a.Clock()
	ok, holder, until, err := a.State.AcquireLease(ctx, req.RunID, now, now.Add(AggregationLease))
	if err != nil {
		return RunSummary{}, fmt.Errorf("take the aggregation lease: %w", err)
	}
	if !ok {
		return RunSummary{}, &AggregationBusyError{RunID: req.RunID, Holder: holder, Until: until}
	}
	defer func() {
		if err := a.State.ReleaseLease(context.WithoutCancel(ctx), req.RunID); err != nil && a.Logger != nil {
			a.Logger.Warn("release the aggregation lease", "run_id", req.RunID, "error", err.Error())
		}
	}()
	prev, found, err := a.State.GetRun(ctx, req.RunID)
	if err != nil {
		return RunSummary{}, fmt.Errorf("read run record: %w", err)
	}
	if found && prev.Status == store.RunSuperseded {
		// A later run carried what this one merged: merging it now would
		// count its changes twice.
		var sum RunSummary
		if err := json.Unmarshal(prev.Summary, &sum); err != nil {
			return RunSummary{}, fmt.Errorf("run record %s: %w", req.RunID, err)
		}
		sum.Status = store.RunSuperseded
		sum.warn("this run's aggregation was carried by run " + prev.CarriedBy + ": nothing more to do")
		return sum, nil
	}

	carriedRecs, carry, err := a.carried(ctx, req)
	if err != nil {
		return RunSummary{}, err
	}
	for _, r := range carriedRecs[:min(len(carriedRecs), MaxSummaryCarried)] {
		sum.Carried = append(sum.Carried, r.RunID)
	}
	rerun := found && prev.Status == store.RunComplete
	if !rerun {
		// Written before any account is merged: a run that dies from here on
		// is found by the next aggregation and carried.
		if err := a.putRecord(ctx, sum, store.RunAggregating, nil, store.RunRecord{}); err != nil {
			return RunSummary{}, err
		}
	}
	sum.HistoryKeys = map[string]string{
		FindingsTable:  HistoryKey(FindingsTable, req.StartedAt, req.RunID),
		PairsTable:     HistoryKey(PairsTable, req.StartedAt, req.RunID),
		InventoryTable: HistoryKey(InventoryTable, req.StartedAt, req.RunID),
	}
	if err := a.writePairs(ctx, req, pairs); err != nil {
		return RunSummary{}, err
	}
	top := TopFindings{Max: MaxReportFindings}
	suppressed := TopFindings{Max: MaxReportSuppressed}
	costly := TopFindings{Max: MaxEventFindings}
	if err := a.merge(ctx, req, pairs, carry, &sum, &top, &suppressed, &costly); err != nil {
		return RunSummary{}, fmt.Errorf("aggregate run %s: %w", req.RunID, err)
	}
	for _, r := range carriedRecs {
		r.Status, r.CarriedBy = store.RunSuperseded, req.RunID
		if err := a.State.PutRun(ctx, r); err != nil {
			return RunSummary{}, fmt.Errorf("mark run %s superseded: %w", r.RunID, err)
		}
	}
	if a.Reporter != nil {
		sum.ReportKey = ReportKey(req.RunID)
	}
	sum.FinishedAt = a.Clock()
	if found {
		var p RunSummary
		if json.Unmarshal(prev.Summary, &p) == nil && !p.FinishedAt.IsZero() && p.Status == store.RunComplete {
			// A re-run of the same run keeps the first run's times: its pair
			// durations (the Lambda time in the scan cost) were measured then.
			sum.FinishedAt = p.FinishedAt
			sum.ScanCost, sum.ScanCostUSD = p.ScanCost, p.ScanCostUSD
		}
	}
	sum.DurationMs = sum.FinishedAt.Sub(sum.StartedAt).Milliseconds()
	sum.Status = store.RunComplete
	if a.Notifier != nil {
		a.notify(ctx, &sum, costly, problems)
	}
	if c, ok := a.Blobs.(store.TempCleaner); ok {
		if n, err := c.RemoveTemp(ctx, leftover(now)); err != nil {
			sum.warn("remove leftover temporary files: " + err.Error())
		} else if n > 0 && a.Logger != nil {
			a.Logger.Info("removed leftover temporary files", "run_id", req.RunID, "files", n)
		}
	}
	if err := a.putRecord(ctx, sum, store.RunComplete, problems, prev); err != nil {
		return RunSummary{}, err
	}
	stored := sum
	stored.StateItemsWritten = 0
	if a.Reporter != nil {
		if err := a.report(ctx, stored, top, suppressed, problems); err != nil {
			return RunSummary{}, fmt.Errorf("write the report: %w", err)
		}
	}
	b, err := json.MarshalIndent(stored, "", "  ")
	if err != nil {
		return RunSummary{}, err
	}
	if err := a.Blobs.Put(ctx, SummaryKey(req.RunID), bytes.NewReader(append(b, '\n'))); err != nil {
		return RunSummary{}, fmt.Errorf("write summary: %w", err)
	}
	if a.Logger != nil {
		a.Logger.Info("aggregated", "run_id", sum.RunID, "pairs", sum.Pairs, "failed", sum.PairsFailed, "findings", sum.Findings,
			"new", sum.New, "resolved", sum.Resolved, "carried", len(carriedRecs), "stale_accounts", sum.StaleAccounts,
			"state_items_written", sum.StateItemsWritten)
	}
	return sum, nil
}

// merge merges the run's pairs into the state one account at a time and
// streams the outputs: findings.jsonl, the findings and inventory Parquet
// files; it fills the summary's counts and money and offers open findings
// to top (the report) and new costly ones to costly (the event).
func (a *Aggregator) merge(ctx context.Context, req AggregateRequest, pairs []PairResult, carry map[string]bool,
	sum *RunSummary, top, suppressed, costly *TopFindings) error {
	jsonl := startUpload(ctx, a.Blobs, sum.FindingsKey)
	pq := startUpload(ctx, a.Blobs, sum.HistoryKeys[FindingsTable])
	invUp := startUpload(ctx, a.Blobs, sum.HistoryKeys[InventoryTable])
	jw := bufio.NewWriterSize(jsonl, 256*1024)
	enc := json.NewEncoder(jw)
	rows := a.History.Findings(pq, req.RunID, req.StartedAt)
	invRows := a.History.Inventory(invUp, req.RunID, req.StartedAt)
	byCheck := map[string]*CheckTotal{}
	mark := store.RunMark{RunID: req.RunID, StartedAt: req.StartedAt}
	err := func() error {
		for start := 0; start < len(pairs); {
			end := start
			for end < len(pairs) && pairs[end].AccountID == pairs[start].AccountID {
				end++
			}
			acct := pairs[start:end]
			start = end
			ok, cur, err := a.State.AdvanceAccount(ctx, acct[0].AccountID, mark)
			if err != nil {
				return fmt.Errorf("advance the run mark of account %s: %w", acct[0].AccountID, err)
			}
			if !ok {
				sum.StaleAccounts++
				sum.warn(fmt.Sprintf("account %s: the state already reflects run %s (started %s), later than this one; this run's findings there were not merged",
					acct[0].AccountID, cur.RunID, cur.StartedAt.UTC().Format(time.RFC3339)))
				continue
			}
			st, err := a.account(ctx, req, acct)
			if err != nil {
				return err
			}
			n, err := a.inventory(ctx, acct, invRows)
			if err != nil {
				return err
			}
			sum.Resources += n
			sum.New += st.stats.New
			sum.Resolved += st.stats.Resolved
			sum.StateItemsWritten += st.written
			batch := make([]finding.Finding, 0, len(st.state))
			for _, f := range st.state {
				if f.Status == finding.Resolved {
					if f.ResolvedRunID == req.RunID || carry[f.ResolvedRunID] {
						batch = append(batch, f) // resolved by this run: history has it now
					}
					if carry[f.ResolvedRunID] {
						sum.Resolved++
					}
					continue
				}
				batch = append(batch, f)
				if err := enc.Encode(&f); err != nil {
					return err
				}
				if f.Status == finding.Suppressed {
					sum.Suppressed++
					if a.Reporter != nil {
						suppressed.Add(f)
					}
					continue
				}
				if carry[f.OpenedRunID] {
					sum.New++
				}
				if a.Reporter != nil {
					top.Add(f)
				}
				if a.Notifier != nil && (f.OpenedRunID == req.RunID || carry[f.OpenedRunID]) && f.MonthlyCostUSD != nil && *f.MonthlyCostUSD >= a.NotifyMinUSD {
					costly.Add(f)
				}
				t := byCheck[f.CheckID]
				if t == nil {
					t = &CheckTotal{CheckID: f.CheckID}
					byCheck[f.CheckID] = t
				}
				t.Findings++
				sum.Findings++
				if f.MonthlyCostUSD == nil {
					t.Unpriced++
					sum.Unpriced++
				} else {
					t.MonthlyCostUSD += *f.MonthlyCostUSD
					sum.MonthlyCostUSD += *f.MonthlyCostUSD
				}
			}
			if err := rows.Write(batch); err != nil {
				return fmt.Errorf("write findings parquet: %w", err)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := invRows.Close(); err != nil {
			return err
		}
		return jw.Flush()
	}()
	// Finish every upload; the first error wins.
	for _, u := range []*upload{jsonl, pq, invUp} {
		if ferr := u.finish(err); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return err
	}
	for _, id := range catalog.IDs() { // registry order, then any unknown ones
		if t, ok := byCheck[id]; ok {
			sum.ByCheck = append(sum.ByCheck, *t)
			delete(byCheck, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(byCheck)) {
		sum.ByCheck = append(sum.ByCheck, *byCheck[id])
	}
	return nil
}

// inventory copies one account's inventory objects into the inventory
// history and returns how many resources they held.
func (a *Aggregator) inventory(ctx context.Context, pairs []PairResult, w HistoryWriter[InventoryRecord]) (int, error) {
	total := 0
	for _, p := range pairs {
		if p.InventoryKey == "" {
			continue
		}
		var recs []InventoryRecord
		n, err := readLines(ctx, a.Blobs, p.InventoryKey, func(r InventoryRecord) { recs = append(recs, r) })
		if err != nil {
			return 0, fmt.Errorf("read inventory of %s/%s: %w", p.AccountID, p.Region, err)
		}
		if n != p.Resources {
			return 0, fmt.Errorf("inventory %s holds %d resources, the pair reported %d", p.InventoryKey, n, p.Resources)
		}
		total += n
		if err := w.Write(recs); err != nil {
			return 0, fmt.Errorf("write inventory history: %w", err)
		}
	}
	return total, nil
}

// carried returns the runs whose aggregation died, older than this one, and
// the IDs of every run whose changes this run carries: those, and the runs
// they were themselves carrying when they died. The caller holds the lease,
// so no run listed as aggregating is alive.
func (a *Aggregator) carried(ctx context.Context, req AggregateRequest) ([]store.RunRecord, map[string]bool, error) {
	unfinished, err := a.State.UnfinishedRuns(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list unfinished runs: %w", err)
	}
	mark := store.RunMark{RunID: req.RunID, StartedAt: req.StartedAt}
	var recs []store.RunRecord
	carry := map[string]bool{}
	for _, r := range unfinished {
		if r.RunID == req.RunID || !r.Mark().Before(mark) {
			continue
		}
		recs = append(recs, r)
		carry[r.RunID] = true
		var s RunSummary
		if json.Unmarshal(r.Summary, &s) == nil {
			for _, id := range s.Carried {
				carry[id] = true
			}
		}
	}
	return recs, carry, nil
}

// leftover says whether a temporary file of the data directory was left by
// a write that will never finish: any of an aggregator's own files (the
// history tables, reports, a run's findings.jsonl, pairs.jsonl and
// summary.json), since the caller holds the aggregation lease; any other
// (a collector's chunk, a dispatcher's manifest, perhaps of a run under way
// in another process) once it is tempFileAge old.
func leftover(now time.Time) func(path string, modified time.Time) bool {
	return func(path string, modified time.Time) bool {
		dir, name := pathpkg.Split(path)
		top, _, _ := strings.Cut(dir, "/")
		switch {
		case slices.Contains(HistoryTables, top) || top == "reports":
			return true
		case top == "runs" && strings.Count(dir, "/") == 2:
			for _, base := range []string{"findings.jsonl", "pairs.jsonl", "summary.json"} {
				if strings.HasPrefix(name, store.TempPrefix+base+"-") {
					return true
				}
			}
		}
		return modified.Before(now.Add(-tempFileAge))
	}
}

// putRecord writes the run record in the given status, unless prev holds
// the same record already (a re-run of a completed run writes nothing): the
// summary as stored (without the invocation's StateItemsWritten) and every
// problem pair, each pair's errors cut to MaxPairErrorsBytes.
func (a *Aggregator) putRecord(ctx context.Context, sum RunSummary, status store.RunStatus, problems []PairProblem, prev store.RunRecord) error {
	sum.Status = status
	sum.StateItemsWritten = 0
	b, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	rec := store.RunRecord{RunID: sum.RunID, StartedAt: sum.StartedAt, Status: status, Summary: b}
	for _, p := range problems {
		errs, err := json.Marshal(fitErrors(p.Errors, MaxPairErrorsBytes))
		if err != nil {
			return err
		}
		rec.Problems = append(rec.Problems, store.PairRecord{AccountID: p.AccountID, Region: p.Region, Status: string(p.Status), Errors: errs})
	}
	if prev.Equal(rec) {
		return nil
	}
	if err := a.State.PutRun(ctx, rec); err != nil {
		return fmt.Errorf("write run record (%s): %w", status, err)
	}
	return nil
}

// notify announces the run, best effort: an event that cannot be built or
// delivered becomes a warning in the summary and a metric in the log.
func (a *Aggregator) notify(ctx context.Context, sum *RunSummary, costly TopFindings, problems []PairProblem) {
	ev := RunEvent{RunID: sum.RunID, StartedAt: sum.StartedAt, FinishedAt: sum.FinishedAt, Accounts: sum.Accounts,
		Regions: sum.Regions, Pairs: sum.Pairs, PairsFailed: sum.PairsFailed, PairsPartial: sum.PairsPartial,
		Findings: sum.Findings, New: sum.New, Resolved: sum.Resolved, Suppressed: sum.Suppressed,
		MonthlyCostUSD: sum.MonthlyCostUSD, ScanCostUSD: sum.ScanCostUSD, ReportKey: sum.ReportKey,
		SummaryKey: SummaryKey(sum.RunID), PairsKey: PairsKey(sum.RunID),
		MinMonthlyCostUSD: a.NotifyMinUSD, NewCostlyTotal: costly.Total, FailedPairsTotal: len(problems)}
	if l, ok := a.Blobs.(store.Locator); ok && ev.ReportKey != "" {
		ev.ReportURI = l.Locate(ev.ReportKey)
	}
	for _, f := range costly.Sorted() {
		ev.NewCostly = append(ev.NewCostly, NewEventFinding(f))
	}
	for _, p := range problems[:min(len(problems), MaxEventPairs)] {
		ep := EventPair{AccountID: p.AccountID, Region: p.Region, Status: p.Status, Codes: []string{}}
		for _, e := range p.Errors {
			if !slices.Contains(ep.Codes, e.Code) {
				ep.Codes = append(ep.Codes, truncateUTF8(e.Code, 64))
			}
		}
		ep.Codes = ep.Codes[:min(len(ep.Codes), 10)]
		ev.FailedPairs = append(ev.FailedPairs, ep)
	}
	err := a.Notifier.Notify(ctx, ev)
	if err == nil {
		return
	}
	sum.warn("run event not delivered: " + err.Error())
	if a.Logger != nil {
		// CloudWatch embedded metric format: the log line is also the
		// metric orgscan/NotificationFailures, which an alarm can watch.
		a.Logger.Warn("run event not delivered", "run_id", sum.RunID, "error", err.Error(),
			"_aws", map[string]any{"Timestamp": sum.FinishedAt.UnixMilli(), "CloudWatchMetrics": []any{map[string]any{
				"Namespace": MetricsNamespace, "Dimensions": [][]string{{}}, "Metrics": []any{map[string]string{"Name": "NotificationFailures", "Unit": "Count"}}}}},
			"NotificationFailures", 1)
	}
}

// MetricsNamespace is the CloudWatch namespace of orgscan's own metrics
// (the CDK app's alarms watch it).
const MetricsNamespace = "OrgScan"

// fitErrors returns errs with messages cut so that their JSON is at most
// max bytes: every entry is kept (the aggregator reads which checks
// failed from them), only messages shrink.
func fitErrors(errs []catalog.CheckError, max int) []catalog.CheckError {
	size := func(es []catalog.CheckError) int { b, _ := json.Marshal(es); return len(b) }
	if size(errs) <= max {
		return errs
	}
	out := slices.Clone(errs)
	for limit := 512; limit >= 0; limit /= 2 {
		for i := range out {
			out[i].Message = truncateUTF8(errs[i].Message, limit)
		}
		if size(out) <= max || limit == 0 {
			break
		}
	}
	return out
}

// summarizePairs counts the pairs of a run and lists its problem pairs.
func summarizePairs(req AggregateRequest, pairs []PairResult) (RunSummary, []PairProblem, error) {
	sum := RunSummary{RunID: req.RunID, StartedAt: req.StartedAt, Pairs: len(pairs), APICalls: map[string]int{}, FindingsKey: FindingsKey(req.RunID)}
	var failed, partial []PairProblem
	accounts, regions := map[string]bool{}, map[string]bool{}
	for _, p := range pairs {
		if p.RunID != req.RunID {
			return sum, nil, &InvalidRequestError{Field: "pairs", Value: p.RunID, Reason: fmt.Sprintf("pair %s/%s belongs to another run than %s", p.AccountID, p.Region, req.RunID)}
		}
		if err := p.validate(); err != nil {
			return sum, nil, err
		}
		accounts[p.AccountID], regions[p.Region] = true, true
		switch p.Status {
		case PairOK:
			sum.PairsOK++
		case PairPartial:
			sum.PairsPartial++
			partial = append(partial, PairProblem{p.AccountID, p.AccountName, p.Region, p.Status, p.Errors})
		default:
			sum.PairsFailed++
			failed = append(failed, PairProblem{p.AccountID, p.AccountName, p.Region, PairFailed, p.Errors})
		}
		for _, c := range p.APICalls {
			sum.APICalls[c.Op] += c.N
		}
		sum.MetricsRequested += p.MetricsRequested
	}
	sum.Accounts, sum.Regions = len(accounts), len(regions)
	sum.RunFailed = sum.Pairs > 0 && sum.PairsFailed == sum.Pairs
	sum.GetMetricDataCalls = sum.APICalls["cloudwatch:GetMetricData"]
	sum.ScanCost = EstimateScanCost(pairs)
	sum.ScanCostUSD = sum.ScanCost.TotalUSD
	problems := append(failed, partial...)
	size := 0
	for i, p := range problems {
		p.Errors = fitErrors(p.Errors, MaxSummaryProblemsBytes/8)
		b, err := json.Marshal(p)
		if err != nil {
			return sum, nil, err
		}
		if i >= MaxSummaryProblems || size+len(b) > MaxSummaryProblemsBytes {
			sum.ProblemsOmitted = len(problems) - i
			sum.ProblemsMore = fmt.Sprintf("and %d more failed or partial pairs: see %s", sum.ProblemsOmitted, PairsKey(req.RunID))
			break
		}
		size += len(b)
		sum.Problems = append(sum.Problems, p)
	}
	return sum, problems, nil
}

type accountResult struct {
	state   []finding.Finding
	stats   finding.MergeStats
	written int
}

// account merges one account's pairs of the run into the latest state.
func (a *Aggregator) account(ctx context.Context, req AggregateRequest, pairs []PairResult) (accountResult, error) {
	acct := pairs[0].AccountID
	prev, err := a.State.AccountFindings(ctx, acct)
	if err != nil {
		return accountResult{}, fmt.Errorf("read state of account %s: %w", acct, err)
	}
	var cur []finding.Finding
	for _, p := range pairs {
		if p.ChunkKey == "" {
			continue
		}
		n, err := readLines(ctx, a.Blobs, p.ChunkKey, func(f finding.Finding) { cur = append(cur, f) })
		if err != nil {
			return accountResult{}, fmt.Errorf("read findings of %s/%s: %w", p.AccountID, p.Region, err)
		}
		if n != p.Findings {
			return accountResult{}, fmt.Errorf("chunk %s holds %d findings, the pair reported %d", p.ChunkKey, n, p.Findings)
		}
	}
	changed, state, st := finding.Merge(req.RunID, req.StartedAt, prev, cur, scannedBy(pairs))
	if err := a.State.PutFindings(ctx, acct, changed); err != nil {
		return accountResult{}, fmt.Errorf("write state of account %s: %w", acct, err)
	}
	return accountResult{state: state, stats: st, written: len(changed)}, nil
}

// scannedBy says which region × check the run looked at in one account: a
// pair that failed looked at nothing; a partial pair looked at the checks
// that reported no error.
func scannedBy(pairs []PairResult) finding.Scanned {
	ok := map[string]bool{}
	for _, p := range pairs {
		if p.Status == PairFailed {
			continue
		}
		failed := map[string]bool{}
		for _, e := range p.Errors {
			failed[e.Check] = true
		}
		if failed[""] { // a pair-level error: nothing is certain
			continue
		}
		for _, c := range p.Checks {
			if !failed[c] {
				ok[p.Region+"|"+c] = true
			}
		}
	}
	return func(region, check string) bool { return ok[region+"|"+check] }
}

// writePairs streams the run's pair results as JSON lines and history
// rows (a run of 17,000 failed pairs is hundreds of megabytes of error
// messages: nothing holds them whole).
func (a *Aggregator) writePairs(ctx context.Context, req AggregateRequest, pairs []PairResult) error {
	lines := startUpload(ctx, a.Blobs, PairsKey(req.RunID))
	rows := startUpload(ctx, a.Blobs, HistoryKey(PairsTable, req.StartedAt, req.RunID))
	err := func() error {
		bw := bufio.NewWriterSize(lines, 256*1024)
		enc := json.NewEncoder(bw)
		w := a.History.Pairs(rows, req.RunID, req.StartedAt)
		for i := range pairs {
			if err := enc.Encode(&pairs[i]); err != nil {
				return err
			}
		}
		for start := 0; start < len(pairs); start += 1024 {
			if err := w.Write(pairs[start:min(start+1024, len(pairs))]); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		return bw.Flush()
	}()
	for _, u := range []*upload{lines, rows} {
		if ferr := u.finish(err); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return fmt.Errorf("write pair results: %w", err)
	}
	return nil
}

// readLines decodes a gzipped JSON-lines object, calling fn on each item;
// it returns how many it read.
func readLines[T any](ctx context.Context, blobs store.Blobs, key string, fn func(T)) (int, error) {
	rc, err := blobs.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return 0, err
	}
	n := 0
	err = decodeLines(zr, func(line int, b []byte) error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		fn(v)
		n++
		return nil
	})
	return n, err
}

// upload streams what is written to it into a blob.
type upload struct {
	*io.PipeWriter
	done chan error
}

func startUpload(ctx context.Context, blobs store.Blobs, key string) *upload {
	pr, pw := io.Pipe()
	u := &upload{PipeWriter: pw, done: make(chan error, 1)}
	go func() {
		err := blobs.Put(ctx, key, pr)
		pr.CloseWithError(err) // unblock the writer if Put gave up early
		u.done <- err
	}()
	return u
}

// finish ends the stream (with err when writing failed) and returns the
// first error of the writer or the upload.
func (u *upload) finish(err error) error {
	u.CloseWithError(err)
	if perr := <-u.done; err == nil {
		err = perr
	}
	return err
}

// report renders the run's report: the summary as recorded, the most
// expensive open findings, every problem pair and the trend of all runs.
func (a *Aggregator) report(ctx context.Context, sum RunSummary, top, suppressed TopFindings, problems []PairProblem) error {
	recs, err := a.State.Runs(ctx, MaxTrendRuns)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := a.Reporter.Render(&buf, ReportInput{Summary: sum, Findings: top.Sorted(), FindingsTotal: top.Total, Trend: Trend(recs), Problems: problems,
		Suppressed: suppressed.Sorted(), SuppressedTotal: suppressed.Total}); err != nil {
		return err
	}
	return a.Blobs.Put(ctx, sum.ReportKey, &buf)
}

// MaxTrendRuns bounds the runs a report's trend reads: each record read
// from DynamoDB brings its problem-pair items along.
const MaxTrendRuns = 90

// Completed reports whether a run record is of a run whose aggregation
// completed (records written before runs had a status count as completed).
func Completed(r store.RunRecord) bool { return r.Status == store.RunComplete || r.Status == "" }

// Trend is the trend of the completed runs among recs (newest first, as
// State.Runs lists them), oldest first; a run still aggregating or
// superseded has no point to give.
func Trend(recs []store.RunRecord) []TrendPoint {
	var trend []TrendPoint
	for i := len(recs) - 1; i >= 0; i-- {
		var s RunSummary
		if !Completed(recs[i]) || json.Unmarshal(recs[i].Summary, &s) != nil {
			continue
		}
		trend = append(trend, TrendPoint{RunID: recs[i].RunID, StartedAt: recs[i].StartedAt, Findings: s.Findings, MonthlyCostUSD: s.MonthlyCostUSD})
	}
	return trend
}

// TopFindings keeps the Max most expensive findings it is given (unknown
// costs last, then by ID) in bounded memory, and counts them all (Total).
type TopFindings struct {
	Max   int
	Total int
	items []finding.Finding
}

// Add offers a finding.
func (t *TopFindings) Add(f finding.Finding) {
	t.Total++
	t.items = append(t.items, f)
	if len(t.items) >= 2*t.Max {
		t.trim()
	}
}

func (t *TopFindings) trim() {
	sort.SliceStable(t.items, func(i, j int) bool { return moreCostly(t.items[i], t.items[j]) })
	if len(t.items) > t.Max {
		t.items = t.items[:t.Max]
	}
}

// Sorted returns the kept findings, most expensive first.
func (t *TopFindings) Sorted() []finding.Finding {
	t.trim()
	return t.items
}

func moreCostly(a, b finding.Finding) bool {
	if ca, cb := a.SortCost(), b.SortCost(); ca != cb {
		return ca > cb
	}
	return a.FindingID < b.FindingID
}

// validate checks what the aggregator takes from a pair result: the pair's
// account and region, its status, and that its objects are the ones the
// collector writes for that pair (it reads them).
func (p PairResult) validate() error {
	where := p.AccountID + "/" + p.Region
	switch {
	case !ValidAccountID(p.AccountID):
		return &InvalidRequestError{Field: "pairs.accountId", Value: p.AccountID, Reason: "is not a 12-digit AWS account ID"}
	case !ValidRegion(p.Region):
		return &InvalidRequestError{Field: "pairs.region", Value: p.Region, Reason: "is not an AWS region name"}
	case p.Status != PairOK && p.Status != PairPartial && p.Status != PairFailed:
		return &InvalidRequestError{Field: "pairs.status", Value: string(p.Status), Reason: "of pair " + where + " is not ok, partial or failed"}
	case p.ChunkKey != "" && p.ChunkKey != ChunkKey(p.RunID, p.AccountID, p.Region):
		return &InvalidRequestError{Field: "pairs.chunkKey", Value: p.ChunkKey, Reason: "is not pair " + where + "'s findings object"}
	case p.InventoryKey != "" && p.InventoryKey != InventoryKey(p.RunID, p.AccountID, p.Region):
		return &InvalidRequestError{Field: "pairs.inventoryKey", Value: p.InventoryKey, Reason: "is not pair " + where + "'s inventory object"}
	}
	return nil
}
