package parquetfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// The files are read back with parquet-go, an independent implementation
// of the format (a test-only dependency).

var allTypes = Schema{Name: "all", Columns: []Column{
	{Name: "s", Type: String},
	{Name: "s_dict", Type: String, Dictionary: true},
	{Name: "s_opt_dict", Type: String, Optional: true, Dictionary: true},
	{Name: "j", Type: JSON},
	{Name: "j_opt", Type: JSON, Optional: true},
	{Name: "i", Type: Int64},
	{Name: "i_opt", Type: Int64, Optional: true},
	{Name: "d", Type: Double},
	{Name: "d_opt", Type: Double, Optional: true},
	{Name: "t", Type: Timestamp},
	{Name: "t_opt", Type: Timestamp, Optional: true},
}}

// randomRows are rows of allTypes: strings from a small pool (so
// dictionaries pay) mixed with unique and long ones, empty strings,
// non-ASCII text, integer and double extremes, NaN, ±0, ±Inf, and nulls
// in about a third of the optional cells, with runs of nulls and of
// non-nulls (so definition levels use both RLE and bit-packed runs).
func randomRows(rng *rand.Rand, n int) [][]Value {
	pool := []string{"", "a", "us-east-1", "eu-west-1", "żółw 🐢", "日本語", "ec2-idle-instance", strings.Repeat("x", 100)}
	str := func() string {
		switch rng.IntN(10) {
		case 0:
			return fmt.Sprintf("unique-%d-%x", rng.Int64(), rng.Uint64())
		case 1:
			return strings.Repeat("ü", rng.IntN(300))
		}
		return pool[rng.IntN(len(pool))]
	}
	ints := []int64{0, 1, -1, math.MaxInt64, math.MinInt64}
	floats := []float64{0, math.Copysign(0, -1), 1.5, -2.25, math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64}
	nullRun := 0
	maybeNull := func(v Value) Value {
		if nullRun > 0 {
			nullRun--
			return Null()
		}
		if rng.IntN(3) == 0 {
			nullRun = rng.IntN(20)
			return Null()
		}
		return v
	}
	rows := make([][]Value, n)
	for r := range rows {
		i := ints[rng.IntN(len(ints))]
		if rng.IntN(2) == 0 {
			i = rng.Int64() - math.MaxInt64/2
		}
		d := floats[rng.IntN(len(floats))]
		if rng.IntN(2) == 0 {
			d = rng.NormFloat64() * 1e6
		}
		t := time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9))
		j := fmt.Sprintf(`{"k":%q,"n":%d}`, str(), rng.IntN(100))
		rows[r] = []Value{
			StringValue(str()), StringValue(pool[rng.IntN(len(pool))]), maybeNull(StringValue(pool[rng.IntN(3)])),
			StringValue(j), maybeNull(StringValue(j)),
			Int64Value(i), maybeNull(Int64Value(-i)),
			DoubleValue(d), maybeNull(DoubleValue(-d)),
			TimestampValue(t), maybeNull(TimestampValue(t.Add(time.Hour))),
		}
	}
	return rows
}

func write(t *testing.T, s Schema, o Options, rows [][]Value) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.WriteRow(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readBack reads every row of a file with parquet-go, as Values.
func readBack(t *testing.T, b []byte) (*parquet.File, [][]Value) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]Value
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				vals := make([]Value, len(row))
				for _, v := range row {
					vals[v.Column()] = fromParquetGo(v)
				}
				out = append(out, vals)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rows.Close()
	}
	return f, out
}

func fromParquetGo(v parquet.Value) Value {
	switch {
	case v.IsNull():
		return Null()
	case v.Kind() == parquet.Int64:
		return Int64Value(v.Int64())
	case v.Kind() == parquet.Double:
		return DoubleValue(v.Double())
	}
	return StringValue(string(v.ByteArray()))
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		rows int
		opts Options
	}{
		{"defaults, one row group", 3000, Options{}},
		{"defaults, several row groups", DefaultRowGroupRows + 1234, Options{}},
		// Small limits: many row groups and pages, dictionaries that
		// outgrow their cap within a row group and fall back to PLAIN.
		{"small pages and dictionaries", 5000, Options{RowGroupRows: 1000, PageBytes: 300, DictBytes: 40}},
		{"row groups cut by size", 2000, Options{RowGroupBytes: 10_000}},
		{"one row per row group", 50, Options{RowGroupRows: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := randomRows(rand.New(rand.NewPCG(1, uint64(tc.rows))), tc.rows)
			b := write(t, allTypes, tc.opts, want)
			f, got := readBack(t, b)
			if len(got) != len(want) || f.NumRows() != int64(len(want)) {
				t.Fatalf("read %d rows (footer: %d), wrote %d", len(got), f.NumRows(), len(want))
			}
			for i := range want {
				for c := range want[i] {
					if want[i][c] != got[i][c] { // NaN's bits equal NaN's, -0's differ from +0's
						t.Fatalf("row %d column %s: wrote %v, read %v", i, allTypes.Columns[c].Name, want[i][c], got[i][c])
					}
				}
			}
			checkFooter(t, f, want)
		})
	}
}

