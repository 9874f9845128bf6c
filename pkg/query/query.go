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
	"github.com/orgscan/orgscan/pkg/textsafe"
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

// Engine is an in-memory DuckDB with views over one data directory's
// history files, locked so that a query can read those files and nothing
// else (see Open). It is safe for concurrent use; queries run one at a time.
type Engine struct {
	db *sql.DB
	// noGate skips Run's statement checks (the gate and the statement type),
	// so tests can show what the locked configuration refuses on its own.
	noGate bool
}

// lockedSettings are the DuckDB settings Open applies, in order, with the
// value duckdb_settings() then reports (checked against DuckDB 1.5.6).
// Each closes a way out of the history files:
//   - no extension is installed, auto-loaded, community-built or unsigned
//     (an http(s):// or s3:// path would otherwise download httpfs);
//   - persistent secrets are off, so ~/.duckdb/stored_secrets is never read;
//   - temp_directory is empty, so nothing spills to ./.tmp (a query larger
//     than memory fails instead), and enable_external_access = false does
//     not add ./.tmp to the allowed directories, which stay none;
//   - enable_external_access = false refuses every file, directory and URL
//     not in allowed_paths, which Open sets to exactly the history files:
//     COPY, EXPORT, ATTACH, IMPORT, INSTALL, LOAD of a file, read_text,
//     read_csv, glob, a path in FROM, ~ and .. included. It does not tell
//     reading from writing: a history file itself could be overwritten,
//     which only Run's checks prevent;
//   - lock_configuration = true, last: no SET, RESET or PRAGMA x = y can
//     change a setting after it (DuckDB exempts schema and search_path).
//     It does not cover PRAGMA enable_profiling or the table functions
//     enable_logging and enable_profiling, which Run's checks refuse.
var lockedSettings = []struct {
	name, sql, want string
	late            bool // applied after the views and allowed_paths
}{
	{"autoinstall_known_extensions", "false", "false", false},
	{"autoload_known_extensions", "false", "false", false},
	{"allow_community_extensions", "false", "false", false},
	{"allow_unsigned_extensions", "false", "false", false},
	{"allow_persistent_secrets", "false", "false", false},
	{"temp_directory", "''", "", false},
	{"allowed_directories", "[]", "[]", false},
	{"enable_external_access", "false", "false", true},
	{"lock_configuration", "true", "true", true},
}

