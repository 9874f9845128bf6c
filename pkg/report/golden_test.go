package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.html from the current renderer")

// hostile is every kind of text that could break out of where the page puts
// it: markup, both quotes, an ampersand, the end tags of the page's raw-text
// and RCDATA elements, a comment, template syntax, a plus (which the escaper
// writes as an entity), a NUL, invalid UTF-8, non-ASCII including a line
// separator and a right-to-left override, terminal escape sequences (a
// screen clear, an OSC-8 hyperlink) and invisible formatting characters;
// the page shows the hidden characters as escapes (`\u202e`, `\x1b`).
const hostile = `<script>alert('x')</script> & "q" </style></title><!-- {{.}} a+b` + "\x00 \xff é 日本 😀 \u2028 \u202e" +
	" \x1b[2J\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ \r\n\t \u2066\u200b\ufeff\u061c\u0085"

// hostileFixture puts hostile text in every string of the input the page
// shows, and in a few it does not (tags, the resource type behind an ARN).
func hostileFixture() pipeline.ReportInput {
	started := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	check := "check-" + hostile
	in := pipeline.ReportInput{
		Summary: pipeline.RunSummary{
			RunID: "run-" + hostile, StartedAt: started, DurationMs: 1,
			Accounts: 2, Regions: 1, Pairs: 2, PairsFailed: 1, PairsPartial: 1, Findings: 3, Unpriced: 1,
			MonthlyCostUSD: 12.5, ScanCostUSD: 0.0001, MetricsRequested: 10,
			ByCheck: []pipeline.CheckTotal{{CheckID: check, Findings: 3, MonthlyCostUSD: 12.5, Unpriced: 1}},
		},
		// Runs that share a start time are spread evenly, not on a time axis.
		Trend: []pipeline.TrendPoint{
			{RunID: "old-" + hostile, StartedAt: started, Findings: 1, MonthlyCostUSD: 0.03},
			{RunID: "run-" + hostile, StartedAt: started, Findings: 3, MonthlyCostUSD: 12.5},
		},
		Problems: []pipeline.PairProblem{
			{AccountID: "acct-" + hostile, AccountName: "name-" + hostile, Region: "region-" + hostile,
				Status: pipeline.PairStatus("status-" + hostile),
				Errors: []checks.CheckError{
					{Check: check, Code: "code-" + hostile, Message: "message-" + hostile, Count: 2},
					{Code: "whole-pair", Message: hostile},
				}},
			{AccountID: "100000000001", Region: "us-east-1", Status: pipeline.PairPartial}, // no error recorded
		},
		FindingsTotal: 3,
	}
	for i, cost := range []*float64{finding.Cost(10), finding.Cost(2.5), nil} {
		f := finding.Finding{
			CheckID: check, AccountID: "acct-" + hostile, AccountName: "name-" + hostile, Region: "region-" + hostile,
			ResourceID: "res-" + hostile, ResourceType: "type-" + hostile, Reason: "reason-" + hostile,
			Tags: map[string]string{"Name": hostile}, MonthlyCostUSD: cost, Status: finding.Open,
			FirstSeen: started,
		}
		switch i {
		case 0:
			f.ResourceARN = "arn:" + hostile
		case 1:
			f.AccountID, f.AccountName = "100000000001", "" // a second account, unnamed
			f.FirstSeen = time.Time{}
		}
		f.FindingID = finding.ID(f.CheckID, f.AccountID, f.Region, f.ResourceID)
		in.Findings = append(in.Findings, f)
	}
	// A suppressed finding, suppressed by a tag a member account set, and
	// two more not listed.
	sup := in.Findings[0]
	sup.Status, sup.SuppressedBy = finding.Suppressed, "tag orgscan:ignore="+hostile
	in.Suppressed, in.SuppressedTotal = []finding.Finding{sup}, 3
	return in
}

// goldenCases are the inputs whose rendering is pinned byte for byte in
// testdata: the escaping and the layout of every part of the page.
func goldenCases() map[string]pipeline.ReportInput {
	capped := fixture(50)
	capped.Findings, capped.FindingsTotal = capped.Findings[:20], 50
	summaryProblems := fixture(10)
	summaryProblems.Problems, summaryProblems.Summary.ProblemsOmitted = nil, 4
	noHistory := fixture(5)
	noHistory.Trend = nil
	return map[string]pipeline.ReportInput{
		"fixture50":        fixture(50),
		"capped":           capped,
		"summary-problems": summaryProblems,
		"no-history":       noHistory,
		"empty":            {},
		"one-run":          {Summary: pipeline.RunSummary{RunID: "r1"}, Trend: []pipeline.TrendPoint{{RunID: "r1"}}},
		"hostile":          hostileFixture(),
	}
}

// The page is byte-identical to testdata/<case>.golden.html; go test -update
// rewrites those files after an intended change, to review in the diff.
func TestGolden(t *testing.T) {
	t.Parallel()
	for name, in := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := []byte(render(t, in))
			path := filepath.Join("testdata", name+".golden.html")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the page differs from %s at byte %d:\n got %q\nwant %q",
					path, firstDiff(got, want), around(got, firstDiff(got, want)), around(want, firstDiff(got, want)))
			}
		})
	}
}

// firstDiff is the offset of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// around is the text of b near offset i, for a readable failure.
func around(b []byte, i int) []byte {
	return b[max(0, i-80):min(len(b), i+80)]
}
