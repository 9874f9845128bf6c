package pipeline

import (
	"context"
	"fmt"
	"io"
	"time"

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
}

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
// It stays well under EventBridge's 256 KB.
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
	ReportKey      string    `json:"reportKey,omitempty"`
	// NewCostly are the new findings costing at least MinMonthlyCostUSD a
	// month, most expensive first, at most MaxEventFindings
	// (NewCostlyTotal counts them all).
	MinMonthlyCostUSD float64           `json:"minMonthlyCostUsd"`
	NewCostly         []finding.Finding `json:"newCostly"`
	NewCostlyTotal    int               `json:"newCostlyTotal"`
	// FailedPairs are the first failed or partial pairs (see Problems of
	// the summary).
	FailedPairs []PairProblem `json:"failedPairs,omitempty"`
}

// MaxEventFindings bounds the findings an event carries.
const MaxEventFindings = 50
