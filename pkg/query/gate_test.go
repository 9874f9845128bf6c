package query

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// gateCases are statements and what the gate makes of them: "" lets it
// through, "multi", "func:NAME", "error" (a malformed statement) or the
// refused statement's kind.
var gateCases = []struct{ sql, want string }{
	{"SELECT 1", ""},
	{"select 1;", ""},
	{"SELECT 1;;\n", ""},
	{"(SELECT 1)", ""},
	{"WITH a AS (SELECT 1) SELECT * FROM a", ""},
	{"FROM findings", ""},
	{"VALUES (1)", ""},
	{"DESCRIBE findings", ""},
	{"SUMMARIZE findings", ""},
	{"SHOW TABLES", ""},
	{"EXPLAIN SELECT 1", ""},
	{"EXPLAIN (FORMAT json) SELECT 1", ""},
	{"-- a note\n/* and /* a nested */ one */ SELECT 1", ""},
	{"SELECT 'enable_logging()', 'it''s'", ""},
	{"SELECT 1 AS query, checkpoint FROM (SELECT 2 AS checkpoint)", ""},
	{"SELECT $$enable_logging()$$, $t$ ' $t$", ""},
	{`SELECT E'\'enable_logging()'`, ""},
	{"SELECT 1 -- enable_logging(\n", ""},
	{"SELECT 'a;b' /* ; COPY x TO 'y' */", ""},
	{`SELECT "query" FROM (SELECT 1 AS "query")`, ""},
	{"SELECT $1, $name", ""},

	{"", "empty"},
	{"-- only a comment", "empty"},
	{"COPY findings TO 'x.csv'", "COPY"},
	{"  \n-- c\n/* d */ copy findings TO 'x.csv'", "COPY"},
	{"(COPY findings TO 'x.csv')", "COPY"},
	{`"SELECT" 1`, `"SELECT"`},
	{"PRAGMA version", "PRAGMA"},
	{"SET threads = 1", "SET"},
	{"CALL enable_logging()", "CALL"},
	{"ATTACH ':memory:' AS m", "ATTACH"},
	{"INSTALL httpfs", "INSTALL"},
	{"LOAD httpfs", "LOAD"},
	{"CHECKPOINT", "CHECKPOINT"},
	{"ANALYZE", "ANALYZE"},
	{"EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE"},
	{"EXPLAIN ANALYSE SELECT 1", "EXPLAIN ANALYZE"},
	{"explain /*c*/ analyze SELECT 1", "EXPLAIN ANALYZE"},
	{"EXPLAIN --c\nANALYZE SELECT 1", "EXPLAIN ANALYZE"},
	{"EXPLAIN --c\rANALYZE SELECT 1", "EXPLAIN ANALYZE"},
	{"EXPLAIN (ANALYZE) SELECT 1", "EXPLAIN ANALYZE"},
	{"EXPLAIN ( analyse true ) SELECT 1", "EXPLAIN ANALYZE"},
	{"EXPLAIN (FORMAT JSON, ANALYZE) SELECT 1", "EXPLAIN ANALYZE"},
	{"EXPLAIN /* /* */ */ ANALYZE SELECT 1", "EXPLAIN ANALYZE"},
	{"EXPLAIN SELECT 'analyze'", "EXPLAIN ANALYZE"}, // refused too: simpler than exact
	{"(EXPLAIN ANALYZE SELECT 1)", "EXPLAIN ANALYZE"},

	{"SELECT 1; SELECT 2", "multi"},
	{"SELECT 1;; COPY findings TO 'x'", "multi"},
	{"SELECT 1 -- x\n; SELECT 2", "multi"},
	{"SELECT 1; -- x\n", ""},

	{"SELECT * FROM enable_logging()", "func:enable_logging"},
	{"SELECT * FROM ENABLE_LOGGING (storage := 'file')", "func:enable_logging"},
	{"SELECT * FROM enable_logging/* x */()", "func:enable_logging"},
	{"SELECT * FROM system.main.enable_profiling()", "func:enable_profiling"},
	{`SELECT * FROM "Enable_Logging"()`, "func:enable_logging"},
	{"SELECT * FROM query('SELECT 1')", "func:query"},
	{"SELECT * FROM query_table('findings')", "func:query_table"},
	{"WITH x AS (SELECT * FROM checkpoint()) SELECT 1", "func:checkpoint"},
	{"SELECT * FROM duckdb_secrets()", "func:duckdb_secrets"},
	{"SELECT write_log('x')", "func:write_log"},
	// Quoting that ends where DuckDB ends it.
	{"SELECT $$'$$, enable_logging()", "func:enable_logging"},
	{`SELECT E'\'', enable_logging()`, "func:enable_logging"},
	{"SELECT 'it''s', enable_logging()", "func:enable_logging"},
	{`SELECT "a""b", enable_logging()`, "func:enable_logging"},
	{"SELECT /* /* */ */ enable_logging()", "func:enable_logging"},
	{"SELECT 1 --x\renable_logging()", "func:enable_logging"},
	{"SELECT 1enable_logging()", "func:enable_logging"},

	{"SELECT 'abc", "error"},
	{"SELECT /* x", "error"},
	{"SELECT $t$abc", "error"},
	{`SELECT "abc`, "error"},
	{`SELECT E'abc\'`, "error"},
}

