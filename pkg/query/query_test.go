package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
	"github.com/orgscan/orgscan/queries"
)

// fixture writes three runs of history: r0 ten days ago (resolves f7), r1
// two days ago, r2 yesterday (keeps f1 and f3, resolves f2, opens f5 and
// the unpriced f6, fails one pair).
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	r0, r1, r2 := now.Add(-10*24*time.Hour), now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	f := func(id, acct, region, check string, cost *float64, status finding.Status, opened string, resolved *time.Time) finding.Finding {
		return finding.Finding{FindingID: id, CheckID: check, AccountID: acct, AccountName: "acct-" + acct, Region: region, ResourceID: "res-" + id,
			Reason: "because " + id, MonthlyCostUSD: cost, Status: status, FirstSeen: r1, LastSeen: r1, OpenedRunID: opened, ResolvedAt: resolved}
	}
	c := finding.Cost
	write := func(runID string, started time.Time, fs []finding.Finding, pairs []history.PairRow) {
		var buf bytes.Buffer
		w := history.NewFindingWriter(&buf)
		for _, x := range fs {
			if _, err := w.Write([]history.FindingRow{history.NewFindingRow(x, runID, started)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		put(t, dir, pipeline.HistoryKey(pipeline.FindingsTable, started, runID), buf.Bytes())
		buf.Reset()
		pw := history.NewPairWriter(&buf)
		for i := range pairs {
			pairs[i].RunID, pairs[i].RunStartedAt = runID, started
		}
		if _, err := pw.Write(pairs); err != nil {
			t.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		put(t, dir, pipeline.HistoryKey(pipeline.PairsTable, started, runID), buf.Bytes())
	}
	ok := func(acct, region string) history.PairRow {
		return history.PairRow{AccountID: acct, AccountName: "acct-" + acct, Region: region, Status: "ok", Errors: "[]"}
	}
	write("r0", r0, []finding.Finding{f("f7", "111111111111", "us-east-1", "ec2-idle-instance", c(20), finding.Resolved, "r-old", &r0)},
		[]history.PairRow{ok("111111111111", "us-east-1")})
	write("r1", r1, []finding.Finding{
		f("f1", "111111111111", "us-east-1", "ec2-idle-instance", c(100), finding.Open, "r1", nil),
		f("f2", "111111111111", "eu-west-1", "ebs-unattached-volume", c(10), finding.Open, "r1", nil),
		f("f3", "222222222222", "us-east-1", "ec2-unassociated-eip", c(3.65), finding.Open, "r1", nil),
	}, []history.PairRow{ok("111111111111", "us-east-1"), ok("111111111111", "eu-west-1"), ok("222222222222", "us-east-1")})
	failed := ok("444444444444", "us-east-1")
	failed.Status, failed.Errors = "failed", `[{"check":"","code":"AccessDenied","message":"denied","count":1}]`
	write("r2", r2, []finding.Finding{
		f("f1", "111111111111", "us-east-1", "ec2-idle-instance", c(100), finding.Open, "r1", nil),
		f("f2", "111111111111", "eu-west-1", "ebs-unattached-volume", c(10), finding.Resolved, "r1", &r2),
		f("f3", "222222222222", "us-east-1", "ec2-unassociated-eip", c(3.65), finding.Open, "r1", nil),
		f("f5", "111111111111", "us-east-1", "rds-idle-instance", c(50), finding.Open, "r2", nil),
		f("f6", "333333333333", "us-east-1", "ec2-idle-instance", nil, finding.Open, "r2", nil),
	}, []history.PairRow{ok("111111111111", "us-east-1"), ok("111111111111", "eu-west-1"), ok("222222222222", "us-east-1"),
		ok("333333333333", "us-east-1"), failed})
	return dir
}

func put(t *testing.T, dir, key string, b []byte) {
	t.Helper()
	if err := (store.Dir{Root: dir}).Put(context.Background(), key, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

// Every named query runs under DuckDB on the fixture and returns exactly
// the expected rows (as CSV, NULL as empty).
func TestNamedQueries(t *testing.T) {
	t.Parallel()
	e, err := Open(context.Background(), fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want := map[string]string{
		"open_by_account": `account_id,account_name,findings,monthly_usd,unpriced
111111111111,acct-111111111111,2,150,0
222222222222,acct-222222222222,1,3.65,0
333333333333,acct-333333333333,1,,1
`,
		"top_savings": `account_id,region,check_id,resource_id,monthly_usd,reason
111111111111,us-east-1,ec2-idle-instance,res-f1,100,because f1
111111111111,us-east-1,rds-idle-instance,res-f5,50,because f5
222222222222,us-east-1,ec2-unassociated-eip,res-f3,3.65,because f3
`,
		"new_since_previous_run": `account_id,region,check_id,resource_id,monthly_usd,reason
111111111111,us-east-1,rds-idle-instance,res-f5,50,because f5
333333333333,us-east-1,ec2-idle-instance,res-f6,,because f6
`,
		"resolved_last_7_days": "", // checked below: depends on the clock
		"failed_pairs_last_run": `account_id,account_name,region,status,errors
444444444444,acct-444444444444,us-east-1,failed,"[{""check"":"""",""code"":""AccessDenied"",""count"":1,""message"":""denied""}]"
`,
		"cost_by_check": `check_id,findings,monthly_usd,unpriced
ec2-idle-instance,2,100,1
rds-idle-instance,1,50,0
ec2-unassociated-eip,1,3.65,0
`,
	}
	all := queries.All()
	if len(all) < 5 {
		t.Fatalf("%d named queries, want at least 5", len(all))
	}
	for _, q := range all {
		w, ok := want[q.Name]
		if !ok {
			t.Errorf("named query %s has no expected result in this test", q.Name)
			continue
		}
		if q.Description == "" {
			t.Errorf("%s: no description comment", q.Name)
		}
		res, err := e.Run(context.Background(), q.SQL)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		var buf bytes.Buffer
		if err := res.Write(&buf, "csv"); err != nil {
			t.Fatal(err)
		}
		if q.Name == "resolved_last_7_days" {
			if len(res.Rows) != 1 || res.Rows[0][3] != "res-f2" || res.Rows[0][6] != "r2" {
				t.Errorf("%s: %s", q.Name, buf.String())
			}
			continue
		}
		if buf.String() != w {
			t.Errorf("%s:\n got: %s\nwant: %s", q.Name, buf.String(), w)
		}
	}
}

func TestFormatsAndErrors(t *testing.T) {
	t.Parallel()
	dir := fixture(t)
	e, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Run(context.Background(), "SELECT check_id, monthly_cost_usd, first_seen, dt FROM findings WHERE run_id = 'r2' AND finding_id IN ('f1','f6') ORDER BY finding_id")
	if err != nil {
		t.Fatal(err)
	}
	var table, js bytes.Buffer
	if err := res.Write(&table, "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "check_id") || !strings.Contains(lines[2], "NULL") || lines[3] != "(2 rows)" {
		t.Fatalf("table:\n%s", table.String())
	}
	// Columns line up: every row starts its second column at the same offset.
	if strings.Index(lines[1], "100") != strings.Index(lines[0], "monthly_cost_usd") {
		t.Fatalf("columns not aligned:\n%s", table.String())
	}
	if err := res.Write(&js, "json"); err != nil {
		t.Fatal(err)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(js.String(), "\n", 2)[0]), &first); err != nil || first["monthly_cost_usd"] != 100.0 || first["check_id"] != "ec2-idle-instance" {
		t.Fatalf("json %s (%v)", js.String(), err)
	}
	if err := res.Write(&js, "yaml"); !errors.As(err, new(*FormatError)) {
		t.Fatalf("yaml: %v", err)
	}
	if _, err := e.Run(context.Background(), "SELEC nonsense"); !IsSQLError(err) {
		t.Fatalf("bad SQL: %v", err)
	}
	if _, err := e.Run(context.Background(), "SELECT no_such_column FROM findings"); !IsSQLError(err) {
		t.Fatalf("unknown column: %v", err)
	}
	if _, err := Open(context.Background(), t.TempDir()); !errors.As(err, new(*NoHistoryError)) {
		t.Fatalf("empty dir: %v", err)
	}
}

// orgscan query only reads: statements that would write files, attach
// databases, install extensions or change settings are refused before they
// run, several statements at once too (DuckDB's driver would execute all
// but the last while preparing), and nothing appears on disk.
func TestOnlyQueriesRun(t *testing.T) {
	t.Parallel()
	e, err := Open(context.Background(), fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	out := t.TempDir()
	q := func(s string) string { return strings.ReplaceAll(s, "OUT", out) }
	for _, tc := range []struct {
		sql   string
		kind  string
		multi bool
	}{
		{q("COPY findings TO 'OUT/x.csv'"), "COPY", false},
		{q("COPY (SELECT 1) TO 'OUT/x.csv'; SELECT 1"), "COPY", false},
		{q("SELECT 1; COPY (SELECT 1) TO 'OUT/x.csv'"), "", true},
		{q("ATTACH 'OUT/x.db' AS x"), "ATTACH", false},
		{"INSTALL httpfs", "INSTALL", false},
		{"CREATE TABLE t AS SELECT 1", "CREATE", false},
		{"DROP VIEW findings", "DROP", false},
		{"SET threads = 1", "SET", false},
		{"CALL pragma_version()", "CALL", false},
		// Preparing EXPORT DATABASE creates its directory; EXPLAIN ANALYZE
		// runs what it explains; a comment does not hide the keyword.
		{q("EXPORT DATABASE 'OUT/exp'"), "EXPORT", false},
		{q("EXPLAIN ANALYZE COPY findings TO 'OUT/y.parquet' (FORMAT parquet)"), "EXPLAIN ANALYZE", false},
		{q("explain  analyze SELECT 1"), "EXPLAIN ANALYZE", false},
		{q("-- a note\n/* and another */ COPY findings TO 'OUT/z.csv'"), "COPY", false},
	} {
		_, err := e.Run(context.Background(), tc.sql)
		var ro *ReadOnlyError
		if !IsSQLError(err) || !errors.As(err, &ro) || ro.Kind != tc.kind || ro.Multi != tc.multi {
			t.Errorf("%s: err = %v, want ReadOnlyError{%s multi=%v}", tc.sql, err, tc.kind, tc.multi)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("a refused statement wrote %d files", len(entries))
	}
	for _, ok := range []string{"SELECT count(*) FROM findings", "WITH a AS (SELECT 1 AS x) SELECT x FROM a", "EXPLAIN SELECT 1", "DESCRIBE findings", "SELECT 1;"} {
		if _, err := e.Run(context.Background(), ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := e.Run(context.Background(), "SELECT count(*) FROM findings"); err != nil {
		t.Fatalf("the views are gone after the refusals: %v", err)
	}
	// A remote path is not an invitation to download httpfs.
	_, err = e.Run(context.Background(), "SELECT * FROM read_parquet('https://127.0.0.1:1/x.parquet')")
	if err == nil || strings.Contains(err.Error(), "download") || strings.Contains(err.Error(), "Failed to install") {
		t.Errorf("remote read: %v, want a refusal without an extension download", err)
	}
}