// checkFooter checks the metadata parquet-go does not need to read the
// rows: row group sizes and offsets, encodings and statistics.
func checkFooter(t *testing.T, f *parquet.File, rows [][]Value) {
	t.Helper()
	md := f.Metadata()
	if md.CreatedBy != "" || md.Version != fileVersion || len(md.ColumnOrders) != len(allTypes.Columns) {
		t.Errorf("created_by %q, version %d, %d column orders", md.CreatedBy, md.Version, len(md.ColumnOrders))
	}
	first := 0
	for g, rg := range md.RowGroups {
		part := rows[first : first+int(rg.NumRows)]
		first += int(rg.NumRows)
		var sum int64
		for c, cc := range rg.Columns {
			cm := cc.MetaData
			col := allTypes.Columns[c]
			sum += cm.TotalCompressedSize
			start := cm.DataPageOffset
			if cm.DictionaryPageOffset > 0 {
				start = cm.DictionaryPageOffset
				if !col.Dictionary || cm.DictionaryPageOffset >= cm.DataPageOffset {
					t.Errorf("row group %d column %s: dictionary at %d, data at %d", g, col.Name, cm.DictionaryPageOffset, cm.DataPageOffset)
				}
			}
			if c == 0 && start != rg.FileOffset {
				t.Errorf("row group %d starts at %d, its first column at %d", g, rg.FileOffset, start)
			}
			if cm.Codec != format.Gzip || cm.NumValues != rg.NumRows || cm.PathInSchema[0] != col.Name {
				t.Errorf("row group %d column %s: %+v", g, col.Name, cm)
			}
			if dict := slices.Contains(cm.Encoding, format.RLEDictionary); dict != (cm.DictionaryPageOffset > 0) {
				t.Errorf("row group %d column %s: encodings %v, dictionary page at %d", g, col.Name, cm.Encoding, cm.DictionaryPageOffset)
			}
			checkStats(t, fmt.Sprintf("row group %d column %s", g, col.Name), col, cm.Statistics, part, c)
		}
		if sum != rg.TotalCompressedSize {
			t.Errorf("row group %d: total_compressed_size %d, its chunks %d", g, rg.TotalCompressedSize, sum)
		}
	}
}

func checkStats(t *testing.T, what string, col Column, st format.Statistics, rows [][]Value, c int) {
	t.Helper()
	var nulls int64
	var vals []Value
	for _, r := range rows {
		if r[c].kind == nullValue {
			nulls++
		} else {
			vals = append(vals, r[c])
		}
	}
	if st.NullCount != nulls {
		t.Errorf("%s: null_count %d, want %d", what, st.NullCount, nulls)
	}
	if len(st.Max) != 0 || len(st.Min) != 0 {
		t.Errorf("%s: deprecated min/max written", what)
	}
	var lo, hi []byte
	switch col.Type {
	case Int64, Timestamp:
		if len(vals) > 0 {
			l, h := int64(math.MaxInt64), int64(math.MinInt64)
			for _, v := range vals {
				l, h = min(l, int64(v.num)), max(h, int64(v.num))
			}
			lo, hi = binary.LittleEndian.AppendUint64(nil, uint64(l)), binary.LittleEndian.AppendUint64(nil, uint64(h))
		}
	case Double:
		l, h, ok := math.Inf(1), math.Inf(-1), false
		for _, v := range vals {
			if f := math.Float64frombits(v.num); !math.IsNaN(f) {
				l, h, ok = math.Min(l, f), math.Max(h, f), true
			}
		}
		if ok {
			if l == 0 {
				l = math.Copysign(0, -1)
			}
			if h == 0 {
				h = 0
			}
			lo, hi = binary.LittleEndian.AppendUint64(nil, math.Float64bits(l)), binary.LittleEndian.AppendUint64(nil, math.Float64bits(h))
		}
	default:
		if len(vals) > 0 {
			l, h := vals[0].str, vals[0].str
			for _, v := range vals {
				l, h = min(l, v.str), max(h, v.str)
			}
			if len(l) <= MaxStatBytes && len(h) <= MaxStatBytes {
				lo, hi = []byte(l), []byte(h)
			}
		}
	}
	if !bytes.Equal(st.MinValue, lo) || !bytes.Equal(st.MaxValue, hi) {
		t.Errorf("%s: min %x max %x, want %x %x", what, st.MinValue, st.MaxValue, lo, hi)
	}
}

