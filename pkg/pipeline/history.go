package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/orgscan/orgscan/pkg/finding"
)

// History tables: one file per run per table, partitioned by the run's UTC
// start date, the layout Athena's partition projection reads:
// <table>/dt=YYYY-MM-DD/<runId>.parquet.
const (
	FindingsTable  = "findings"
	PairsTable     = "pairs"
	InventoryTable = "inventory"
)

// HistoryTables are the tables every run writes.
var HistoryTables = []string{FindingsTable, PairsTable, InventoryTable}

// HistoryKey is the key of a run's file of a history table.
func HistoryKey(table string, runStarted time.Time, runID string) string {
	return fmt.Sprintf("%s/dt=%s/%s.parquet", table, runStarted.UTC().Format("2006-01-02"), runID)
}

// HistoryFormat encodes the history tables (Parquet, in pkg/history). It is
// injected so that only the aggregator links the encoder.
type HistoryFormat interface {
	Findings(w io.Writer, runID string, started time.Time) HistoryWriter[finding.Finding]
	Pairs(w io.Writer, runID string, started time.Time) HistoryWriter[PairResult]
	Inventory(w io.Writer, runID string, started time.Time) HistoryWriter[InventoryRecord]
}

// HistoryWriter writes the rows of one table file; Close finishes the file
// (it does not close the underlying writer).
type HistoryWriter[T any] interface {
	Write(rows []T) error
	Close() error
}

// ReportKey is where the aggregator writes a run's HTML report.
func ReportKey(runID string) string { return "reports/" + runID + ".html" }

// Reporter renders a run's report (HTML, in pkg/report). It is injected so
// the handlers stay free of presentation code.
type Reporter interface {
	Render(w io.Writer, in ReportInput) error
}

// ReportInput is what a run's report shows.
type ReportInput struct {
	Summary RunSummary
	// Findings are the run's open findings, most expensive first, at most
	// MaxReportFindings (FindingsTotal says how many there were).
	Findings      []finding.Finding
	FindingsTotal int
	// Trend is the open monthly cost of each recorded run, oldest first,
	// this run included.
	Trend []TrendPoint
	// Problems are every failed or partial pair of the run.
	Problems []PairProblem
	// Suppressed are the run's suppressed findings, most expensive first,
	// at most MaxReportSuppressed (SuppressedTotal says how many there
	// were), each with what suppressed it (SuppressedBy): a suppression is
	// shown, not hidden.
	Suppressed      []finding.Finding
	SuppressedTotal int
}

// MaxReportSuppressed bounds the suppressed findings a report lists.
const MaxReportSuppressed = 1000

// TrendPoint is one run's open findings and monthly cost.
type TrendPoint struct {
	RunID          string    `json:"runId"`
	StartedAt      time.Time `json:"startedAt"`
	Findings       int       `json:"findings"`
	MonthlyCostUSD float64   `json:"monthlyCostUsd"`
}

// MaxReportFindings bounds the findings a report lists, so a report of a
// large organization stays a file a browser opens quickly.
const MaxReportFindings = 5000

// Notifier announces a finished run (EventBridge, in pkg/notify).
type Notifier interface {
	Notify(ctx context.Context, ev RunEvent) error
}

