package pipeline

import (
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
