package history

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"github.com/orgscan/orgscan/pkg/history/internal/parquetfile"
)

// DuckDB (the engine behind orgscan query, and a reader independent of
// parquet-go) reads every table's files: the column types it sees, every
// value, and an empty file.
func TestDuckDBReadsTables(t *testing.T) {
	t.Parallel()
	db := duckDB(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 11))
	t.Run("findings", func(t *testing.T) {
		rows := append(findingEdges(), randomRows[FindingRow](rng, 3000, true)...)
		rows[0].FirstSeen, rows[0].ResolvedAt = time.Time{}, &time.Time{} // the zero time: year 1
		rows[1].LastSeen = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
		checkDuckDB(t, db, writeFile(t, dir, "findings", NewFindingWriter, rows), rows)
		checkDuckDB(t, db, writeFile(t, dir, "no-findings", NewFindingWriter, nil), []FindingRow(nil))
	})
	t.Run("pairs", func(t *testing.T) {
		rows := append(pairEdges(), randomRows[PairRow](rng, 1000, true)...)
		checkDuckDB(t, db, writeFile(t, dir, "pairs", NewPairWriter, rows), rows)
	})
	t.Run("inventory", func(t *testing.T) {
		rows := append(inventoryEdges(), randomRows[InventoryRow](rng, 1000, true)...)
		checkDuckDB(t, db, writeFile(t, dir, "inventory", NewInventoryWriter, rows), rows)
	})
	var got string
	if err := db.QueryRow(`SELECT string_agg(column_name || ' ' || column_type, ', ') FROM (DESCRIBE SELECT * FROM read_parquet(?))`,
		filepath.Join(dir, "pairs.parquet")).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := "run_id VARCHAR, run_started_at TIMESTAMP WITH TIME ZONE, account_id VARCHAR, account_name VARCHAR, region VARCHAR, status VARCHAR, " +
		"findings BIGINT, candidates BIGINT, metrics_requested BIGINT, api_calls BIGINT, errors JSON, duration_ms BIGINT"
	if got != want {
		t.Errorf("DuckDB's pairs columns:\n%s\nwant:\n%s", got, want)
	}
}

// DuckDB prunes row groups by their statistics: filters on files of many
// small row groups of ascending values (so most row groups are skipped)
// return exactly the matching rows. Wrong min or max statistics would lose
// rows here.
func TestDuckDBFiltersOnStatistics(t *testing.T) {
	t.Parallel()
	db := duckDB(t)
	s := parquetfile.Schema{Name: "stats", Columns: []parquetfile.Column{
		{Name: "i", Type: parquetfile.Int64},
		{Name: "d", Type: parquetfile.Double, Optional: true},
		{Name: "s", Type: parquetfile.String, Dictionary: true},
		{Name: "p", Type: parquetfile.String},
		{Name: "t", Type: parquetfile.Timestamp, Optional: true},
	}}
	const n = 5000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	w, err := parquetfile.NewWriter(&buf, s, parquetfile.Options{RowGroupRows: 97, PageBytes: 200})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d, ts := parquetfile.DoubleValue(float64(i-n/2)/4), parquetfile.TimestampValue(base.Add(time.Duration(i)*time.Minute))
		if i%7 == 0 {
			d, ts = parquetfile.Null(), parquetfile.Null()
		}
		row := []parquetfile.Value{parquetfile.Int64Value(int64(i - n/2)), d, parquetfile.StringValue(fmt.Sprintf("k%03d", i/50)),
			parquetfile.StringValue(fmt.Sprintf("v%06d", i)), ts}
		if err := w.WriteRow(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stats.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	count := func(i int) bool { return i%7 != 0 }
	for _, tc := range []struct {
		where string
		want  func(i int) bool
	}{
		{"i BETWEEN -100 AND 100", func(i int) bool { return i-n/2 >= -100 && i-n/2 <= 100 }},
		{"i < -2400 OR i >= 2490", func(i int) bool { return i-n/2 < -2400 || i-n/2 >= 2490 }},
		{"d > 600", func(i int) bool { return count(i) && float64(i-n/2)/4 > 600 }},
		{"d = 0", func(i int) bool { return count(i) && i == n/2 }},
		{"d IS NULL", func(i int) bool { return !count(i) }},
		{"s = 'k042'", func(i int) bool { return i/50 == 42 }},
		{"s >= 'k099'", func(i int) bool { return i/50 >= 99 }},
		{"p BETWEEN 'v001000' AND 'v001009'", func(i int) bool { return i >= 1000 && i <= 1009 }},
		{"t >= TIMESTAMPTZ '2026-01-03 12:00:00+00'", func(i int) bool { return count(i) && i >= 3600 }},
	} {
		want := 0
		for i := range n {
			if tc.want(i) {
				want++
			}
		}
		var got int
		if err := db.QueryRow("SELECT count(*) FROM read_parquet(?) WHERE "+tc.where, path).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("WHERE %s: %d rows, want %d", tc.where, got, want)
		}
	}
	var groups int
	if err := db.QueryRow("SELECT count(DISTINCT row_group_id) FROM parquet_metadata(?)", path).Scan(&groups); err != nil || groups != (n+96)/97 {
		t.Errorf("%d row groups (%v)", groups, err)
	}
}

func duckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randomRows[R any](rng *rand.Rand, n int, distinct bool) []R {
	rows := make([]R, n)
	for i := range rows {
		rows[i] = randomRow[R](rng, distinct)
	}
	return rows
}

func writeFile[R any](t *testing.T, dir, name string, newWriter func(io.Writer) *Writer[R], rows []R) string {
	t.Helper()
	var buf bytes.Buffer
	writeRows(t, newWriter(&buf), rows)
	path := filepath.Join(dir, name+".parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkDuckDB reads the file at path with DuckDB, in file order, and
// compares every value with rows: timestamps as epoch milliseconds (which
// covers years DuckDB's Go driver cannot convert), JSON as its text.
func checkDuckDB[R any](t *testing.T, db *sql.DB, path string, rows []R) {
	t.Helper()
	cols, err := Columns(*new(R))
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, c := range cols {
		switch {
		case c.Type == "timestamp":
			exprs = append(exprs, "epoch_ms("+c.Name+")")
		default:
			exprs = append(exprs, "CAST("+c.Name+" AS "+map[string]string{"string": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE"}[c.Type]+")")
		}
	}
	res, err := db.Query("SELECT "+strings.Join(exprs, ", ")+" FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number", path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	i := 0
	for ; res.Next(); i++ {
		got := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for j := range got {
			ptrs[j] = &got[j]
		}
		if err := res.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		if i >= len(rows) {
			continue
		}
		want := reflect.ValueOf(rows[i])
		for j := range cols {
			if w := duckValue(want.Field(j)); !sameDuck(w, got[j]) {
				t.Fatalf("row %d column %s: DuckDB read %#v, want %#v", i, cols[j].Name, got[j], w)
			}
		}
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(rows) {
		t.Fatalf("DuckDB read %d rows, wrote %d", i, len(rows))
	}
}

// duckValue is how a field reads through checkDuckDB's query.
func duckValue(f reflect.Value) any {
	switch v := f.Interface().(type) {
	case time.Time:
		return v.UnixMilli()
	case *time.Time:
		if v == nil {
			return nil
		}
		return v.UnixMilli()
	case *float64:
		if v == nil {
			return nil
		}
		return *v
	}
	return f.Interface()
}

func sameDuck(want, got any) bool {
	if w, ok := want.(float64); ok {
		g, ok := got.(float64)
		return ok && (math.IsNaN(w) && math.IsNaN(g) || math.Float64bits(w) == math.Float64bits(g))
	}
	return want == got
}
