// Package query runs SQL over a data directory's Parquet history with
// DuckDB, under the names the Athena tables have (findings, pairs). It links
// DuckDB (cgo): only the CLI imports it, never a Lambda function.
package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/duckdb/duckdb-go/v2" // also registers the "duckdb" driver

	"github.com/orgscan/orgscan/pkg/pipeline"
)

// Tables are the views every query can use.
var Tables = pipeline.HistoryTables

// NoHistoryError means the data directory holds no run yet.
type NoHistoryError struct{ Dir string }

func (e *NoHistoryError) Error() string {
	return fmt.Sprintf("no run history in %s: run `orgscan run` first (or pass --data)", e.Dir)
}

// SQLError is a query DuckDB refused (syntax, unknown column, ...).
type SQLError struct{ Err error }

func (e *SQLError) Error() string { return "SQL error: " + e.Err.Error() }
func (e *SQLError) Unwrap() error { return e.Err }

// Engine is an in-memory DuckDB with views over one data directory.
type Engine struct{ db *sql.DB }

// Open creates a view per history table over <dir>/<table>/dt=*/*.parquet
// (Hive partitioning, so `dt` is a column as in Athena). findings and pairs
// must exist; inventory is there for runs that recorded it.
func Open(ctx context.Context, dir string) (*Engine, error) {
	var tables []string
	for _, t := range Tables {
		files, _ := filepath.Glob(filepath.Join(dir, t, "dt=*", "*.parquet"))
		if len(files) > 0 {
			tables = append(tables, t)
		} else if t != pipeline.InventoryTable {
			return nil, &NoHistoryError{Dir: dir}
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one in-memory database: views live in it
	// A query never fetches an extension: without this, reading an
	// http(s):// or s3:// path would download httpfs.
	for _, set := range []string{"SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false"} {
		if _, err := db.ExecContext(ctx, set); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", set, err)
		}
	}
	for _, t := range tables {
		glob := strings.ReplaceAll(filepath.Join(dir, t, "dt=*", "*.parquet"), "'", "''")
		stmt := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet('%s', hive_partitioning = true, union_by_name = true)", t, glob)
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("create view %s: %w", t, err)
		}
	}
	return &Engine{db: db}, nil
}

// Close releases the database.
func (e *Engine) Close() error { return e.db.Close() }

// Result is a query's columns and rows.
type Result struct {
	Columns []string
	Rows    [][]any
}

// ReadOnlyError refuses a statement that is not a query: orgscan query reads
// the history and never writes files, attaches databases or installs
// extensions (DuckDB's COPY … TO, ATTACH, INSTALL would). Several
// statements at once are refused too (Multi).
type ReadOnlyError struct {
	Kind  string // the statement's first keyword, upper case
	Multi bool
}

func (e *ReadOnlyError) Error() string {
	if e.Multi {
		return "one statement at a time: orgscan query runs a single SELECT (or EXPLAIN)"
	}
	return e.Kind + " statements are refused: orgscan query runs only SELECT (or EXPLAIN) and never writes"
}

// Run executes one SQL statement, which must be a SELECT or an EXPLAIN, and
// returns its rows.
func (e *Engine) Run(ctx context.Context, query string) (*Result, error) {
	if kw := keywords(query, 2); !readOnlyStart(kw) {
		kind := statementKind(query)
		if len(kw) == 2 && kw[0] == "EXPLAIN" {
			kind = "EXPLAIN ANALYZE" // it runs the statement it explains
		}
		return nil, &SQLError{Err: &ReadOnlyError{Kind: kind}}
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var kind duckdb.StmtType
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("the DuckDB connection (%T) cannot prepare statements", dc)
		}
		// Prepare without a context on purpose: PrepareContext of several
		// statements executes all but the last (a COPY … TO; SELECT 1 would
		// write before being looked at), Prepare refuses them.
		st, err := c.Prepare(query)
		if err != nil {
			if strings.HasPrefix(err.Error(), "could not prepare query") {
				return &ReadOnlyError{Multi: true}
			}
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("unexpected DuckDB statement %T", st)
		}
		kind, err = ds.StatementType()
		return err
	}); err != nil {
		return nil, &SQLError{Err: err}
	}
	if kind != duckdb.STATEMENT_TYPE_SELECT && kind != duckdb.STATEMENT_TYPE_EXPLAIN {
		return nil, &SQLError{Err: &ReadOnlyError{Kind: statementKind(query)}}
	}
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, &SQLError{Err: err}
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, &SQLError{Err: err}
	}
	res := &Result{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, &SQLError{Err: err}
	}
	return res, nil
}

