package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// alone is what the locked engine does with an escape when Run's checks
// are off (Engine.noGate).
type alone int

const (
	refused  alone = iota // DuckDB refuses it: an error, nothing read or written
	inMemory              // it may run, but only the in-memory database changes
	unsafe                // it would escape or crash: only Run's checks stop it
)

type escape struct {
	name  string
	sql   string
	gate  bool  // the gate refuses it before DuckDB sees it (*ReadOnlyError)
	alone alone // without them
	why   string
}

// escapes are the statements that would read or write outside the history
// files, change the engine, or run what they explain. data is the data
// directory, out a directory next to it holding the canary files, history
// one of the history files ({data}, {out} and {history} in the SQL).
func escapes(data, out, history string) []escape {
	r := strings.NewReplacer("{data}", data, "{out}", out, "{history}", history).Replace
	var es []escape
	add := func(name, sql string, gate bool, a alone, why string) {
		es = append(es, escape{name, r(sql), gate, a, why})
	}
	// What EXPLAIN ANALYZE would run, in each spelling of it.
	payloads := []struct {
		name, sql string
		alone     alone
		why       string
	}{
		{"copy out", "COPY findings TO '{out}/leak.parquet' (FORMAT parquet)", refused, ""},
		{"copy data", "COPY findings TO '{data}/leak.parquet' (FORMAT parquet)", refused, ""},
		{"copy over history", "COPY (SELECT 'forged' AS finding_id) TO '{history}' (FORMAT parquet, USE_TMP_FILE false)", unsafe,
			"allowed_paths lets DuckDB write the history files it lets it read"},
		{"create table as", "CREATE TABLE t AS SELECT * FROM findings", refused, ""},
		{"install", "INSTALL httpfs", refused, ""},
		{"set", "SET enable_external_access = true", refused, ""},
		{"pragma", "PRAGMA enable_profiling = 'json'", refused, ""},
		{"attach", "ATTACH '{out}/x.db' AS x", refused, ""},
		{"export", "EXPORT DATABASE '{out}/exp'", refused, ""},
	}
	spellings := []struct{ name, prefix string }{
		{"ANALYZE", "EXPLAIN ANALYZE "},
		{"ANALYSE", "EXPLAIN ANALYSE "},
		{"block comment", "EXPLAIN /*c*/ ANALYZE "},
		{"line comment", "EXPLAIN --c\nANALYZE "},
		{"option", "EXPLAIN (ANALYZE) "},
		{"option list", "EXPLAIN (FORMAT JSON, ANALYZE) "},
		{"lower case nested comment", "explain /* /* */ */ analyse "},
	}
	for _, sp := range spellings {
		for _, p := range payloads {
			add("explain "+sp.name+" "+p.name, sp.prefix+p.sql, true, p.alone, p.why)
		}
	}
	for _, e := range []escape{
		// Writes.
		{"copy out", "COPY findings TO '{out}/leak.parquet' (FORMAT parquet)", true, refused, ""},
		{"copy csv out", "COPY (SELECT 1) TO '{out}/leak.csv'", true, refused, ""},
		{"copy data", "COPY findings TO '{data}/leak.parquet' (FORMAT parquet)", true, refused, ""},
		{"copy next to data", "COPY findings TO '{data}/../leak.parquet' (FORMAT parquet)", true, refused, ""},
		{"copy over history", "COPY (SELECT 'forged' AS finding_id) TO '{history}' (FORMAT parquet, USE_TMP_FILE false)", true, unsafe,
			"allowed_paths lets DuckDB write the history files it lets it read"},
		{"export", "EXPORT DATABASE '{out}/exp'", true, refused, ""},
		{"export data", "EXPORT DATABASE '{data}/exp'", true, refused, ""},
		{"attach", "ATTACH '{out}/x.db' AS x", true, refused, ""},
		{"attach data", "ATTACH '{data}/x.db' AS x", true, refused, ""},
		{"attach memory", "ATTACH ':memory:' AS m", true, inMemory, "an in-memory database"},
		{"create table", "CREATE TABLE t AS SELECT * FROM findings", true, refused, ""},
		{"create temp table", "CREATE TEMP TABLE t AS SELECT 1", true, inMemory, "the temp catalog takes writes in a read-only transaction"},
		{"replace view", "CREATE OR REPLACE VIEW findings AS SELECT 1 AS forged", true, refused, ""},
		{"drop view", "DROP VIEW findings", true, refused, ""},
		{"checkpoint", "CHECKPOINT", true, inMemory, "checkpoints the in-memory database"},
		{"multi", "SELECT 1; COPY findings TO '{out}/multi.parquet'", true, refused, ""},
		{"multi copy first", "COPY findings TO '{out}/multi.parquet'; SELECT 1", true, refused, ""},
		// Extensions.
		{"install", "INSTALL httpfs", true, refused, ""},
		{"install from url", "INSTALL x FROM 'http://127.0.0.1:1/'", true, refused, ""},
		{"force install", "FORCE INSTALL json", true, refused, ""},
		{"load", "LOAD httpfs", true, refused, ""},
		{"load file", "LOAD '{out}/x.duckdb_extension'", true, refused, ""},
		{"remote read", "SELECT * FROM read_parquet('https://127.0.0.1:1/x.parquet')", false, refused, ""},
		{"s3 read", "SELECT * FROM read_csv('s3://bucket/x.csv')", false, refused, ""},
		// Settings.
		{"set external access", "SET enable_external_access = true", true, refused, ""},
		{"set allowed directories", "SET allowed_directories = ['/']", true, refused, ""},
		{"set allowed paths", "SET allowed_paths = ['/etc/passwd']", true, refused, ""},
		{"unlock", "SET lock_configuration = false", true, refused, ""},
		{"reset", "RESET lock_configuration", true, refused, ""},
		{"set home", "SET home_directory = '{out}'", true, refused, ""},
		{"set temp directory", "SET temp_directory = '{out}'", true, refused, ""},
		{"set secret directory", "SET secret_directory = '{out}'", true, refused, ""},
		{"set community extensions", "SET allow_community_extensions = true", true, refused, ""},
		{"set profiling output", "SET profiling_output = '{out}/p.json'", true, refused, ""},
		{"set threads", "SET threads = 1", true, refused, ""},
		{"set search path", "SET search_path = 'main'", true, inMemory, "lock_configuration exempts search_path and schema"},
		{"pragma profiling", "PRAGMA enable_profiling = 'json'", true, refused, ""},
		{"pragma profiling output", "PRAGMA profiling_output = '{out}/p.json'", true, refused, ""},
		{"pragma threads", "PRAGMA threads = 1", true, refused, ""},
		{"call", "CALL enable_logging()", true, inMemory, "logs to memory"},
		// Functions that change the engine from a SELECT.
		{"enable logging to a file", "SELECT * FROM enable_logging(storage := 'file', storage_path := '{out}/logs')", true, unsafe,
			"DuckDB refuses to create the log directory, then aborts the process when the connection closes"},
		{"enable profiling to a file", "SELECT * FROM enable_profiling(format := 'json', save_location := '{out}/p.json')", true, inMemory,
			"profiling is switched on; writing the profile is refused"},
		{"enable profiling in data", "SELECT * FROM enable_profiling(format := 'json', save_location := '{data}/p.json')", true, inMemory,
			"profiling is switched on; writing the profile is refused"},
		{"query string", "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')", true, refused, ""},
		// Reads.
		{"read_text passwd", "SELECT * FROM read_text('/etc/passwd')", false, refused, ""},
		{"read_csv passwd", "SELECT * FROM read_csv('/etc/passwd')", false, refused, ""},
		{"read_csv out", "SELECT * FROM read_csv('{out}/canary.csv')", false, refused, ""},
		{"read_csv dotdot", "SELECT * FROM read_csv('{data}/../" + filepath.Base(out) + "/canary.csv')", false, refused, ""},
		{"read_parquet out", "SELECT * FROM read_parquet('{out}/canary.parquet')", false, refused, ""},
		{"read_json out", "SELECT * FROM read_json_auto('{out}/canary.json')", false, refused, ""},
		{"read_blob", "SELECT * FROM read_blob('{out}/canary.csv')", false, refused, ""},
		{"replacement scan", "SELECT * FROM '{out}/canary.csv'", false, refused, ""},
		{"sniff_csv", "SELECT * FROM sniff_csv('{out}/canary.csv')", false, refused, ""},
		{"parquet_metadata", "SELECT * FROM parquet_metadata('{out}/canary.parquet')", false, refused, ""},
		{"read_duckdb", "SELECT * FROM read_duckdb('{out}/canary.db')", false, refused, ""},
		{"home", "SELECT * FROM read_text('~/.duckdb/stored_secrets/planted.duckdb_secret')", false, refused, ""},
		{"glob home", "SELECT * FROM glob('/home/*')", false, refused, ""},
		{"glob out", "SELECT * FROM glob('{out}/*')", false, refused, ""},
		{"glob data", "SELECT * FROM glob('{data}/*')", false, refused, ""},
		{"import", "IMPORT DATABASE '{out}/exp'", true, refused, ""},
		{"getenv", "SELECT getenv('HOME')", false, refused, ""},
		// Secrets: none are loaded from ~/.duckdb (a planted one must not show).
		{"duckdb_secrets", "SELECT * FROM duckdb_secrets()", true, inMemory, "lists no secret"},
		{"which_secret", "SELECT * FROM which_secret('http://x/', 'http')", true, inMemory, "finds no secret"},
		{"create secret", "CREATE SECRET s (TYPE http, BEARER_TOKEN 'x')", true, inMemory, "a temporary secret"},
		{"create persistent secret", "CREATE PERSISTENT SECRET s (TYPE http, BEARER_TOKEN 'x')", true, refused, ""},
	} {
		add(e.name, e.sql, e.gate, e.alone, e.why)
	}
	return es
}

