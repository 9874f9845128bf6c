package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/orgscan/orgscan/internal/hostiletext"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
)

// memberText is what a member account can name an account, tag a resource
// or call a security group: spreadsheet formulas, terminal escapes (a
// screen clear, an OSC-8 hyperlink), line breaks, a right-to-left
// override, invalid UTF-8.
var memberText = hostiletext.Strings

// credit is a negative monthly cost: a number, which CSV must not prefix.
const credit = -1218.3

// hostileData is a simulated run's data directory whose open findings,
// pairs and history then had their account names, resource IDs, reasons,
// tags and error messages replaced by memberText, in every place a command
// reads them: the state (orgscan findings), the run's findings.jsonl and
// pairs.jsonl (orgscan report) and its Parquet history (orgscan query).
// It returns the directory and how many open findings it holds.
func hostileData(t *testing.T) (string, int) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	sum := simulate(t, dir, 0)
	blobs := store.Dir{Root: dir}
	k := 0
	next := func() string { s := memberText[k%len(memberText)]; k++; return s }
	hostile := func(f *finding.Finding) {
		s := next()
		f.AccountName, f.ResourceID, f.Reason = s, s, s
		f.Tags = map[string]string{"Name": s}
		if k == 1 {
			f.MonthlyCostUSD = finding.Cost(credit)
		}
	}

	// The run's findings, then the state from them: both through JSON, as
	// orgscan writes them (which turns invalid UTF-8 into U+FFFD).
	var open []finding.Finding
	var all bytes.Buffer
	if err := readJSONLines(ctx, blobs, pipeline.FindingsKey(sum.RunID), func(f finding.Finding) {
		if f.Status == finding.Open {
			hostile(&f)
		}
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(append(b, '\n'))
	}); err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(ctx, pipeline.FindingsKey(sum.RunID), bytes.NewReader(all.Bytes())); err != nil {
		t.Fatal(err)
	}
	var rows []history.FindingRow
	byAccount := map[string][]finding.Finding{}
	if err := readJSONLines(ctx, blobs, pipeline.FindingsKey(sum.RunID), func(f finding.Finding) {
		rows = append(rows, history.NewFindingRow(f, sum.RunID, sum.StartedAt))
		if f.Status == finding.Open {
			open = append(open, f)
			byAccount[f.AccountID] = append(byAccount[f.AccountID], f)
		}
	}); err != nil {
		t.Fatal(err)
	}
	state := &store.LocalState{Dir: dir}
	for acct, items := range byAccount {
		if err := state.PutFindings(ctx, acct, items); err != nil {
			t.Fatal(err)
		}
	}

	// Every pair failed, with an error that quotes member text.
	var pairs []history.PairRow
	var pairLines bytes.Buffer
	if err := readJSONLines(ctx, blobs, pipeline.PairsKey(sum.RunID), func(p pipeline.PairResult) {
		s := next()
		p.AccountName, p.Status = s, pipeline.PairFailed
		p.Errors = []checks.CheckError{{Check: s, Code: s, Message: "User " + s + " is not authorized", Count: 2}}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		pairLines.Write(append(b, '\n'))
		var back pipeline.PairResult
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		errs, _ := json.Marshal(back.Errors)
		pairs = append(pairs, history.PairRow{RunID: sum.RunID, RunStartedAt: sum.StartedAt, AccountID: back.AccountID,
			AccountName: back.AccountName, Region: back.Region, Status: string(back.Status), Errors: string(errs)})
	}); err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(ctx, pipeline.PairsKey(sum.RunID), bytes.NewReader(pairLines.Bytes())); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	fw := history.NewFindingWriter(&buf)
	if _, err := fw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(ctx, sum.HistoryKeys[pipeline.FindingsTable], bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	pw := history.NewPairWriter(&buf)
	if _, err := pw.Write(pairs); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(ctx, sum.HistoryKeys[pipeline.PairsTable], bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if len(open) < len(memberText) {
		t.Fatalf("%d open findings: too few to carry every hostile text", len(open))
	}
	return dir, len(open)
}

// checkTerminalSafe fails on a control character but the line feeds, a
// formatting character (bidirectional controls among them), a line
// separator or invalid UTF-8.
func checkTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: invalid UTF-8", what)
	}
	for i, r := range out {
		if r != '\n' && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Errorf("%s: raw %U at byte %d: %q", what, r, i, out[max(0, i-40):min(len(out), i+40)])
			return
		}
	}
}

// checkNoFormula fails if a CSV cell would start a spreadsheet formula:
// text starts with ' instead, numbers stay numbers.
func checkNoFormula(t *testing.T, recs [][]string) {
	t.Helper()
	for i, rec := range recs {
		for j, cell := range rec {
			if cell == "" || strings.IndexByte("=+-@\t\r", cell[0]) < 0 {
				continue
			}
			if strings.Trim(cell, "-+.0123456789e") != "" {
				t.Errorf("record %d cell %d %q starts a formula", i, j, cell)
			}
		}
	}
}

