package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// The files are read back with parquet-go (a test-only dependency), which
// derives its schema from the same struct tags independently.

// The schema written is the one parquet-go derives from the row types:
// names, physical types, repetition, logical and converted types.
func TestSchemaMatchesTags(t *testing.T) {
	t.Parallel()
	for _, row := range []any{FindingRow{}, PairRow{}, InventoryRow{}} {
		t.Run(reflect.TypeOf(row).Name(), func(t *testing.T) {
			t.Parallel()
			var ours, theirs bytes.Buffer
			switch row.(type) {
			case FindingRow:
				writeRows(t, NewFindingWriter(&ours), nil)
				writeRows(t, parquet.NewGenericWriter[FindingRow](&theirs), nil)
			case PairRow:
				writeRows(t, NewPairWriter(&ours), nil)
				writeRows(t, parquet.NewGenericWriter[PairRow](&theirs), nil)
			case InventoryRow:
				writeRows(t, NewInventoryWriter(&ours), nil)
				writeRows(t, parquet.NewGenericWriter[InventoryRow](&theirs), nil)
			}
			got, want := open(t, ours.Bytes()), open(t, theirs.Bytes())
			if g, w := got.Schema().String(), parquet.SchemaOf(row).String(); g != w {
				t.Errorf("schema:\n%s\nparquet-go's:\n%s", g, w)
			}
			type element struct{ Name, Type, Repetition, Converted, Logical string }
			elements := func(f *parquet.File) []element {
				var out []element
				for _, e := range f.Metadata().Schema[1:] {
					out = append(out, element{e.Name, e.Type.V.String(), fmt.Sprint(e.RepetitionType.V), fmt.Sprint(e.ConvertedType), e.LogicalType.String()})
				}
				return out
			}
			if d := cmp.Diff(elements(want), elements(got)); d != "" {
				t.Errorf("schema elements (-parquet-go +ours):\n%s", d)
			}
			if got.Metadata().CreatedBy != "orgscan" {
				t.Errorf("created_by %q", got.Metadata().CreatedBy)
			}
		})
	}
}

// Every table round-trips: hand-written edge cases (nulls, empty strings,
// non-ASCII text, pre-epoch and sub-millisecond times), an
// empty file, and random rows (fixed seed) past 64Ki rows, so the file
// has several row groups.
func TestTablesRoundTrip(t *testing.T) {
	t.Parallel()
	t.Run("findings", func(t *testing.T) { t.Parallel(); roundTrip(t, NewFindingWriter, findingEdges()) })
	t.Run("pairs", func(t *testing.T) { t.Parallel(); roundTrip(t, NewPairWriter, pairEdges()) })
	t.Run("inventory", func(t *testing.T) { t.Parallel(); roundTrip(t, NewInventoryWriter, inventoryEdges()) })
}

type rowWriterOf[R any] interface {
	Write([]R) (int, error)
	Close() error
}