// TestLockedEngineEscapes runs every escape on a fresh engine twice: with
// Run's checks, which must refuse it, and without them, where the locked
// DuckDB configuration alone must refuse it or keep it in memory. Either
// way nothing in the test's directories (data, the canary directory next
// to it, HOME with ~/.duckdb) may change, and no canary may show in a
// result or error. Not parallel: it sets HOME, which DuckDB reads.
func TestLockedEngineEscapes(t *testing.T) {
	data := fixture(t)
	root := filepath.Dir(data) // every t.TempDir of this test
	out, home := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	history, _ := filepath.Glob(filepath.Join(data, "findings", "dt=*", "*.parquet"))
	canary := fmt.Sprintf("orgscan-canary-%d", time.Now().UnixNano())
	plant(t, out, canary)

	for _, gated := range []bool{true, false} {
		mode := "gate"
		if !gated {
			mode = "no gate"
		}
		t.Run(mode, func(t *testing.T) {
			for _, tc := range escapes(data, out, history[0]) {
				t.Run(tc.name, func(t *testing.T) {
					if !gated && tc.alone == unsafe {
						t.Skipf("the locked engine alone does not stop it: %s", tc.why)
					}
					before := snapshot(t, root)
					tmpBefore := exists(".tmp")
					e, err := Open(context.Background(), data)
					if err != nil {
						t.Fatal(err)
					}
					e.noGate = !gated
					res, err := e.Run(context.Background(), tc.sql)
					t.Logf("%s: %v", tc.sql, err)
					// Whatever the statement switched on acts on the next one.
					after, afterErr := e.Run(context.Background(), "SELECT count(*) FROM findings")
					if err := e.Close(); err != nil {
						t.Errorf("close: %v", err)
					}
					var ro *ReadOnlyError
					switch {
					case gated && tc.gate && !errors.As(err, &ro):
						t.Errorf("%s: err = %v, want a ReadOnlyError", tc.sql, err)
					case gated && tc.gate && gate(tc.sql) == nil:
						t.Errorf("%s: refused only after DuckDB prepared it, want the gate to refuse it", tc.sql)
					case (gated || tc.alone == refused) && err == nil:
						t.Errorf("%s: ran, want an error", tc.sql)
					}
					// Errors may echo a path (…/planted.duckdb_secret), never
					// what a file holds.
					var rows string
					for _, r := range []*Result{res, after} {
						if r != nil {
							rows += fmt.Sprint(r.Rows)
						}
					}
					for _, leak := range []string{canary, "root:x:0:0"} {
						if strings.Contains(rows+fmt.Sprint(err, afterErr), leak) {
							t.Errorf("%s: %q read: %s %v", tc.sql, leak, rows, err)
						}
					}
					if strings.Contains(rows, "planted") {
						t.Errorf("%s: the secret in HOME was loaded: %s", tc.sql, rows)
					}
					if diff := snapshot(t, root).diff(before); diff != "" {
						t.Errorf("%s changed the files:\n%s", tc.sql, diff)
					}
					if exists(".tmp") != tmpBefore {
						t.Errorf("%s: DuckDB created ./.tmp", tc.sql)
					}
				})
			}
		})
	}
}