// Open creates a view per history table over the files
// <dir>/<table>/dt=*/*.parquet present now (Hive partitioning, so `dt` is a
// column as in Athena), then locks the engine: allowed_paths is set to
// those files and lockedSettings are applied, so a query can read the
// history files but no other file, directory, URL, extension or secret, and
// can write nothing but, at most, over those files (which Run's gate
// prevents). No later statement can change a setting. findings and pairs
// must exist; inventory is there for runs that recorded it. Open fails if
// DuckDB does not report every setting as applied.
func Open(ctx context.Context, dir string) (*Engine, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var tables []string
	var allowed []string
	views := map[string]string{}
	for _, t := range Tables {
		files, _ := filepath.Glob(filepath.Join(abs, t, "dt=*", "*.parquet"))
		if len(files) == 0 {
			if t != pipeline.InventoryTable {
				return nil, &NoHistoryError{Dir: dir}
			}
			continue
		}
		tables = append(tables, t)
		// A list of the files, not a glob: listing a directory would need
		// it allowed, and an allowed directory is writable (COPY … TO could
		// add files to the history).
		quoted := make([]string, len(files))
		for i, f := range files {
			quoted[i] = sqlString(f)
		}
		views[t] = "[" + strings.Join(quoted, ", ") + "]"
		allowed = append(allowed, quoted...)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one in-memory database: views live in it
	e := &Engine{db: db}
	exec := func(what, stmt string) error {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			e.Close()
			return fmt.Errorf("open the query engine: %s: %w", what, err)
		}
		return nil
	}
	set := func(late bool) error {
		for _, s := range lockedSettings {
			if s.late == late {
				if err := exec("set "+s.name, "SET "+s.name+" = "+s.sql); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := set(false); err != nil {
		return nil, err
	}
	for _, t := range tables {
		stmt := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s, hive_partitioning = true, union_by_name = true)", t, views[t])
		if err := exec("create view "+t, stmt); err != nil {
			return nil, err
		}
	}
	if err := exec("set allowed_paths", "SET allowed_paths = ["+strings.Join(allowed, ", ")+"]"); err != nil {
		return nil, err
	}
	if err := set(true); err != nil {
		return nil, err
	}
	if err := e.checkLocked(ctx, len(allowed)); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// checkLocked reads the settings back: a DuckDB that renamed or ignored
// one must not leave the engine open.
func (e *Engine) checkLocked(ctx context.Context, paths int) error {
	for _, s := range lockedSettings {
		var got string
		err := e.db.QueryRowContext(ctx, "SELECT value FROM duckdb_settings() WHERE name = ?", s.name).Scan(&got)
		if err != nil || got != s.want {
			return fmt.Errorf("open the query engine: DuckDB setting %s is %q (%v), want %q", s.name, got, err, s.want)
		}
	}
	var n int
	if err := e.db.QueryRowContext(ctx, "SELECT len(current_setting('allowed_paths'))").Scan(&n); err != nil || n != paths {
		return fmt.Errorf("open the query engine: DuckDB allows %d paths (%v), want the %d history files", n, err, paths)
	}
	return nil
}

// sqlString quotes s as an SQL string constant.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Close releases the database.
func (e *Engine) Close() error { return e.db.Close() }

// Result is a query's columns and rows.
type Result struct {
	Columns []string
	Rows    [][]any
}

// ReadOnlyError refuses a statement that is not a query: orgscan query reads
// the history and never writes files, attaches databases, installs
// extensions or changes settings (DuckDB's COPY … TO, ATTACH, INSTALL, SET
// would, and EXPLAIN ANALYZE runs the statement it explains). Several
// statements at once are refused too (Multi), and so is a call of a
// function that changes the engine from inside a SELECT (Func).
type ReadOnlyError struct {
	Kind  string // the statement's first keyword, upper case; "EXPLAIN ANALYZE" in any spelling
	Func  string // the refused function, lower case
	Multi bool
}

func (e *ReadOnlyError) Error() string {
	switch {
	case e.Multi:
		return "one statement at a time: orgscan query runs a single SELECT (or EXPLAIN)"
	case e.Func != "":
		return e.Func + "() is refused: orgscan query only reads the history and never changes the engine's settings, logs or secrets"
	}
	return e.Kind + " statements are refused: orgscan query runs only SELECT (or EXPLAIN) and never writes"
}

// Run executes one SQL statement, which must be a SELECT or an EXPLAIN
// (not EXPLAIN ANALYZE), and returns its rows. The statement runs in a
// read-only transaction on the locked engine, after the gate (see gate)
// and DuckDB's own statement type have both found it a query. Refusals are
// *SQLError wrapping a *ReadOnlyError; DuckDB's errors are *SQLError too.
func (e *Engine) Run(ctx context.Context, query string) (*Result, error) {
	if !e.noGate {
		if err := gate(query); err != nil {
			return nil, err
		}
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Should a CREATE, DROP or INSERT get past the checks (the statement
	// of an EXPLAIN ANALYZE would, without them), it cannot touch the
	// views: DuckDB refuses writes to the database in a read-only
	// transaction (not to the temp schema, which dies with the engine).
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION READ ONLY"); err != nil {
		return nil, err
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			// Still in a transaction: the connection must not serve the
			// next query.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
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
		return nil, queryError(err)
	}
	if !e.noGate {
		// DuckDB's parser has the last word on what the statement is,
		// should the gate's reading differ.
		switch {
		case kind != duckdb.STATEMENT_TYPE_SELECT && kind != duckdb.STATEMENT_TYPE_EXPLAIN:
			return nil, &SQLError{Err: &ReadOnlyError{Kind: statementKind(query)}}
		case kind == duckdb.STATEMENT_TYPE_EXPLAIN && mentionsAnalyze(query):
			return nil, &SQLError{Err: &ReadOnlyError{Kind: "EXPLAIN ANALYZE"}}
		}
	}
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, queryError(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, queryError(err)
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
		return nil, queryError(err)
	}
	return res, nil
}

// queryError is a statement DuckDB refused; a refused path says why.
func queryError(err error) error {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypePermission {
		err = fmt.Errorf("orgscan query reads only the history files of the data directory: %w", err)
	}
	return &SQLError{Err: err}
}

// Formats are the output formats of Write.
var Formats = []string{"table", "csv", "json"}

// FormatError names an unknown output format.
type FormatError struct{ Format string }

func (e *FormatError) Error() string {
	return fmt.Sprintf("unknown format %q (formats: %s)", e.Format, strings.Join(Formats, ", "))
}

// Write prints the result as an aligned table, CSV (with a header) or JSON
// lines (one object per row). Values come from member accounts (account
// names, tags, resource names), so each format is made safe for where it
// is read:
//
//   - table: every column name and cell goes through textsafe.Terminal, so
//     a control character, a bidirectional control or invalid UTF-8 shows
//     as an escape (`\x1b`, `\n`, `\u202e`, `\xff`) and each row is one
//     line.
//   - csv: a text cell (a string or bytes value, and every column name)
//     that starts with = + - @, a tab or a carriage return gets a leading
//     single quote (textsafe.CSVCell), so a spreadsheet shows it instead of
//     evaluating a formula; numbers, times and JSON values are written as
//     they are, so -1218.3 stays a number.
//   - json: values as they are; encoding/json escapes the controls that
//     could break a line.
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		cols := make([]string, len(r.Columns))
		for i, c := range r.Columns {
			cols[i] = textsafe.Terminal(c)
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		for _, row := range r.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = textsafe.Terminal(text(v))
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
		header := make([]string, len(r.Columns))
		for i, c := range r.Columns {
			header[i] = textsafe.CSVCell(c) // a PIVOT names columns after values
		}
		if err := cw.Write(header); err != nil {
			return err
		}
		for _, row := range r.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = csvCell(v)
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

// csvCell is v's CSV text: empty for NULL, and a text value neutralised
// against formulas. Whether to neutralise is decided by v's type, not by
// its text: a DOUBLE or DECIMAL of -1218.3 is a number and stays one, a
// VARCHAR of "-2+3" is text a spreadsheet would evaluate.
func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return textsafe.CSVCell(x)
	case []byte:
		return textsafe.CSVCell(string(x))
	}
	return text(v)
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
