package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
)

// runReport calls the report command as Main would, returning its error.
func runReport(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdout: &out, Stderr: &errb}
	err = app.report(context.Background(), args)
	return out.String(), err
}

// simulate runs a simulated scan into dir and returns its summary.
func simulate(t *testing.T, dir string, day int) pipeline.RunSummary {
	t.Helper()
	code, _, stderr := runApp(t, "run", "--simulate", "--sim-accounts", "3", "--sim-day", strconv.Itoa(day), "--data", dir, "--quiet")
	if code != exitOK {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	recs, err := (&store.LocalState{Dir: dir}).Runs(context.Background(), 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("run records: %v, %v", recs, err)
	}
	var s pipeline.RunSummary
	if err := json.Unmarshal(recs[0].Summary, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// `orgscan report` writes the newest run's report where the aggregator
// would, and prints its path.
func TestReportOfTheNewestRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	simulate(t, dir, 0)
	sum := simulate(t, dir, 1)
	stdout, err := runReport(t, "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "reports", sum.RunID+".html")
	if strings.TrimSpace(stdout) != want {
		t.Fatalf("printed %q, want %s", stdout, want)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, s := range []string{
		sum.RunID,
		`id="total-findings" data-value="` + strconv.Itoa(sum.Findings) + `"`,
		`id="total-monthly" data-value="` + strconv.FormatFloat(sum.MonthlyCostUSD, 'f', 2, 64) + `"`,
		`id="total-new" data-value="` + strconv.Itoa(sum.New) + `"`,
		`id="total-resolved" data-value="` + strconv.Itoa(sum.Resolved) + `"`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("report lacks %s", s)
		}
	}
	if sum.Findings == 0 || sum.New == 0 || sum.Resolved == 0 {
		t.Fatalf("the simulated second day should open and resolve findings: %+v", sum)
	}
	if rows := strings.Count(page, "<tr data-usd="); rows != min(sum.Findings, pipeline.MaxReportFindings) {
		t.Errorf("%d rows, want %d", rows, sum.Findings)
	}
	if pts := strings.Count(page, `<circle class="pt"`); pts != 2 {
		t.Errorf("trend of %d runs, want 2", pts)
	}
}

// --run picks an older run, --out the file.
func TestReportOfAGivenRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := simulate(t, dir, 0)
	simulate(t, dir, 1)
	out := filepath.Join(t.TempDir(), "sub", "first.html")
	stdout, err := runReport(t, "--data", dir, "--run", first.RunID, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(stdout) != out {
		t.Fatalf("printed %q, want %s", stdout, out)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<code id="run-id">`+first.RunID+`</code>`) {
		t.Error("the report is not the first run's")
	}
}

// Bad input is a usage error of one line; no data is an error.
func TestReportBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	simulate(t, dir, 0)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", dir, "--run", "2020-01-01T000000Z-nope"}, `--run "2020-01-01T000000Z-nope": no such run`},
		{[]string{"--data", dir, "--run", "../x"}, `--run "../x": not a run ID`},
		{[]string{"--data", dir, "--frobnicate"}, "frobnicate"},
		{[]string{"--data", dir, "extra"}, `"extra"`},
	} {
		_, err := runReport(t, tc.args...)
		var ue *UsageError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a one-line usage error naming %s", tc.args, err, tc.want)
		}
	}
	_, err := runReport(t, "--data", filepath.Join(dir, "nothing-here"))
	var ue *UsageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "orgscan run") {
		t.Errorf("no data: error %v, want one telling to run `orgscan run`", err)
	}
	if _, err := runReport(t, "-h"); !errors.Is(err, errHelp) {
		t.Errorf("-h: %v", err)
	}
}
