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

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/store"
)

// FindingsKey and SummaryKey are where the aggregator writes a run's merged
// findings (JSON lines) and its summary.
func FindingsKey(runID string) string { return "runs/" + runID + "/findings.jsonl" }
func SummaryKey(runID string) string  { return "runs/" + runID + "/summary.json" }

// PairsKey is where the aggregator writes every pair result of a run (JSON
// lines, sorted by account and region).
func PairsKey(runID string) string { return "runs/" + runID + "/pairs.jsonl" }

// GetMetricDataUSDPerMetric is CloudWatch's price per metric requested
// through GetMetricData ($0.01 per 1,000), what a scan mostly costs.
const GetMetricDataUSDPerMetric = 0.01 / 1000

// maxFailedPairsInSummary bounds the pair list in a summary, which passes
// through the state machine's payload.
const maxFailedPairsInSummary = 100

// AggregateRequest names a run and its pair results.
type AggregateRequest struct {
	RunID     string       `json:"runId"`
	StartedAt time.Time    `json:"startedAt"`
	Pairs     []PairResult `json:"pairs"`
}

// CheckTotal is one check's share of a run.
type CheckTotal struct {
	CheckID        string  `json:"checkId"`
	Findings       int     `json:"findings"`
	MonthlyCostUSD float64 `json:"monthlyCostUsd"`
	Unpriced       int     `json:"unpriced"`
}

// PairProblem is a pair that failed or was only partly scanned.
type PairProblem struct {
	AccountID   string              `json:"accountId"`
	AccountName string              `json:"accountName,omitempty"`
	Region      string              `json:"region"`
	Status      PairStatus          `json:"status"`
	Errors      []checks.CheckError `json:"errors"`
}

// RunSummary is a run's outcome: counts, money, what failed and what the scan
// itself cost.
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
	Problems           []PairProblem  `json:"problems,omitempty"`
	ProblemsOmitted    int            `json:"problemsOmitted,omitempty"`
	Findings           int            `json:"findings"`
	MonthlyCostUSD     float64        `json:"monthlyCostUsd"`
	Unpriced           int            `json:"unpriced"`
	ByCheck            []CheckTotal   `json:"byCheck"`
	APICalls           map[string]int `json:"apiCalls"`
	MetricsRequested   int            `json:"metricsRequested"`
	GetMetricDataCalls int            `json:"getMetricDataCalls"`
	// ScanCostUSD estimates what the scan cost in AWS API charges.
	ScanCostUSD float64 `json:"scanCostUsd"`
	FindingsKey string  `json:"findingsKey"`
}

// Aggregator merges a run's pair results and findings chunks into the run's
// findings file and summary.
type Aggregator struct {
	Blobs  store.Blobs
	Clock  func() time.Time
	Logger *slog.Logger
}

