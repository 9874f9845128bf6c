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
	"sort"
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

// maxFailedPairsInSummary bounds the pair list in a summary, which passes
// through the state machine's payload.
const maxFailedPairsInSummary = 100

// AggregateRequest names a run and its pair results: given inline (the
// local runner), or as the Distributed Map's ResultWriter output in S3.
type AggregateRequest struct {
	RunID        string           `json:"runId"`
	StartedAt    time.Time        `json:"startedAt"`
	Pairs        []PairResult     `json:"pairs,omitempty"`
	ResultWriter *ResultWriterRef `json:"resultWriter,omitempty"`
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
	RunID        string    `json:"runId"`
	StartedAt    time.Time `json:"startedAt"`
	FinishedAt   time.Time `json:"finishedAt"`
	DurationMs   int64     `json:"durationMs"`
	Accounts     int       `json:"accounts"`
	Regions      int       `json:"regions"`
	Pairs        int       `json:"pairs"`
	PairsOK      int       `json:"pairsOk"`
	PairsPartial int       `json:"pairsPartial"`
	PairsFailed  int       `json:"pairsFailed"`
	// Problems lists failed then partial pairs, at most 100; ProblemsOmitted
	// counts the rest, which are in the run's pairs.jsonl (PairsKey).
	Problems        []PairProblem `json:"problems,omitempty"`
	ProblemsOmitted int           `json:"problemsOmitted,omitempty"`
	// Findings are the open findings this run saw (Suppressed ones are
	// counted apart and left out of every total); New of them were opened
	// by it; Resolved findings were open before and found gone by it.
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
	RunFailed   bool   `json:"runFailed"`
	FindingsKey string `json:"findingsKey"`
	// ReportKey is the run's HTML report, when one is written.
	ReportKey string `json:"reportKey,omitempty"`
	// HistoryKeys are the run's Parquet files, by table.
	HistoryKeys map[string]string `json:"historyKeys"`
	// StateItemsWritten counts the latest-state items this invocation wrote
	// (new, changed or resolved findings); an unchanged re-run writes none.
	// It describes the invocation, so it is not part of the run record.
	StateItemsWritten int `json:"stateItemsWritten"`
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
	// cost from which a new finding is named in the announcement.
	Notifier     Notifier
	NotifyMinUSD float64
	Clock        func() time.Time
	Logger       *slog.Logger
}