func roundTrip[R any](t *testing.T, newWriter func(w io.Writer) *Writer[R], edges []R) {
	rng := rand.New(rand.NewPCG(7, uint64(len(edges))))
	random := randomRows[R](rng, 3000, true)
	// Past 64Ki rows, so the file has two row groups; strings from the pool
	// only, as compressing 64Ki rows of distinct ones is slow under the race
	// detector.
	many := randomRows[R](rng, 64*1024+1500, false)
	for _, tc := range []struct {
		name      string
		rows      []R
		rowGroups int
	}{
		{"edge cases", edges, 1},
		{"no rows", nil, 0},
		{"random rows", random, 1},
		{"more than 64Ki rows", many, 2},
	} {
		var buf bytes.Buffer
		writeRows(t, newWriter(&buf), tc.rows)
		f := open(t, buf.Bytes())
		if n := len(f.Metadata().RowGroups); n != tc.rowGroups {
			t.Errorf("%s: %d row groups, want %d", tc.name, n, tc.rowGroups)
		}
		got, err := parquet.Read[R](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != len(tc.rows) {
			t.Fatalf("%s: read %d rows, wrote %d", tc.name, len(got), len(tc.rows))
		}
		for i, r := range tc.rows {
			// cmp.Diff only on a mismatch: it is slow on 64Ki rows.
			if want := inMillis(r); !sameRow(want, got[i]) {
				t.Fatalf("%s: row %d (-want +got):\n%s", tc.name, i, cmp.Diff(want, got[i], cmpopts.EquateNaNs()))
			}
		}
	}
}

func writeRows[R any](t *testing.T, w rowWriterOf[R], rows []R) {
	t.Helper()
	// In several calls, as the aggregator writes.
	for len(rows) > 0 {
		n := min(len(rows), 1000)
		if k, err := w.Write(rows[:n]); err != nil || k != n {
			t.Fatalf("wrote %d of %d rows: %v", k, n, err)
		}
		rows = rows[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, b []byte) *parquet.File {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var (
	edgeTime = time.Date(2026, 11, 26, 6, 0, 0, 123456789, time.FixedZone("EST", -5*3600))
	preEpoch = time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)
	unicode  = "żółw 🐢 日本語 — \u00e9\u0301 \t\n\"'\\"
)

func ptr[T any](v T) *T { return &v }

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func findingEdges() []FindingRow {
	return []FindingRow{
		// Every string empty but the JSON, null cost and resolution.
		{RunStartedAt: edgeTime, FirstSeen: edgeTime, LastSeen: edgeTime, Evidence: "null", Tags: "{}"},
		{FindingID: unicode, RunID: unicode, RunStartedAt: edgeTime, CheckID: unicode, Category: unicode, AccountID: "012345678901",
			AccountName: unicode, Region: unicode, Service: unicode, ResourceType: unicode, ResourceID: unicode, ResourceARN: unicode,
			Reason: strings.Repeat(unicode, 100), Evidence: `{"cpu":1.5,"ключ":"🐢"}`, MonthlyCostUSD: ptr(0.0), Tags: `{"":""}`,
			Status: unicode, FirstSeen: preEpoch, LastSeen: edgeTime, OpenedRunID: unicode, ResolvedAt: ptr(preEpoch)},
		{FindingID: "a", MonthlyCostUSD: ptr(math.Copysign(0, -1)), Evidence: "{}", Tags: "{}", RunStartedAt: edgeTime, FirstSeen: edgeTime,
			LastSeen: edgeTime, ResolvedAt: ptr(edgeTime.Add(time.Nanosecond))},
		{FindingID: "b", MonthlyCostUSD: ptr(math.MaxFloat64), RunStartedAt: edgeTime, FirstSeen: edgeTime, LastSeen: edgeTime, Evidence: "[]", Tags: "{}"},
		{FindingID: "c", MonthlyCostUSD: ptr(math.Inf(-1)), Reason: "\x00 NUL inside", RunStartedAt: edgeTime, FirstSeen: edgeTime, LastSeen: edgeTime,
			Evidence: `{"nan":"NaN"}`, Tags: `{"":"\u0000"}`},
	}
}

func pairEdges() []PairRow {
	return []PairRow{
		{RunStartedAt: edgeTime, Errors: "[]"},
		{RunID: unicode, RunStartedAt: edgeTime, AccountID: "000000000001", AccountName: unicode, Region: unicode, Status: "failed",
			Findings: math.MaxInt64, Candidates: math.MinInt64, MetricsRequested: -1, APICalls: 1, Errors: jsonText([]map[string]string{{"message": unicode}}), DurationMs: 0},
		{RunID: "r", RunStartedAt: preEpoch, Errors: "[]"},
	}
}

func inventoryEdges() []InventoryRow {
	return []InventoryRow{
		{RunStartedAt: preEpoch, Tags: "{}"},
		{RunID: unicode, RunStartedAt: edgeTime, AccountID: "012345678901", AccountName: unicode, Region: unicode, ResourceType: unicode,
			ResourceID: unicode, ResourceARN: unicode, Name: strings.Repeat("n", 70), State: unicode, CreatedAt: ptr(preEpoch), Tags: `{"k":"v"}`},
		{RunID: "r", RunStartedAt: edgeTime, CreatedAt: ptr(edgeTime), Tags: "{}"},
	}
}

// randomRow fills a row type's fields by their Go type and tags. Strings
// come from a small pool (dictionaries pay) in dict columns, and in every
// column unless distinct; otherwise they are mostly distinct, with
// non-ASCII text, empty strings and strings of up to 300 bytes. JSON
// columns hold valid JSON. Numbers include the extremes (NaN, ±Inf, -0),
// instants span about three centuries with nanoseconds, and about a
// quarter of optional cells are null.
func randomRow[R any](rng *rand.Rand, distinct bool) R {
	var r R
	v := reflect.ValueOf(&r).Elem()
	pool := []string{"", "us-east-1", "eu-west-1", "012345678901", "żółw 🐢", "open", "resolved"}
	str := func() string {
		switch rng.IntN(6) {
		case 0:
			return pool[rng.IntN(len(pool))]
		case 1:
			return strings.Repeat("é🐢", rng.IntN(50))
		}
		return fmt.Sprintf("res-%x", rng.Uint64())
	}
	if !distinct {
		str = func() string { return pool[rng.IntN(len(pool))] }
	}
	// Instants parquet-go can read back: its reader goes through
	// nanoseconds since the epoch, which span the years 1678 to 2261 only
	// (TestTimeRange covers the rest).
	instant := func() time.Time {
		return time.Unix(rng.Int64N(9e9)-9e9/2, rng.Int64N(1e9))
	}
	ints := []int64{0, -1, math.MaxInt64, math.MinInt64}
	floats := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.SmallestNonzeroFloat64}
	for i := range v.NumField() {
		f, tag := v.Field(i), v.Type().Field(i).Tag.Get("parquet")
		null := rng.IntN(4) == 0
		switch f.Interface().(type) {
		case string:
			switch {
			case strings.Contains(tag, ",json"):
				f.SetString(jsonText(map[string]int64{str(): rng.Int64()}))
			case strings.Contains(tag, ",dict"):
				f.SetString(pool[rng.IntN(len(pool))])
			default:
				f.SetString(str())
			}
		case int64:
			n := rng.Int64() - math.MaxInt64/2
			if rng.IntN(4) == 0 {
				n = ints[rng.IntN(len(ints))]
			}
			f.SetInt(n)
		case *float64:
			x := rng.NormFloat64() * 1000
			if rng.IntN(4) == 0 {
				x = floats[rng.IntN(len(floats))]
			}
			if !null {
				f.Set(reflect.ValueOf(&x))
			}
		case time.Time:
			f.Set(reflect.ValueOf(instant()))
		case *time.Time:
			if !null {
				t := instant()
				f.Set(reflect.ValueOf(&t))
			}
		default:
			panic(fmt.Sprintf("randomRow: field %s of type %v", v.Type().Field(i).Name, f.Type()))
		}
	}
	return r
}

// sameRow compares rows field by field: times by instant, NaN equal to NaN
// and -0 distinct from +0 (by their bits).
func sameRow[R any](a, b R) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		switch x := va.Field(i).Interface().(type) {
		case time.Time:
			if !x.Equal(vb.Field(i).Interface().(time.Time)) {
				return false
			}
		case *time.Time:
			y := vb.Field(i).Interface().(*time.Time)
			if (x == nil) != (y == nil) || x != nil && !x.Equal(*y) {
				return false
			}
		case *float64:
			y := vb.Field(i).Interface().(*float64)
			if (x == nil) != (y == nil) || x != nil && math.Float64bits(*x) != math.Float64bits(*y) {
				return false
			}
		default:
			if x != vb.Field(i).Interface() {
				return false
			}
		}
	}
	return true
}