func TestSchema(t *testing.T) {
	t.Parallel()
	b := write(t, allTypes, Options{CreatedBy: "orgscan"}, nil)
	f, rows := readBack(t, b)
	if len(rows) != 0 || f.NumRows() != 0 || len(f.Metadata().RowGroups) != 0 || f.Metadata().CreatedBy != "orgscan" {
		t.Fatalf("empty file: %d rows, %+v", len(rows), f.Metadata())
	}
	want := `message all {
	required binary s (STRING);
	required binary s_dict (STRING);
	optional binary s_opt_dict (STRING);
	required binary j (JSON);
	optional binary j_opt (JSON);
	required int64 i (INT(64,true));
	optional int64 i_opt (INT(64,true));
	required double d;
	optional double d_opt;
	required int64 t (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
	optional int64 t_opt (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS));
}`
	if got := f.Schema().String(); got != want {
		t.Errorf("schema:\n%s\nwant:\n%s", got, want)
	}
	// The legacy converted types, for readers that predate logical types.
	conv := map[string]int{"i": convInt64, "i_opt": convInt64, "s": convUTF8, "s_dict": convUTF8, "s_opt_dict": convUTF8, "j": convJSON, "j_opt": convJSON, "t": convTimestampMillis, "t_opt": convTimestampMillis}
	for _, e := range f.Metadata().Schema[1:] {
		got, ok := int(e.ConvertedType.V), e.ConvertedType.Valid
		if _, want := conv[e.Name]; ok != want {
			t.Errorf("column %s: converted type set %v, want %v", e.Name, ok, want)
		}
		if got != conv[e.Name] {
			t.Errorf("column %s: converted type %d, want %d", e.Name, got, conv[e.Name])
		}
	}
	if b := write(t, allTypes, Options{}, nil); !bytes.HasPrefix(b, magic) || !bytes.HasSuffix(b, magic) {
		t.Errorf("an empty file is not framed by PAR1: %q", b)
	}
}

// A column chunk is dictionary-encoded when that is smaller: few distinct
// values are, unique values are not, and a dictionary over DictBytes falls
// back to PLAIN.
func TestDictionaryChoice(t *testing.T) {
	t.Parallel()
	s := Schema{Name: "d", Columns: []Column{
		{Name: "few", Type: String, Dictionary: true},
		{Name: "unique", Type: String, Dictionary: true},
		{Name: "plain", Type: String},
	}}
	var rows [][]Value
	for i := range 1000 {
		rows = append(rows, []Value{StringValue([]string{"a", "b", "c"}[i%3]), StringValue(fmt.Sprint(i)), StringValue("a")})
	}
	encodings := func(b []byte) []string {
		f, got := readBack(t, b)
		if len(got) != len(rows) {
			t.Fatalf("%d rows", len(got))
		}
		var out []string
		for _, cc := range f.Metadata().RowGroups[0].Columns {
			out = append(out, fmt.Sprint(cc.MetaData.Encoding))
		}
		return out
	}
	if got, want := encodings(write(t, s, Options{}, rows)), []string{"[PLAIN RLE_DICTIONARY]", "[PLAIN]", "[PLAIN]"}; !slices.Equal(got, want) {
		t.Errorf("encodings %v, want %v", got, want)
	}
	// "few"'s dictionary is 3 × (4 + 1) bytes.
	if got, want := encodings(write(t, s, Options{DictBytes: 15}, rows)), []string{"[PLAIN RLE_DICTIONARY]", "[PLAIN]", "[PLAIN]"}; !slices.Equal(got, want) {
		t.Errorf("dictionaries of 15 bytes: encodings %v, want %v", got, want)
	}
	if got, want := encodings(write(t, s, Options{DictBytes: 14}, rows)), []string{"[PLAIN]", "[PLAIN]", "[PLAIN]"}; !slices.Equal(got, want) {
		t.Errorf("dictionaries of 14 bytes: encodings %v, want %v", got, want)
	}
}