// Account names, tags, resource IDs and error messages that member
// accounts control reach every output neutralised for it: CSV never starts
// a formula, tables keep one line per row with no escape sequence, the
// report shows hidden characters as escapes, JSON stays one line per
// value.
func TestHostileTextInEveryOutput(t *testing.T) {
	t.Parallel()
	dir, open := hostileData(t)

	t.Run("findings", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runApp(t, "findings", "--data", dir, "--limit", "0")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if n, want := strings.Count(stdout, "\n"), open+2; n != want {
			t.Errorf("%d lines for %d findings, want %d (header and footer):\n%s", n, open, want, stdout)
		}
		checkTerminalSafe(t, "findings", stdout)
		for _, want := range []string{`\x1b[2J\x1b[H fake row`, `a\nb\nc`, `\u202eevil.exe`, `\x1b]8;;http://evil`, "-$1,218.30"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("findings lacks %s", want)
			}
		}
	})

	t.Run("findings --json", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runApp(t, "findings", "--data", dir, "--limit", "0", "--json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		checkJSONLines(t, stdout, open)
	})

	const sql = "SELECT account_id, account_name, resource_id, reason, tags, monthly_cost_usd FROM findings WHERE status = 'open' ORDER BY resource_id"
	t.Run("query csv", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runApp(t, "query", "--data", dir, "--format", "csv", sql)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != open+1 {
			t.Fatalf("%d records, want %d", len(recs), open+1)
		}
		checkNoFormula(t, recs)
		prefixed, credits := 0, 0
		for _, rec := range recs[1:] {
			if strings.HasPrefix(rec[1], "'") {
				prefixed++
			}
			if rec[5] == "-1218.3" {
				credits++
			}
		}
		if prefixed == 0 || credits != 1 {
			t.Errorf("%d names prefixed with ', %d costs of -1218.3 (want some, and 1):\n%s", prefixed, credits, stdout)
		}
	})

	t.Run("query table", func(t *testing.T) {
		t.Parallel()
		for _, q := range []string{sql, "SELECT account_name, status, errors FROM pairs"} {
			code, stdout, stderr := runApp(t, "query", "--data", dir, "--format", "json", q)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			rows := strings.Count(stdout, "\n")
			checkJSONLines(t, stdout, rows)
			code, stdout, stderr = runApp(t, "query", "--data", dir, q)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if n, want := strings.Count(stdout, "\n"), rows+2; n != want {
				t.Errorf("%s: %d lines for %d rows, want %d:\n%s", q, n, rows, want, stdout)
			}
			checkTerminalSafe(t, q, stdout)
			if !strings.Contains(stdout, `\u202eevil.exe`) {
				t.Errorf("%s: no escaped right-to-left override:\n%s", q, stdout)
			}
		}
	})

	t.Run("report", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "report.html")
		code, _, stderr := runApp(t, "report", "--data", dir, "--out", out)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		for i, r := range page {
			if r != '\n' && r != '\t' && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
				t.Fatalf("raw %U in the report at byte %d: %q", r, i, page[max(0, i-40):min(len(page), i+40)])
			}
		}
		for _, want := range []string{`\u202eevil.exe`, `\x1b[2J\x1b[H fake row`, `User \rCR is not authorized`} {
			if !strings.Contains(page, want) {
				t.Errorf("report lacks %s", want)
			}
		}
	})
}

// checkJSONLines fails unless out is n lines, each a JSON object, with no
// raw control character.
func checkJSONLines(t *testing.T, out string, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d JSON lines, want %d", len(lines), n)
	}
	if strings.ContainsAny(out, "\x1b\r\t") {
		t.Error("raw control character in JSON lines")
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
}

// The run summary's failed and partial pairs and its warnings keep one
// line per error and per warning, whatever the account names and error
// messages hold: the same summary with plain text prints as many lines.
func TestSummaryOfHostilePairs(t *testing.T) {
	t.Parallel()
	summary := func(text func(i int) string) pipeline.RunSummary {
		s := pipeline.RunSummary{RunID: "r1", Pairs: len(memberText), PairsFailed: len(memberText),
			HistoryKeys: map[string]string{pipeline.FindingsTable: "findings/dt=2026-11-26/r1.parquet"}}
		for i := range memberText {
			s.Problems = append(s.Problems, pipeline.PairProblem{AccountID: text(i), AccountName: text(i), Region: text(i),
				Status: pipeline.PairFailed, Errors: []checks.CheckError{
					{Code: text(i), Message: text(i)},
					{Check: text(i), Code: "AccessDenied", Message: "User " + text(i) + " is not authorized", Count: 3},
				}})
			s.Warnings = append(s.Warnings, "account "+text(i)+": stale")
		}
		s.Carried = []string{text(6)}
		return s
	}
	var hostile, plain bytes.Buffer
	blobs := store.Dir{Root: t.TempDir()}
	printSummary(&hostile, summary(func(i int) string { return memberText[i] }), blobs)
	printSummary(&plain, summary(func(int) string { return "x" }), blobs)
	out := hostile.String()
	if n, want := strings.Count(out, "\n"), strings.Count(plain.String(), "\n"); n != want {
		t.Errorf("%d lines, want %d as with plain text:\n%s", n, want, out)
	}
	checkTerminalSafe(t, "summary", out)
	for _, want := range []string{`\x1b[2J\x1b[H fake row (\x1b[2J\x1b[H fake row)`, `User a\nb\nc is not authorized (×3)`,
		`account \u202eevil.exe: stale`, `account \xff\xfe: stale`} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %s:\n%s", want, out)
		}
	}
}