// inMillis is r as read back: its times in whole milliseconds, UTC.
func inMillis[R any](r R) R {
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		switch t := v.Field(i).Interface().(type) {
		case time.Time:
			v.Field(i).Set(reflect.ValueOf(time.UnixMilli(t.UnixMilli()).UTC()))
		case *time.Time:
			if t != nil {
				m := time.UnixMilli(t.UnixMilli()).UTC()
				v.Field(i).Set(reflect.ValueOf(&m))
			}
		}
	}
	return r
}

// Timestamps are stored as whole milliseconds since the epoch (rounded
// towards the past) over time.Time's whole range, the zero time included
// (what a finding without a first-seen time would have).
func TestTimeRange(t *testing.T) {
	t.Parallel()
	times := []time.Time{{}, preEpoch, edgeTime, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Unix(-1, 1)}
	var rows []PairRow
	for _, at := range times {
		rows = append(rows, PairRow{RunStartedAt: at, Errors: "[]"})
	}
	var buf bytes.Buffer
	writeRows(t, NewPairWriter(&buf), rows)
	f := open(t, buf.Bytes())
	col, _ := f.Schema().Lookup("run_started_at")
	got := make([]parquet.Row, len(times)+1)
	r := f.RowGroups()[0].Rows()
	defer r.Close()
	n, err := r.ReadRows(got)
	if n != len(times) || (err != nil && err != io.EOF) {
		t.Fatalf("read %d rows: %v", n, err)
	}
	for i, at := range times {
		if ms := got[i][col.ColumnIndex].Int64(); ms != at.UnixMilli() {
			t.Errorf("%v stored as %d, want %d", at, ms, at.UnixMilli())
		}
	}
	if times[4].UnixMilli() != -1000 || times[0].UnixMilli() != -62135596800000 {
		t.Fatal("UnixMilli does not round towards the past")
	}
}