// Handle aggregates a run, one account at a time (one account's findings in
// memory at once). For each account it diffs the run's findings against the
// latest state (finding.Merge) and writes only what changed; a finding is
// resolved only where this run scanned its region and check successfully.
// It streams the run's findings to findings.jsonl and the findings Parquet
// file, writes the pairs Parquet file, pairs.jsonl, the run record and
// summary.json. Running it again on the same run writes no state item and
// the same files. A chunk that a pair reported but that cannot be read, or
// a state write that does not complete, fails the run loudly.
func (a *Aggregator) Handle(ctx context.Context, req AggregateRequest) (RunSummary, error) {
	if !runIDRe.MatchString(req.RunID) {
		return RunSummary{}, &InvalidRequestError{Field: "runId", Value: req.RunID, Reason: "is not a valid run ID"}
	}
	if a.State == nil || a.History == nil {
		return RunSummary{}, fmt.Errorf("aggregator needs a state store and a history format")
	}
	pairs := append([]PairResult(nil), req.Pairs...)
	if req.ResultWriter != nil {
		mapped, err := a.mapResults(ctx, req)
		if err != nil {
			return RunSummary{}, fmt.Errorf("read the Map's results: %w", err)
		}
		pairs = append(pairs, mapped...)
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].AccountID != pairs[j].AccountID {
			return pairs[i].AccountID < pairs[j].AccountID
		}
		return pairs[i].Region < pairs[j].Region
	})
	sum, problems, err := summarizePairs(req, pairs)
	if err != nil {
		return RunSummary{}, err
	}
	sum.HistoryKeys = map[string]string{
		FindingsTable:  HistoryKey(FindingsTable, req.StartedAt, req.RunID),
		PairsTable:     HistoryKey(PairsTable, req.StartedAt, req.RunID),
		InventoryTable: HistoryKey(InventoryTable, req.StartedAt, req.RunID),
	}
	if err := a.writePairs(ctx, req, pairs); err != nil {
		return RunSummary{}, err
	}

	jsonl := startUpload(ctx, a.Blobs, sum.FindingsKey)
	pq := startUpload(ctx, a.Blobs, sum.HistoryKeys[FindingsTable])
	jw := bufio.NewWriterSize(jsonl, 256*1024)
	enc := json.NewEncoder(jw)
	rows := a.History.Findings(pq, req.RunID, req.StartedAt)
	invUp := startUpload(ctx, a.Blobs, sum.HistoryKeys[InventoryTable])
	invRows := a.History.Inventory(invUp, req.RunID, req.StartedAt)
	byCheck := map[string]*CheckTotal{}
	top := TopFindings{Max: MaxReportFindings}
	costly := TopFindings{Max: MaxEventFindings}
	err = func() error {
		for start := 0; start < len(pairs); {
			end := start
			for end < len(pairs) && pairs[end].AccountID == pairs[start].AccountID {
				end++
			}
			st, err := a.account(ctx, req, pairs[start:end])
			if err != nil {
				return err
			}
			for _, p := range pairs[start:end] {
				if p.InventoryKey == "" {
					continue
				}
				var recs []InventoryRecord
				n, err := readLines(ctx, a.Blobs, p.InventoryKey, func(r InventoryRecord) { recs = append(recs, r) })
				if err != nil {
					return fmt.Errorf("read inventory of %s/%s: %w", p.AccountID, p.Region, err)
				}
				if n != p.Resources {
					return fmt.Errorf("inventory %s holds %d resources, the pair reported %d", p.InventoryKey, n, p.Resources)
				}
				sum.Resources += n
				if err := invRows.Write(recs); err != nil {
					return fmt.Errorf("write inventory history: %w", err)
				}
			}
			start = end
			sum.New += st.stats.New
			sum.Resolved += st.stats.Resolved
			sum.StateItemsWritten += st.written
			batch := make([]finding.Finding, 0, len(st.state))
			for _, f := range st.state {
				current := f.Status != finding.Resolved
				if !current && f.ResolvedRunID != req.RunID {
					continue // resolved by an earlier run: history has it already
				}
				batch = append(batch, f)
				if !current {
					continue
				}
				if err := enc.Encode(&f); err != nil {
					return err
				}
				if f.Status == finding.Suppressed {
					sum.Suppressed++
					continue
				}
				if a.Reporter != nil {
					top.Add(f)
				}
				if a.Notifier != nil && f.OpenedRunID == req.RunID && f.MonthlyCostUSD != nil && *f.MonthlyCostUSD >= a.NotifyMinUSD {
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
		return RunSummary{}, fmt.Errorf("aggregate run %s: %w", req.RunID, err)
	}

	for _, id := range catalog.IDs() { // registry order, then any unknown ones
		if t, ok := byCheck[id]; ok {
			sum.ByCheck = append(sum.ByCheck, *t)
			delete(byCheck, id)
		}
	}
	for _, t := range byCheck {
		sum.ByCheck = append(sum.ByCheck, *t)
	}
	if a.Reporter != nil {
		sum.ReportKey = ReportKey(req.RunID)
	}
	stored, err := a.record(ctx, &sum, problems)
	if err != nil {
		return RunSummary{}, err
	}
	if a.Reporter != nil {
		if err := a.report(ctx, stored, top, problems); err != nil {
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
	if a.Notifier != nil {
		ev := RunEvent{RunID: stored.RunID, StartedAt: stored.StartedAt, FinishedAt: stored.FinishedAt, Accounts: stored.Accounts,
			Regions: stored.Regions, Pairs: stored.Pairs, PairsFailed: stored.PairsFailed, PairsPartial: stored.PairsPartial,
			Findings: stored.Findings, New: stored.New, Resolved: stored.Resolved, Suppressed: stored.Suppressed,
			MonthlyCostUSD: stored.MonthlyCostUSD, ScanCostUSD: stored.ScanCostUSD, ReportKey: stored.ReportKey,
			MinMonthlyCostUSD: a.NotifyMinUSD, NewCostly: costly.Sorted(), NewCostlyTotal: costly.Total,
			FailedPairs: problems[:min(len(problems), 20)]}
		if err := a.Notifier.Notify(ctx, ev); err != nil {
			return RunSummary{}, err
		}
	}
	if a.Logger != nil {
		a.Logger.Info("aggregated", "run_id", sum.RunID, "pairs", sum.Pairs, "failed", sum.PairsFailed, "findings", sum.Findings,
			"new", sum.New, "resolved", sum.Resolved, "state_items_written", sum.StateItemsWritten)
	}
	return sum, nil
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
	sum.Problems = problems
	if len(problems) > maxFailedPairsInSummary {
		sum.ProblemsOmitted = len(problems) - maxFailedPairsInSummary
		sum.Problems = problems[:maxFailedPairsInSummary]
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

// writePairs writes the run's pair results as JSON lines and history rows.
func (a *Aggregator) writePairs(ctx context.Context, req AggregateRequest, pairs []PairResult) error {
	var lines, rows bytes.Buffer
	enc := json.NewEncoder(&lines)
	for i := range pairs {
		if err := enc.Encode(&pairs[i]); err != nil {
			return err
		}
	}
	w := a.History.Pairs(&rows, req.RunID, req.StartedAt)
	if err := w.Write(pairs); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := a.Blobs.Put(ctx, PairsKey(req.RunID), &lines); err != nil {
		return fmt.Errorf("write pair results: %w", err)
	}
	if err := a.Blobs.Put(ctx, HistoryKey(PairsTable, req.StartedAt, req.RunID), &rows); err != nil {
		return fmt.Errorf("write pairs history: %w", err)
	}
	return nil
}

// record writes the run record unless the same record is already there (a
// re-run keeps the first completion time and writes nothing). It returns
// the summary as recorded: without the invocation's StateItemsWritten.
func (a *Aggregator) record(ctx context.Context, sum *RunSummary, problems []PairProblem) (RunSummary, error) {
	old, found, err := a.State.GetRun(ctx, sum.RunID)
	if err != nil {
		return RunSummary{}, fmt.Errorf("read run record: %w", err)
	}
	sum.FinishedAt = a.Clock()
	if found {
		var prev RunSummary
		if json.Unmarshal(old.Summary, &prev) == nil && !prev.FinishedAt.IsZero() {
			// A re-run of the same run keeps the first run's times: its pair
			// durations (the Lambda time in the scan cost) were measured then.
			sum.FinishedAt = prev.FinishedAt
			sum.ScanCost, sum.ScanCostUSD = prev.ScanCost, prev.ScanCostUSD
		}
	}
	sum.DurationMs = sum.FinishedAt.Sub(sum.StartedAt).Milliseconds()
	stored := *sum
	stored.StateItemsWritten = 0
	b, err := json.Marshal(stored)
	if err != nil {
		return RunSummary{}, err
	}
	rec := store.RunRecord{RunID: sum.RunID, StartedAt: sum.StartedAt, Summary: b}
	for _, p := range problems {
		errs, _ := json.Marshal(p.Errors)
		rec.Problems = append(rec.Problems, store.PairRecord{AccountID: p.AccountID, Region: p.Region, Status: string(p.Status), Errors: errs})
	}
	if found && old.Equal(rec) {
		return stored, nil
	}
	if err := a.State.PutRun(ctx, rec); err != nil {
		return RunSummary{}, fmt.Errorf("write run record: %w", err)
	}
	return stored, nil
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
func (a *Aggregator) report(ctx context.Context, sum RunSummary, top TopFindings, problems []PairProblem) error {
	recs, err := a.State.Runs(ctx, 0)
	if err != nil {
		return err
	}
	var trend []TrendPoint
	for i := len(recs) - 1; i >= 0; i-- { // Runs is newest first
		var s RunSummary
		if json.Unmarshal(recs[i].Summary, &s) != nil {
			continue
		}
		trend = append(trend, TrendPoint{RunID: s.RunID, StartedAt: s.StartedAt, Findings: s.Findings, MonthlyCostUSD: s.MonthlyCostUSD})
	}
	var buf bytes.Buffer
	if err := a.Reporter.Render(&buf, ReportInput{Summary: sum, Findings: top.Sorted(), FindingsTotal: top.Total, Trend: trend, Problems: problems}); err != nil {
		return err
	}
	return a.Blobs.Put(ctx, sum.ReportKey, &buf)
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