// Handle streams every chunk into one findings file (one chunk in memory at a
// time) and writes the summary. Running it twice on the same run writes the
// same files. A chunk that a pair reported but that cannot be read fails the
// run: its findings would otherwise vanish silently.
func (a *Aggregator) Handle(ctx context.Context, req AggregateRequest) (RunSummary, error) {
	if !runIDRe.MatchString(req.RunID) {
		return RunSummary{}, &InvalidRequestError{Field: "runId", Value: req.RunID, Reason: "is not a valid run ID"}
	}
	pairs := append([]PairResult(nil), req.Pairs...)
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].AccountID != pairs[j].AccountID {
			return pairs[i].AccountID < pairs[j].AccountID
		}
		return pairs[i].Region < pairs[j].Region
	})
	sum := RunSummary{RunID: req.RunID, StartedAt: req.StartedAt, Pairs: len(pairs), APICalls: map[string]int{}, FindingsKey: FindingsKey(req.RunID)}
	byCheck := map[string]*CheckTotal{}
	var failed, partial []PairProblem
	accounts, regions := map[string]bool{}, map[string]bool{}
	for _, p := range pairs {
		accounts[p.AccountID], regions[p.Region] = true, true
		if p.RunID != req.RunID {
			return RunSummary{}, &InvalidRequestError{Field: "pairs", Value: p.RunID, Reason: fmt.Sprintf("pair %s/%s belongs to another run than %s", p.AccountID, p.Region, req.RunID)}
		}
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
		for op, n := range p.APICalls {
			sum.APICalls[op] += n
		}
		sum.MetricsRequested += p.MetricsRequested
	}
	sum.Accounts, sum.Regions = len(accounts), len(regions)
	sum.GetMetricDataCalls = sum.APICalls["cloudwatch:GetMetricData"]
	sum.ScanCostUSD = float64(sum.MetricsRequested) * GetMetricDataUSDPerMetric
	problems := append(failed, partial...)
	if len(problems) > maxFailedPairsInSummary {
		sum.ProblemsOmitted = len(problems) - maxFailedPairsInSummary
		problems = problems[:maxFailedPairsInSummary]
	}
	sum.Problems = problems
	var pairsBuf bytes.Buffer
	enc := json.NewEncoder(&pairsBuf)
	for i := range pairs {
		if err := enc.Encode(&pairs[i]); err != nil {
			return RunSummary{}, err
		}
	}
	if err := a.Blobs.Put(ctx, PairsKey(req.RunID), &pairsBuf); err != nil {
		return RunSummary{}, fmt.Errorf("write pair results: %w", err)
	}

	pr, pw := io.Pipe()
	putErr := make(chan error, 1)
	go func() {
		err := a.Blobs.Put(ctx, sum.FindingsKey, pr)
		pr.CloseWithError(err) // unblock the writer if Put gave up early
		putErr <- err
	}()
	w := bufio.NewWriterSize(pw, 256*1024)
	err := func() error {
		for _, p := range pairs {
			if p.ChunkKey == "" {
				continue
			}
			n, err := a.copyChunk(ctx, p.ChunkKey, w, func(f *finding.Finding) {
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
			})
			if err != nil {
				return fmt.Errorf("read findings of %s/%s: %w", p.AccountID, p.Region, err)
			}
			if n != p.Findings {
				return fmt.Errorf("chunk %s holds %d findings, the pair reported %d", p.ChunkKey, n, p.Findings)
			}
		}
		return w.Flush()
	}()
	pw.CloseWithError(err)
	if perr := <-putErr; err == nil {
		err = perr
	}
	if err != nil {
		return RunSummary{}, fmt.Errorf("aggregate run %s: %w", req.RunID, err)
	}

	for _, id := range checks.IDs() { // registry order, then any unknown ones
		if t, ok := byCheck[id]; ok {
			sum.ByCheck = append(sum.ByCheck, *t)
			delete(byCheck, id)
		}
	}
	for _, t := range byCheck {
		sum.ByCheck = append(sum.ByCheck, *t)
	}
	sum.FinishedAt = a.Clock()
	sum.DurationMs = sum.FinishedAt.Sub(sum.StartedAt).Milliseconds()
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return RunSummary{}, err
	}
	if err := a.Blobs.Put(ctx, SummaryKey(req.RunID), bytes.NewReader(append(b, '\n'))); err != nil {
		return RunSummary{}, fmt.Errorf("write summary: %w", err)
	}
	if a.Logger != nil {
		a.Logger.Info("aggregated", "run_id", sum.RunID, "pairs", sum.Pairs, "failed", sum.PairsFailed, "findings", sum.Findings)
	}
	return sum, nil
}

// copyChunk copies a gzipped JSON-lines chunk to w as plain JSON lines,
// calling fn on each finding; it returns how many it copied.
func (a *Aggregator) copyChunk(ctx context.Context, key string, w io.Writer, fn func(*finding.Finding)) (int, error) {
	rc, err := a.Blobs.Open(ctx, key)
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
		var f finding.Finding
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		fn(&f)
		n++
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, err := w.Write([]byte{'\n'})
		return err
	})
	return n, err
}