// RunEvent is the detail of a run's notification: counts and money, the
// new findings worth someone's attention, and what could not be scanned.
// It carries identifiers and numbers, never tags, reasons or evidence
// (member accounts control those), and FitEvent keeps it within
// MaxEventDetailBytes whatever the run found.
type RunEvent struct {
	RunID          string    `json:"runId"`
	StartedAt      time.Time `json:"startedAt"`
	FinishedAt     time.Time `json:"finishedAt"`
	Accounts       int       `json:"accounts"`
	Regions        int       `json:"regions"`
	Pairs          int       `json:"pairs"`
	PairsFailed    int       `json:"pairsFailed"`
	PairsPartial   int       `json:"pairsPartial"`
	Findings       int       `json:"findings"`
	New            int       `json:"new"`
	Resolved       int       `json:"resolved"`
	Suppressed     int       `json:"suppressed"`
	MonthlyCostUSD float64   `json:"monthlyCostUsd"`
	ScanCostUSD    float64   `json:"scanCostUsd"`
	// ReportKey is the run's HTML report in the bucket, and ReportURI where
	// it is (s3://bucket/key in AWS); SummaryKey its summary.json and
	// PairsKey every pair's result.
	ReportKey  string `json:"reportKey,omitempty"`
	ReportURI  string `json:"reportUri,omitempty"`
	SummaryKey string `json:"summaryKey"`
	PairsKey   string `json:"pairsKey"`
	// NewCostly are the new findings costing at least MinMonthlyCostUSD a
	// month, most expensive first, at most MaxEventFindings;
	// NewCostlyTotal counts them all, listed or not.
	MinMonthlyCostUSD float64        `json:"minMonthlyCostUsd"`
	NewCostly         []EventFinding `json:"newCostly"`
	NewCostlyTotal    int            `json:"newCostlyTotal"`
	// FailedPairs are the first failed or partial pairs with their error
	// codes; FailedPairsTotal counts them all (pairs.jsonl has each one).
	FailedPairs      []EventPair `json:"failedPairs,omitempty"`
	FailedPairsTotal int         `json:"failedPairsTotal"`
}

// EventFinding is a finding as a run event names it.
type EventFinding struct {
	FindingID      string   `json:"findingId"`
	CheckID        string   `json:"checkId"`
	AccountID      string   `json:"accountId"`
	Region         string   `json:"region"`
	ResourceID     string   `json:"resourceId"`
	MonthlyCostUSD *float64 `json:"monthlyCostUsd"`
}

// EventPair is a failed or partial pair as a run event names it: its
// error codes, not their messages.
type EventPair struct {
	AccountID string     `json:"accountId"`
	Region    string     `json:"region"`
	Status    PairStatus `json:"status"`
	Codes     []string   `json:"codes"`
}

// Event bounds. EventBridge refuses a PutEvents entry over 256 KiB
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html:
// the UTF-8 bytes of Source, DetailType, Detail, Resources and
// EventBusName, plus 14 for Time). The detail is kept under
// MaxEventDetailBytes, leaving 56 KiB for the rest of the entry.
const (
	MaxEventFindings    = 50
	MaxEventPairs       = 20
	MaxEventDetailBytes = 200 * 1024
	// maxEventResourceID cuts a resource ID in an event (AWS's longest, a
	// log group name, is 512 characters).
	maxEventResourceID = 512
)

// NewEventFinding is f as an event names it.
func NewEventFinding(f finding.Finding) EventFinding {
	return EventFinding{FindingID: f.FindingID, CheckID: f.CheckID, AccountID: f.AccountID, Region: f.Region,
		ResourceID: truncateUTF8(f.ResourceID, maxEventResourceID), MonthlyCostUSD: f.MonthlyCostUSD}
}

// FitEvent drops listed findings, then listed pairs, from the end until
// the detail's JSON is at most max bytes (the totals still count them). It
// returns the detail.
func FitEvent(ev *RunEvent, max int) ([]byte, error) {
	for {
		b, err := json.Marshal(ev)
		if err != nil || len(b) <= max {
			return b, err
		}
		switch {
		case len(ev.NewCostly) > 0:
			ev.NewCostly = ev.NewCostly[:len(ev.NewCostly)-1]
		case len(ev.FailedPairs) > 0:
			ev.FailedPairs = ev.FailedPairs[:len(ev.FailedPairs)-1]
		default:
			return nil, fmt.Errorf("run event of %d bytes does not fit in %d even without findings and pairs", len(b), max)
		}
	}
}

// truncateUTF8 cuts s to at most n bytes at a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