func TestRefusedRows(t *testing.T) {
	t.Parallel()
	s := Schema{Name: "r", Columns: []Column{{Name: "s", Type: String}, {Name: "i", Type: Int64, Optional: true}, {Name: "j", Type: JSON}}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	j := StringValue("{}")
	for _, row := range [][]Value{
		{StringValue("x"), Int64Value(1)},
		{StringValue("x"), Int64Value(1), j, j},
		{Null(), Int64Value(1), j},
		{Int64Value(1), Int64Value(1), j},
		{StringValue("x"), DoubleValue(1), j},
		{StringValue("x"), Int64Value(1), Null()},
		{StringValue("\xff"), Null(), j},
		{StringValue("x"), Null(), StringValue("")},
		{StringValue("x"), Null(), StringValue("{")},
		{StringValue("x"), Null(), StringValue(`"\xff"`)},
	} {
		if err := w.WriteRow(row); err == nil {
			t.Errorf("row %v accepted", row)
		}
	}
	if err := w.WriteRow([]Value{StringValue("ok"), Null(), StringValue("null")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRow([]Value{StringValue("late"), Null(), j}); err == nil {
		t.Error("write after Close accepted")
	}
	if _, rows := readBack(t, buf.Bytes()); len(rows) != 1 || rows[0][0] != StringValue("ok") || rows[0][1] != Null() || rows[0][2] != StringValue("null") {
		t.Errorf("rows %v", rows)
	}
}

func TestInvalidSchemas(t *testing.T) {
	t.Parallel()
	for _, s := range []Schema{
		{Name: "none"},
		{Name: "unnamed", Columns: []Column{{Type: String}}},
		{Name: "twice", Columns: []Column{{Name: "a", Type: String}, {Name: "a", Type: Int64}}},
		{Name: "untyped", Columns: []Column{{Name: "a"}}},
		{Name: "dict int", Columns: []Column{{Name: "a", Type: Int64, Dictionary: true}}},
	} {
		if _, err := NewWriter(io.Discard, s, Options{}); err == nil {
			t.Errorf("schema %q accepted", s.Name)
		}
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(b []byte) (int, error) {
	if f.after < len(b) {
		return 0, errors.New("disk full")
	}
	f.after -= len(b)
	return len(b), nil
}

// A failed write to the underlying writer fails the row group's WriteRow
// (or Close) and every later call.
func TestWriteError(t *testing.T) {
	t.Parallel()
	w, err := NewWriter(&failingWriter{after: 100}, allTypes, Options{RowGroupRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for _, row := range randomRows(rand.New(rand.NewPCG(2, 2)), 10) {
		werr = w.WriteRow(row)
	}
	if werr == nil || !strings.Contains(werr.Error(), "disk full") {
		t.Fatalf("row group write: %v", werr)
	}
	if err := w.Close(); !errors.Is(err, werr) {
		t.Errorf("Close after a failed write: %v", err)
	}
}

// appendHybrid's output decodes, by the spec's grammar, to its input.
func TestHybridRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 3))
	for range 2000 {
		width := 1 + rng.IntN(20)
		n := rng.IntN(300)
		vals := make([]int32, 0, n)
		for len(vals) < n {
			v := int32(rng.Uint32() & (1<<width - 1))
			for range 1 + rng.IntN([]int{1, 4, 12, 40}[rng.IntN(4)]) {
				vals = append(vals, v)
			}
		}
		enc := appendHybrid(nil, vals, width)
		got, err := decodeHybrid(enc, width, len(vals))
		if err != nil || !slices.Equal(got, vals) {
			t.Fatalf("width %d: %v\nencoded %x\ndecoded %v (%v)", width, vals, enc, got, err)
		}
	}
	// Levels: a long run is one RLE run, a 3-byte header and the value.
	levels := make([]uint8, 10000)
	if enc := appendHybrid(nil, levels, 1); len(enc) != 4 {
		t.Errorf("10000 zero levels: %x", enc)
	}
}

// decodeHybrid decodes n values of the RLE/bit-packed hybrid encoding and
// fails unless that uses all of b.
func decodeHybrid(b []byte, width, n int) ([]int32, error) {
	var out []int32
	for len(b) > 0 {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return out, errors.New("bad run header")
		}
		b = b[k:]
		if h&1 == 0 { // RLE run
			bw := (width + 7) / 8
			if len(b) < bw {
				return out, errors.New("short RLE value")
			}
			var v uint32
			for i := range bw {
				v |= uint32(b[i]) << (8 * i)
			}
			b = b[bw:]
			for range h >> 1 {
				out = append(out, int32(v))
			}
			continue
		}
		groups := int(h >> 1)
		nb := groups * width
		if len(b) < nb {
			return out, errors.New("short bit-packed run")
		}
		for i := range groups * 8 {
			var v uint32
			for bit := range width {
				pos := i*width + bit
				v |= uint32(b[pos/8]>>(pos%8)&1) << bit
			}
			out = append(out, int32(v))
		}
		b = b[nb:]
	}
	if len(out) < n || len(out) > n+7 {
		return out, fmt.Errorf("%d values decoded, want %d", len(out), n)
	}
	return out[:n], nil
}

func BenchmarkWriter(b *testing.B) {
	rows := randomRows(rand.New(rand.NewPCG(4, 4)), 10000)
	b.ReportAllocs()
	for b.Loop() {
		w, _ := NewWriter(io.Discard, allTypes, Options{})
		for _, r := range rows {
			if err := w.WriteRow(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