// The aggregator's writers (the pipeline.HistoryFormat) write what the
// row constructors make of their items.
func TestFormatWriters(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	fs := []finding.Finding{{FindingID: "f1", CheckID: "ec2-idle-instance", AccountID: "012345678901", MonthlyCostUSD: finding.Cost(1.25),
		Evidence: map[string]float64{"cpu": 1}, Status: finding.Open, FirstSeen: at, LastSeen: at}}
	ps := []pipeline.PairResult{{RunID: "r1", AccountID: "012345678901", Region: "us-east-1", Status: pipeline.PairOK, Findings: 1,
		APICalls: pipeline.CountsOf(map[string]int{"DescribeInstances": 2, "GetMetricData": 1})}}
	inv := []pipeline.InventoryRecord{{RunID: "r1", AccountID: "012345678901", Region: "us-east-1", ResourceID: "i-1", CreatedAt: &at}}

	var fb, pb, ib bytes.Buffer
	fw, pw, iw := Parquet{}.Findings(&fb, "r1", at), Parquet{}.Pairs(&pb, "r1", at), Parquet{}.Inventory(&ib, "r1", at)
	for _, err := range []error{fw.Write(fs), pw.Write(ps), iw.Write(inv), fw.Close(), pw.Close(), iw.Close()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, got, want any) {
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	gf, err := parquet.Read[FindingRow](bytes.NewReader(fb.Bytes()), int64(fb.Len()))
	if err != nil {
		t.Fatal(err)
	}
	check("findings", gf, []FindingRow{NewFindingRow(fs[0], "r1", at)})
	gp, err := parquet.Read[PairRow](bytes.NewReader(pb.Bytes()), int64(pb.Len()))
	if err != nil {
		t.Fatal(err)
	}
	check("pairs", gp, []PairRow{NewPairRow(ps[0], at)})
	if gp[0].APICalls != 3 || gp[0].Errors != "[]" {
		t.Errorf("pair row %+v", gp[0])
	}
	gi, err := parquet.Read[InventoryRow](bytes.NewReader(ib.Bytes()), int64(ib.Len()))
	if err != nil {
		t.Fatal(err)
	}
	check("inventory", gi, []InventoryRow{NewInventoryRow(inv[0], at)})
}

// A string that is not UTF-8 (Parquet's STRING is UTF-8) or a JSON column
// that is not JSON is refused, by column name: DuckDB would refuse to read
// the file. The rows before it are written.
func TestInvalidValuesRefused(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewPairWriter(&buf)
	n, err := w.Write([]PairRow{{RunID: "ok", Errors: "[]"}, {RunID: "bad \xff", Errors: "[]"}})
	if err == nil || n != 1 || !strings.Contains(err.Error(), "run_id") {
		t.Fatalf("wrote %d rows: %v", n, err)
	}
	n, err = w.Write([]PairRow{{RunID: "no errors"}})
	if err == nil || n != 0 || !strings.Contains(err.Error(), "errors") {
		t.Fatalf("wrote %d rows: %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := parquet.Read[PairRow](bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil || len(got) != 1 {
		t.Fatalf("read %v: %v", got, err)
	}
}

func TestColumnsOfEveryTable(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"findings": "finding_id string, run_id string, run_started_at timestamp, check_id string, category string, account_id string, " +
			"account_name string, region string, service string, resource_type string, resource_id string, resource_arn string, " +
			"reason string, evidence string, monthly_cost_usd double, tags string, status string, first_seen timestamp, " +
			"last_seen timestamp, opened_run_id string, resolved_at timestamp",
		"pairs": "run_id string, run_started_at timestamp, account_id string, account_name string, region string, status string, " +
			"findings bigint, candidates bigint, metrics_requested bigint, api_calls bigint, errors string, duration_ms bigint",
		"inventory": "run_id string, run_started_at timestamp, account_id string, account_name string, region string, " +
			"resource_type string, resource_id string, resource_arn string, name string, state string, created_at timestamp, tags string",
	}
	for name, row := range map[string]any{"findings": FindingRow{}, "pairs": &PairRow{}, "inventory": InventoryRow{}} {
		cols, err := Columns(row)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cols {
			got = append(got, c.Name+" "+c.Type)
		}
		if g := strings.Join(got, ", "); g != want[name] {
			t.Errorf("%s columns:\n%s\nwant:\n%s", name, g, want[name])
		}
	}
}

// Row types outside the supported subset are refused by name.
func TestUnsupportedRowTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		row  any
		want string
	}{
		{struct{ A string }{}, "parquet tag"},
		{struct {
			a string `parquet:"a"`
		}{}, "exported"},
		{struct {
			A string `parquet:"a,zstd"`
		}{}, `option "zstd"`},
		{struct {
			A int32 `parquet:"a"`
		}{}, "type int32"},
		{struct {
			A bool `parquet:"a"`
		}{}, "type bool"},
		{struct {
			A *string `parquet:"a,optional"`
		}{}, "type *string"},
		{struct {
			A float64 `parquet:"a,optional"`
		}{}, "optional"},
		{struct {
			A *float64 `parquet:"a"`
		}{}, "optional"},
		{struct {
			A time.Time `parquet:"a"`
		}{}, "timestamp(millisecond)"},
		{struct {
			A string `parquet:"a,timestamp(millisecond)"`
		}{}, "timestamp(millisecond)"},
		{struct {
			A int64 `parquet:"a,json"`
		}{}, "json"},
		{struct {
			A int64 `parquet:"a,dict"`
		}{}, "dictionary"},
		{struct {
			A string `parquet:"a"`
			B string `parquet:"a"`
		}{}, "twice"},
		{struct {
			A string `parquet:""`
		}{}, "name"},
		{struct{}{}, "without columns"},
		{"not a struct", "not a struct"},
		{nil, "nil"},
	} {
		if _, err := Columns(tc.row); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%T: %v, want an error about %s", tc.row, err, tc.want)
		}
	}
}