func TestGate(t *testing.T) {
	t.Parallel()
	for _, tc := range gateCases {
		err := gate(tc.sql)
		var ro *ReadOnlyError
		got := ""
		switch {
		case err == nil:
		case !IsSQLError(err):
			got = "not an SQLError: " + err.Error()
		case !errors.As(err, &ro):
			got = "error"
		case ro.Multi:
			got = "multi"
		case ro.Func != "":
			got = "func:" + ro.Func
		default:
			got = ro.Kind
		}
		if got != tc.want {
			t.Errorf("gate(%q) = %q (%v), want %q", tc.sql, got, err, tc.want)
		}
	}
}

// FuzzGate checks the gate against DuckDB's own parser: a statement the
// gate lets through must not call a denied function in the syntax tree
// DuckDB builds of it (json_serialize_sql, for SELECT-like statements).
// `go test` runs the seeds; `go test -fuzz FuzzGate` looks further.
func FuzzGate(f *testing.F) {
	for _, tc := range gateCases {
		f.Add(tc.sql)
	}
	for _, s := range []string{
		"SELECT * FROM enable_logging()",
		"SELECT $a$ $$ $a$, enable_logging()",
		"SELECT e'\\\\', enable_logging()",
		"SELECT x$$ FROM (SELECT 1 AS x$$) /* $$ */, enable_logging()",
		"SELECT 1 AS \"--\", enable_logging()",
		"SELECT * FROM (SELECT 1) t(enable_logging), enable_logging()",
	} {
		f.Add(s)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	// calls are the functions DuckDB's syntax tree of q calls; none if
	// DuckDB cannot serialize q (not a SELECT, or malformed).
	calls := func(q string) ([]string, error) {
		var js string
		if err := db.QueryRow("SELECT json_serialize_sql(?::VARCHAR)::VARCHAR", q).Scan(&js); err != nil {
			return nil, nil
		}
		var tree any
		if err := json.Unmarshal([]byte(js), &tree); err != nil {
			return nil, err
		}
		return functionNames(tree, nil), nil
	}
	// The check is worth something only if the tree names the calls.
	if got, err := calls("SELECT * FROM system.main.enable_logging()"); err != nil || len(got) != 1 || got[0] != "enable_logging" {
		f.Fatalf("json_serialize_sql names %v (%v), want [enable_logging]", got, err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if gate(q) != nil {
			return
		}
		names, err := calls(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if deniedFuncs[strings.ToLower(name)] {
				t.Errorf("gate let %q through, DuckDB reads a call of %s", q, name)
			}
		}
	})
}

// functionNames collects every "function_name" in a serialized syntax tree.
func functionNames(v any, names []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "function_name" {
				names = append(names, s)
			}
			names = functionNames(c, names)
		}
	case []any:
		for _, c := range x {
			names = functionNames(c, names)
		}
	}
	return names
}