// Formats are the output formats of Write.
var Formats = []string{"table", "csv", "json"}

// FormatError names an unknown output format.
type FormatError struct{ Format string }

func (e *FormatError) Error() string {
	return fmt.Sprintf("unknown format %q (formats: %s)", e.Format, strings.Join(Formats, ", "))
}

// Write prints the result as an aligned table, CSV (with a header) or JSON
// lines (one object per row).
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(r.Columns, "\t"))
		for _, row := range r.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = text(v)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "(%d rows)\n", len(r.Rows))
		return err
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(r.Columns); err != nil {
			return err
		}
		for _, row := range r.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				if v != nil {
					cells[i] = text(v)
				}
			}
			if err := cw.Write(cells); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "json":
		enc := json.NewEncoder(w)
		for _, row := range r.Rows {
			obj := make(map[string]any, len(row))
			for i, v := range row {
				obj[r.Columns[i]] = jsonValue(v)
			}
			if err := enc.Encode(obj); err != nil {
				return err
			}
		}
		return nil
	}
	return &FormatError{Format: format}
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	case map[string]any, []any:
		// JSON-typed columns (evidence, tags, errors) come back decoded.
		if b, err := json.Marshal(x); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return string(x)
	case nil, bool, string, float64, float32, int, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return x
	}
	if b, err := json.Marshal(v); err == nil && json.Valid(b) {
		return json.RawMessage(b)
	}
	return text(v)
}

// IsSQLError reports whether err is a query DuckDB refused.
func IsSQLError(err error) bool {
	var se *SQLError
	return errors.As(err, &se)
}

// statementKind is a statement's first keyword, for messages.
func statementKind(query string) string {
	f := keywords(query, 1)
	if len(f) == 0 {
		return "empty"
	}
	return f[0]
}

// keywords returns up to n leading words of query, upper case, after
// leading comments, parentheses and semicolons.
func keywords(query string, n int) []string {
	q := query
	for {
		q = strings.TrimLeft(q, "(; \t\r\n")
		switch {
		case strings.HasPrefix(q, "--"):
			_, rest, ok := strings.Cut(q, "\n")
			if !ok {
				return nil
			}
			q = rest
		case strings.HasPrefix(q, "/*"):
			_, rest, ok := strings.Cut(q[2:], "*/")
			if !ok {
				return nil
			}
			q = rest
		default:
			var out []string
			for _, w := range strings.Fields(q) {
				if len(out) == n {
					break
				}
				out = append(out, strings.ToUpper(strings.Trim(w, "(;")))
			}
			return out
		}
	}
}

// readOnlyStart says whether a statement starting with these keywords can
// only read: DuckDB's parser is not consulted first because preparing
// some statements already acts (EXPORT DATABASE creates its directory), and
// EXPLAIN ANALYZE runs the statement it explains.
func readOnlyStart(kw []string) bool {
	if len(kw) == 0 {
		return false
	}
	switch kw[0] {
	case "SELECT", "WITH", "FROM", "VALUES", "DESCRIBE", "SUMMARIZE", "SHOW":
		return true
	case "EXPLAIN":
		return len(kw) < 2 || kw[1] != "ANALYZE"
	}
	return false
}
