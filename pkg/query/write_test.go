package query

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/orgscan/orgscan/internal/hostiletext"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// hostileText is what a member account can name an account, tag a
// resource or call a security group: formulas for a spreadsheet, escape
// sequences and line breaks for a terminal, a right-to-left override and
// invalid UTF-8.
var hostileText = hostiletext.Strings

// hostileResult is a result whose text columns hold hostileText and whose
// numeric columns are negative, as DuckDB returns them.
func hostileResult() *Result {
	r := &Result{Columns: []string{"=name", "usd", "n", "raw", "tags", "seen"}}
	for _, s := range hostileText {
		r.Rows = append(r.Rows, []any{s, -1218.3, int64(-5), []byte(s), map[string]any{"Name": s},
			time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)})
	}
	r.Rows = append(r.Rows, []any{nil, nil, nil, nil, nil, nil})
	return r
}

// A CSV cell never starts a formula, unless quoted away by a leading ';
// numbers stay numbers.
func TestCSVCellsAreNeverFormulas(t *testing.T) {
	t.Parallel()
	res := hostileResult()
	var buf bytes.Buffer
	if err := res.Write(&buf, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(res.Rows)+1 {
		t.Fatalf("%d records, want %d", len(recs), len(res.Rows)+1)
	}
	checkNoFormula(t, recs)
	if recs[0][0] != "'=name" {
		t.Errorf("header %q: a column name is text too", recs[0][0])
	}
	for i, s := range hostileText {
		got := recs[i+1]
		if want := "'" + s; strings.ContainsAny(s[:1], "=+-@\t\r") && got[0] != want {
			t.Errorf("cell %q, want %q", got[0], want)
		}
		if got[3] != got[0] {
			t.Errorf("bytes %q and string %q differ", got[3], got[0])
		}
		if got[1] != "-1218.3" || got[2] != "-5" {
			t.Errorf("numbers %q %q changed", got[1], got[2])
		}
	}
	if got, want := recs[7][0], "\x1b[2J\x1b[H fake row"; got != want {
		t.Errorf("CSV keeps text as it is, got %q want %q", got, want)
	}
	if last := recs[len(recs)-1]; strings.Join(last, "") != "" {
		t.Errorf("NULLs %q, want empty cells", last)
	}
}

// checkNoFormula fails if a cell starts with a formula character.
func checkNoFormula(t *testing.T, recs [][]string) {
	t.Helper()
	for i, rec := range recs {
		for j, cell := range rec {
			if cell != "" && strings.IndexByte("=+-@\t\r", cell[0]) >= 0 && !isNumber(cell) {
				t.Errorf("record %d cell %d %q starts a formula", i, j, cell)
			}
		}
	}
}

func isNumber(s string) bool {
	return strings.Trim(s, "-+.0123456789e") == ""
}

// The table has one line per row, whatever the cells hold, and no
// character a terminal acts on or displays reversed.
func TestTableIsOneLinePerRow(t *testing.T) {
	t.Parallel()
	res := hostileResult()
	var buf bytes.Buffer
	if err := res.Write(&buf, "table"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n, want := strings.Count(out, "\n"), len(res.Rows)+2; n != want {
		t.Fatalf("%d lines for %d rows, want %d (header and footer):\n%s", n, len(res.Rows), want, out)
	}
	checkTerminalSafe(t, out)
	for _, want := range []string{`\x1b[2J\x1b[H fake row`, `a\nb\nc`, `\u202eevil.exe`, `\xff\xfe`, `\tTAB`, `{"Name":"\u202eevil.exe"}`} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks the escaped %s:\n%s", want, out)
		}
	}
}

// checkTerminalSafe fails on a control (but the line feeds), a formatting
// character, a line separator or invalid UTF-8.
func checkTerminalSafe(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("invalid UTF-8 in %q", out)
	}
	for i, r := range out {
		if r != '\n' && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Errorf("%U at byte %d of %q", r, i, out)
		}
	}
}

// JSON lines need no neutralising: encoding/json escapes the controls, so
// each row is one line and each value comes back as it was (invalid UTF-8
// as U+FFFD).
func TestJSONKeepsValues(t *testing.T) {
	t.Parallel()
	res := hostileResult()
	var buf bytes.Buffer
	if err := res.Write(&buf, "json"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(res.Rows) {
		t.Fatalf("%d lines for %d rows", len(lines), len(res.Rows))
	}
	if strings.ContainsAny(buf.String(), "\x1b\r\t") {
		t.Errorf("raw control in %q", buf.String())
	}
	for i, s := range hostileText {
		var obj map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &obj); err != nil {
			t.Fatal(err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if s == "\xff\xfe" {
			want = "\uFFFD\uFFFD"
		}
		if obj["=name"] != want || obj["usd"] != -1218.3 {
			t.Errorf("line %s: want %q", lines[i], want)
		}
	}
}

// Hostile names, tags and IDs read back from Parquet through DuckDB come
// out safe in the table and the CSV, and a negative cost stays a number.
func TestHostileHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	started := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	w := history.NewFindingWriter(&buf)
	credit := -1218.3
	var rows []history.FindingRow
	var pairs []history.PairRow
	for i, s := range hostileText {
		// The history writer refuses invalid UTF-8: hostileResult covers it.
		s = strings.ToValidUTF8(s, "?")
		f := finding.Finding{FindingID: "f" + string(rune('a'+i)), CheckID: "ec2-idle-instance", AccountID: s, AccountName: s,
			Region: "us-east-1", ResourceID: s, Reason: s, Tags: map[string]string{"Name": s}, MonthlyCostUSD: &credit,
			Status: finding.Open, FirstSeen: started, LastSeen: started}
		rows = append(rows, history.NewFindingRow(f, "r1", started))
		pairs = append(pairs, history.PairRow{RunID: "r1", RunStartedAt: started, AccountID: s, AccountName: s, Region: "us-east-1",
			Status: "failed", Errors: `[{"check":"","code":"AccessDenied","message":` + jsonString(t, s) + `,"count":1}]`})
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	put(t, dir, pipeline.HistoryKey(pipeline.FindingsTable, started, "r1"), buf.Bytes())
	buf.Reset()
	pw := history.NewPairWriter(&buf)
	if _, err := pw.Write(pairs); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	put(t, dir, pipeline.HistoryKey(pipeline.PairsTable, started, "r1"), buf.Bytes())

	e, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, sql := range []string{
		"SELECT account_id, account_name, resource_id, reason, monthly_cost_usd, tags FROM findings ORDER BY finding_id",
		"SELECT account_name, status, errors FROM pairs ORDER BY account_id",
	} {
		res, err := e.Run(context.Background(), sql)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != len(hostileText) {
			t.Fatalf("%d rows, want %d", len(res.Rows), len(hostileText))
		}
		var table, csvOut bytes.Buffer
		if err := res.Write(&table, "table"); err != nil {
			t.Fatal(err)
		}
		if n, want := strings.Count(table.String(), "\n"), len(res.Rows)+2; n != want {
			t.Errorf("%s: %d lines, want %d:\n%s", sql, n, want, table.String())
		}
		checkTerminalSafe(t, table.String())
		if err := res.Write(&csvOut, "csv"); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&csvOut).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		checkNoFormula(t, recs)
		if strings.HasPrefix(sql, "SELECT account_id") {
			for _, rec := range recs[1:] {
				if rec[4] != "-1218.3" {
					t.Errorf("cost %q, want the number -1218.3", rec[4])
				}
			}
		}
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
