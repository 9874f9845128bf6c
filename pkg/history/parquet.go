// Package history writes a run's history tables as Parquet for Athena (and
// DuckDB locally): one file per run per table, partitioned by the run's UTC
// start date. The row types here are the tables' one schema definition:
// their parquet struct tags (in parquet-go's syntax, so that the files read
// back into the same types) give the Parquet columns, and the Glue tables
// are generated from them. The files are encoded by internal/parquetfile, a
// writer of flat Parquet files on the standard library alone: a general
// Parquet library would add megabytes to the aggregator, the one Lambda
// function that links this package.
package history

import (
	"encoding/json"
	"io"
	"reflect"
	"time"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history/internal/parquetfile"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// FindingRow is one finding as a run saw it: the findings table's schema,
// defined once here (it also generates the Glue table). Column names are
// snake_case so Athena and DuckDB see the same names; account IDs are
// strings (leading zeros); timestamps are milliseconds, UTC; cost is a
// nullable double (unknown price).
type FindingRow struct {
	FindingID      string     `parquet:"finding_id,dict"`
	RunID          string     `parquet:"run_id,dict"`
	RunStartedAt   time.Time  `parquet:"run_started_at,timestamp(millisecond)"`
	CheckID        string     `parquet:"check_id,dict"`
	Category       string     `parquet:"category,dict"`
	AccountID      string     `parquet:"account_id,dict"`
	AccountName    string     `parquet:"account_name,dict"`
	Region         string     `parquet:"region,dict"`
	Service        string     `parquet:"service,dict"`
	ResourceType   string     `parquet:"resource_type,dict"`
	ResourceID     string     `parquet:"resource_id"`
	ResourceARN    string     `parquet:"resource_arn"`
	Reason         string     `parquet:"reason"`
	Evidence       string     `parquet:"evidence,json"` // JSON object: metric -> value
	MonthlyCostUSD *float64   `parquet:"monthly_cost_usd,optional"`
	Tags           string     `parquet:"tags,json"` // JSON object
	Status         string     `parquet:"status,dict"`
	FirstSeen      time.Time  `parquet:"first_seen,timestamp(millisecond)"`
	LastSeen       time.Time  `parquet:"last_seen,timestamp(millisecond)"`
	OpenedRunID    string     `parquet:"opened_run_id,dict"`
	ResolvedAt     *time.Time `parquet:"resolved_at,optional,timestamp(millisecond)"`
}

// NewFindingRow is f as seen by the run that started at runStarted.
func NewFindingRow(f finding.Finding, runID string, runStarted time.Time) FindingRow {
	ev, _ := json.Marshal(f.Evidence)
	if f.Evidence == nil {
		ev = []byte("{}")
	}
	tags, _ := json.Marshal(f.Tags)
	if f.Tags == nil {
		tags = []byte("{}")
	}
	return FindingRow{
		FindingID: f.FindingID, RunID: runID, RunStartedAt: runStarted.UTC(), CheckID: f.CheckID, Category: string(f.Category),
		AccountID: f.AccountID, AccountName: f.AccountName, Region: f.Region, Service: f.Service, ResourceType: f.ResourceType,
		ResourceID: f.ResourceID, ResourceARN: f.ResourceARN, Reason: f.Reason, Evidence: string(ev), MonthlyCostUSD: f.MonthlyCostUSD,
		Tags: string(tags), Status: string(f.Status), FirstSeen: f.FirstSeen.UTC(), LastSeen: f.LastSeen.UTC(),
		OpenedRunID: f.OpenedRunID, ResolvedAt: f.ResolvedAt,
	}
}

// PairRow is one account × region of a run: the pairs table's schema.
type PairRow struct {
	RunID            string    `parquet:"run_id,dict"`
	RunStartedAt     time.Time `parquet:"run_started_at,timestamp(millisecond)"`
	AccountID        string    `parquet:"account_id,dict"`
	AccountName      string    `parquet:"account_name,dict"`
	Region           string    `parquet:"region,dict"`
	Status           string    `parquet:"status,dict"`
	Findings         int64     `parquet:"findings"`
	Candidates       int64     `parquet:"candidates"`
	MetricsRequested int64     `parquet:"metrics_requested"`
	APICalls         int64     `parquet:"api_calls"`
	Errors           string    `parquet:"errors,json"` // JSON array of {check, code, message, count}
	DurationMs       int64     `parquet:"duration_ms"`
}

// InventoryRow is one resource a run saw: the inventory table's schema.
type InventoryRow struct {
	RunID        string     `parquet:"run_id,dict"`
	RunStartedAt time.Time  `parquet:"run_started_at,timestamp(millisecond)"`
	AccountID    string     `parquet:"account_id,dict"`
	AccountName  string     `parquet:"account_name,dict"`
	Region       string     `parquet:"region,dict"`
	ResourceType string     `parquet:"resource_type,dict"`
	ResourceID   string     `parquet:"resource_id"`
	ResourceARN  string     `parquet:"resource_arn"`
	Name         string     `parquet:"name"`
	State        string     `parquet:"state,dict"`
	CreatedAt    *time.Time `parquet:"created_at,optional,timestamp(millisecond)"`
	Tags         string     `parquet:"tags,json"` // JSON object
}

// NewInventoryRow is a record as a row of the run that started at runStarted.
func NewInventoryRow(r pipeline.InventoryRecord, runStarted time.Time) InventoryRow {
	tags, _ := json.Marshal(r.Tags)
	if r.Tags == nil {
		tags = []byte("{}")
	}
	return InventoryRow{RunID: r.RunID, RunStartedAt: runStarted.UTC(), AccountID: r.AccountID, AccountName: r.AccountName, Region: r.Region,
		ResourceType: r.ResourceType, ResourceID: r.ResourceID, ResourceARN: r.ResourceARN, Name: r.Name, State: r.State,
		CreatedAt: r.CreatedAt, Tags: string(tags)}
}

// Writer writes rows of one history table as a Parquet file. It is not safe
// for concurrent use.
type Writer[R any] struct {
	t   *table
	f   *parquetfile.Writer
	row []parquetfile.Value // scratch: the row being written
}

// The tables' schemas, parsed once from the row types' tags.
var (
	findingTable   = mustTable[FindingRow]()
	pairTable      = mustTable[PairRow]()
	inventoryTable = mustTable[InventoryRow]()
)

func newWriter[R any](w io.Writer, t *table) *Writer[R] {
	// Every history file: GZIP, at most 64Ki rows per row group (Athena
	// reads row groups in parallel), created_by orgscan.
	f, err := parquetfile.NewWriter(w, t.schema, parquetfile.Options{CreatedBy: "orgscan", RowGroupRows: 64 * 1024})
	if err != nil {
		panic(err) // the schemas are the package's own, validated by mustTable
	}
	return &Writer[R]{t: t, f: f, row: make([]parquetfile.Value, len(t.fields))}
}

// NewFindingWriter writes findings rows to w; Close it to finish the file.
func NewFindingWriter(w io.Writer) *Writer[FindingRow] { return newWriter[FindingRow](w, findingTable) }

// NewPairWriter writes pair rows to w; Close it to finish the file.
func NewPairWriter(w io.Writer) *Writer[PairRow] { return newWriter[PairRow](w, pairTable) }

// NewInventoryWriter writes inventory rows to w; Close it to finish the
// file.
func NewInventoryWriter(w io.Writer) *Writer[InventoryRow] {
	return newWriter[InventoryRow](w, inventoryTable)
}

// Write appends rows to the file and returns how many it wrote. A row
// with a string that is not valid UTF-8 (which Parquet's STRING requires)
// or a JSON column that is not valid JSON is refused with an error naming
// the column, the rows before it being written; every call after the
// underlying writer failed returns that error.
func (w *Writer[R]) Write(rows []R) (int, error) {
	for i := range rows {
		w.t.values(reflect.ValueOf(&rows[i]).Elem(), w.row)
		if err := w.f.WriteRow(w.row); err != nil {
			return i, err
		}
	}
	return len(rows), nil
}

// Close writes the last rows and the file's footer; it does not close the
// underlying writer. A file of no rows is valid (a schema, no row groups).
func (w *Writer[R]) Close() error { return w.f.Close() }

// NewPairRow is a pair result as a row of the run that started at runStarted.
func NewPairRow(p pipeline.PairResult, runStarted time.Time) PairRow {
	errs, _ := json.Marshal(p.Errors)
	if p.Errors == nil {
		errs = []byte("[]")
	}
	calls := p.APICalls.Total()
	return PairRow{RunID: p.RunID, RunStartedAt: runStarted.UTC(), AccountID: p.AccountID, AccountName: p.AccountName,
		Region: p.Region, Status: string(p.Status), Findings: int64(p.Findings), Candidates: int64(p.Candidates),
		MetricsRequested: int64(p.MetricsRequested), APICalls: int64(calls), Errors: string(errs), DurationMs: p.DurationMs}
}

// Parquet is the history format the aggregator writes.
type Parquet struct{}

var _ pipeline.HistoryFormat = Parquet{}

// Findings returns a writer of the findings table's file.
func (Parquet) Findings(w io.Writer, runID string, started time.Time) pipeline.HistoryWriter[finding.Finding] {
	return &rowWriter[finding.Finding, FindingRow]{w: NewFindingWriter(w), conv: func(f finding.Finding) FindingRow { return NewFindingRow(f, runID, started) }}
}

// Pairs returns a writer of the pairs table's file.
func (Parquet) Pairs(w io.Writer, _ string, started time.Time) pipeline.HistoryWriter[pipeline.PairResult] {
	return &rowWriter[pipeline.PairResult, PairRow]{w: NewPairWriter(w), conv: func(p pipeline.PairResult) PairRow { return NewPairRow(p, started) }}
}

// Inventory returns a writer of the inventory table's file.
func (Parquet) Inventory(w io.Writer, _ string, started time.Time) pipeline.HistoryWriter[pipeline.InventoryRecord] {
	return &rowWriter[pipeline.InventoryRecord, InventoryRow]{w: NewInventoryWriter(w), conv: func(r pipeline.InventoryRecord) InventoryRow { return NewInventoryRow(r, started) }}
}

type rowWriter[T, R any] struct {
	w    *Writer[R]
	conv func(T) R
}

func (r *rowWriter[T, R]) Write(items []T) error {
	rows := make([]R, len(items))
	for i, it := range items {
		rows[i] = r.conv(it)
	}
	_, err := r.w.Write(rows)
	return err
}

func (r *rowWriter[T, R]) Close() error { return r.w.Close() }

// Column is a history table's column as Hive/Glue declares it.
type Column struct{ Name, Type string }

// Columns returns the Glue/Hive columns of a history table's row type (a
// struct or a pointer to one), from its parquet tags: the one definition of
// the table's schema.
func Columns(row any) ([]Column, error) {
	t, err := tableOf(reflect.TypeOf(row))
	if err != nil {
		return nil, err
	}
	var out []Column
	for _, c := range t.schema.Columns {
		out = append(out, Column{Name: c.Name, Type: hiveType(c.Type)})
	}
	return out, nil
}

// hiveType is the Hive type Athena reads a column as: JSON is text to
// Hive, and its timestamp is an instant (the files' are UTC).
func hiveType(t parquetfile.Type) string {
	switch t {
	case parquetfile.Int64:
		return "bigint"
	case parquetfile.Double:
		return "double"
	case parquetfile.Timestamp:
		return "timestamp"
	}
	return "string"
}