// plant writes the canary into files of every format next to the data
// directory, an exported database to IMPORT, and a persistent DuckDB secret
// into $HOME/.duckdb, with an unlocked DuckDB.
func plant(t *testing.T, out, canary string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(out, "canary.csv"), []byte("secret\n"+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "canary.json"), []byte(`{"secret":"`+canary+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", filepath.Join(out, "canary.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := strings.NewReplacer("{out}", out, "{canary}", canary).Replace
	for _, s := range []string{
		"CREATE TABLE canary AS SELECT '{canary}' AS secret",
		"COPY canary TO '{out}/canary.parquet' (FORMAT parquet)",
		"EXPORT DATABASE '{out}/exp'",
		"CREATE PERSISTENT SECRET planted (TYPE http, BEARER_TOKEN '{canary}')",
	} {
		if _, err := db.Exec(q(s)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("HOME"), ".duckdb", "stored_secrets", "planted.duckdb_secret")); err != nil {
		t.Fatalf("the planted secret is not in HOME: %v", err)
	}
}

type fileState struct {
	size  int64
	mode  fs.FileMode
	mtime int64 // ns
}

type tree map[string]fileState

// snapshot records every file and directory under root.
func snapshot(t *testing.T, root string) tree {
	t.Helper()
	s := tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s[p] = fileState{fi.Size(), fi.Mode(), fi.ModTime().UnixNano()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// diff lists what was added, removed or changed since before.
func (s tree) diff(before tree) string {
	var b strings.Builder
	for p, st := range s {
		if was, ok := before[p]; !ok {
			fmt.Fprintf(&b, "  added %s\n", p)
		} else if was != st {
			fmt.Fprintf(&b, "  changed %s: %+v -> %+v\n", p, was, st)
		}
	}
	for p := range before {
		if _, ok := s[p]; !ok {
			fmt.Fprintf(&b, "  removed %s\n", p)
		}
	}
	return b.String()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
