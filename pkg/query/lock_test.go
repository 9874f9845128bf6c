package query

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Open locks the engine with exactly the settings it means to, and the
// views, created before the lock, still read the history: plain SELECTs,
// DESCRIBE, SUMMARIZE, EXPLAIN, the dt partition column, a history file by
// path.
func TestOpenLocksEngine(t *testing.T) {
	t.Parallel()
	dir := fixture(t)
	e, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	run := func(q string) *Result {
		t.Helper()
		res, err := e.Run(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return res
	}
	t.Logf("DuckDB %v", run("SELECT version()").Rows[0][0])

	got := map[string]any{}
	for _, row := range run("SELECT name, value FROM duckdb_settings()").Rows {
		got[row[0].(string)] = row[1]
	}
	for _, s := range lockedSettings {
		if got[s.name] != s.want {
			t.Errorf("%s = %v, want %q", s.name, got[s.name], s.want)
		}
	}
	var history []string
	for _, t := range Tables {
		files, _ := filepath.Glob(filepath.Join(dir, t, "dt=*", "*.parquet"))
		history = append(history, files...)
	}
	slices.Sort(history)
	var paths []string
	for _, row := range run("SELECT unnest(current_setting('allowed_paths')) ORDER BY 1").Rows {
		paths = append(paths, row[0].(string))
	}
	if !slices.Equal(paths, history) {
		t.Errorf("allowed_paths = %v, want the history files %v", paths, history)
	}

	for q, rows := range map[string]int{
		"SELECT * FROM findings":                                              9,
		"SELECT * FROM pairs WHERE status = 'failed'":                         1,
		"SELECT DISTINCT dt FROM findings":                                    3,
		"FROM findings JOIN pairs USING (run_id, account_id, region) LIMIT 2": 2,
		"DESCRIBE findings":                                                   -1,
		"SUMMARIZE pairs":                                                     -1,
		"EXPLAIN SELECT count(*) FROM findings":                               -1,
		"SHOW TABLES":                                                         2,
		"SELECT count(*) FROM read_parquet('" + history[0] + "')":             1,
	} {
		if n := len(run(q).Rows); rows >= 0 && n != rows {
			t.Errorf("%s: %d rows, want %d", q, n, rows)
		}
	}
	// A refusal leaves the engine usable.
	if _, err := e.Run(context.Background(), "SELECT * FROM read_text('/etc/passwd')"); err == nil {
		t.Fatal("read /etc/passwd")
	}
	if n := run("SELECT count(*) FROM findings").Rows[0][0]; fmt.Sprint(n) != "9" {
		t.Errorf("count after a refusal: %v", n)
	}
}

// A relative data directory works: the views and allowed_paths name the
// same absolute files.
func TestOpenRelativeDir(t *testing.T) {
	t.Parallel()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(cwd, fixture(t))
	if err != nil {
		t.Skipf("no relative path to the fixture: %v", err)
	}
	e, err := Open(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Run(context.Background(), "SELECT count(*) FROM findings"); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// Every table function of the linked DuckDB has been looked at: a SELECT
// can call any of them, so a new one (a DuckDB upgrade) must be reviewed
// and added to deniedFuncs or to reviewed below.
func TestTableFunctionsReviewed(t *testing.T) {
	t.Parallel()
	reviewed := map[string]string{}
	for why, names := range map[string][]string{
		"reads a path, bounded by allowed_paths": {"glob", "read_blob", "read_csv", "read_csv_auto",
			"read_duckdb", "read_json", "read_json_auto", "read_json_objects", "read_json_objects_auto",
			"read_ndjson", "read_ndjson_auto", "read_ndjson_objects", "read_parquet", "read_text", "sniff_csv",
			"parquet_bloom_probe", "parquet_file_metadata", "parquet_full_metadata", "parquet_kv_metadata",
			"parquet_metadata", "parquet_scan", "parquet_schema", "duckdb_extensions"},
		"lists the in-memory catalog or engine state": {"duckdb_approx_database_count", "duckdb_columns",
			"duckdb_connection_count", "duckdb_constraints", "duckdb_coordinate_systems", "duckdb_databases",
			"duckdb_dependencies", "duckdb_external_file_cache", "duckdb_functions", "duckdb_indexes",
			"duckdb_keywords", "duckdb_log_contexts", "duckdb_logs", "duckdb_memory", "duckdb_optimizers",
			"duckdb_prepared_statements", "duckdb_schemas", "duckdb_secret_types", "duckdb_sequences",
			"duckdb_settings", "duckdb_table_sample", "duckdb_tables", "duckdb_temporary_files", "duckdb_types",
			"duckdb_variables", "duckdb_views", "icu_calendar_names", "pg_timezone_names", "pragma_collations",
			"pragma_database_size", "pragma_metadata_info", "pragma_platform", "pragma_show",
			"pragma_storage_info", "pragma_table_info", "pragma_user_agent", "pragma_version",
			"duckdb_logs_parsed", "duckdb_profiling_settings"},
		"computes from its arguments": {"generate_series", "range", "repeat", "repeat_row", "unnest",
			"json_each", "json_tree", "summary", "histogram", "histogram_values", "test_all_types",
			"test_vector_types", "check_peg_parser", "sql_auto_complete", "seq_scan"},
	} {
		for _, n := range names {
			reviewed[n] = why
		}
	}
	e, err := Open(context.Background(), fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Run(context.Background(),
		"SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro') ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range res.Rows {
		name := row[0].(string)
		if deniedFuncs[name] && reviewed[name] != "" {
			t.Errorf("%s is both denied and reviewed", name)
		}
		if !deniedFuncs[name] && reviewed[name] == "" {
			t.Errorf("table function %s is new: review it, then add it to deniedFuncs or to reviewed", name)
		}
	}
}
