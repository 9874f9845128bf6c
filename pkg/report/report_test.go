package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

const (
	xssReason = `<script>alert(1)</script>`
	urlReason = `Idle since the migration; see https://docs.aws.amazon.com/ebs/ for snapshots`
)

var fixtureChecks = []string{"ec2-idle-instance", "ebs-unattached-volume", "ec2-unassociated-eip",
	"vpc-idle-nat-gateway", "rds-idle-instance", "dynamodb-idle-provisioned-table"}

var fixtureRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"}

// fixture is a run of n open findings over 18 accounts (more than the
// account chart shows), every 7th without a price, with a reason that is a
// script, one that holds a URL, and names full of HTML's special characters.
func fixture(n int) pipeline.ReportInput {
	started := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	runID := "2026-11-26T0300Z-ab12"
	in := pipeline.ReportInput{
		Summary: pipeline.RunSummary{
			RunID: runID, StartedAt: started, FinishedAt: started.Add(83 * time.Second), DurationMs: 83_000,
			Accounts: 18, Regions: 4, Pairs: 72, PairsOK: 69, PairsPartial: 2, PairsFailed: 1,
			New: 7, Resolved: 3, Suppressed: 2, Resources: 3456,
			MetricsRequested: 4210, ScanCostUSD: 4210 * pipeline.GetMetricDataUSDPerMetric,
		},
		Trend: []pipeline.TrendPoint{
			{RunID: "2026-11-24T0300Z-aa00", StartedAt: started.Add(-48 * time.Hour), Findings: n - 5, MonthlyCostUSD: 5123.4},
			{RunID: "2026-11-25T0300Z-ab01", StartedAt: started.Add(-24 * time.Hour), Findings: n + 3, MonthlyCostUSD: 8740.2},
		},
		Problems: []pipeline.PairProblem{
			{AccountID: "100000000003", AccountName: "sandbox <3>", Region: "ap-southeast-2", Status: pipeline.PairFailed,
				Errors: []checks.CheckError{{Code: "AccessDenied", Message: `User: arn:aws:sts::100000000003:assumed-role/x is not authorized to perform: sts:AssumeRole`}}},
			{AccountID: "100000000007", Region: "eu-west-1", Status: pipeline.PairPartial, Errors: []checks.CheckError{
				{Check: "rds-idle-instance", Code: "AccessDeniedException", Message: "rds:DescribeDBInstances denied", Count: 3},
				{Check: "vpc-idle-nat-gateway", Code: "Throttling", Message: "Rate exceeded & retries exhausted"},
			}},
			{AccountID: "100000000011", Region: "us-east-1", Status: pipeline.PairPartial, Errors: []checks.CheckError{
				{Check: "ec2-idle-instance", Code: "InternalError", Message: "GetMetricData returned a partial result"},
			}},
		},
	}
	byCheck := map[string]*pipeline.CheckTotal{}
	for i := 0; i < n; i++ {
		acct := fmt.Sprintf("1000000000%02d", i%18)
		name := []string{"prod-payments", "R&D <lab>", "", `"quoted" team`, "data-platform-analytics-long-name"}[i%5]
		check := fixtureChecks[(i/3)%len(fixtureChecks)]
		region := fixtureRegions[i%len(fixtureRegions)]
		res := fmt.Sprintf("res-%04x%04x", i*7919%65536, i)
		f := finding.Finding{
			CheckID: check, AccountID: acct, AccountName: name, Region: region, ResourceID: res,
			ResourceType: "AWS::EC2::Volume", ResourceARN: "arn:aws:ec2:" + region + ":" + acct + ":volume/" + res,
			Reason: fmt.Sprintf("no activity over 14 days (finding %d)", i), Status: finding.Open,
			FirstSeen: started.Add(-time.Duration(i%9) * 24 * time.Hour), LastSeen: started, RunID: runID,
		}
		f.FindingID = finding.ID(f.CheckID, f.AccountID, f.Region, f.ResourceID)
		switch i {
		case 4:
			f.Reason = xssReason
		case 5:
			f.Reason = urlReason
		case 6:
			f.ResourceID = `i-"0a'<b>&`
		}
		if i%7 != 3 {
			f.MonthlyCostUSD = finding.Cost(float64(i*7919%50000)/100 + 0.5)
		}
		in.Findings = append(in.Findings, f)
		t := byCheck[check]
		if t == nil {
			t = &pipeline.CheckTotal{CheckID: check}
			byCheck[check] = t
		}
		t.Findings++
		if f.MonthlyCostUSD == nil {
			t.Unpriced++
			in.Summary.Unpriced++
		} else {
			t.MonthlyCostUSD += *f.MonthlyCostUSD
			in.Summary.MonthlyCostUSD += *f.MonthlyCostUSD
		}
	}
	for _, id := range fixtureChecks {
		if t := byCheck[id]; t != nil {
			in.Summary.ByCheck = append(in.Summary.ByCheck, *t)
		}
	}
	in.Summary.Findings, in.FindingsTotal = n, n
	in.Summary.Problems = append(in.Summary.Problems, in.Problems...)
	in.Trend = append(in.Trend, pipeline.TrendPoint{RunID: runID, StartedAt: started, Findings: n, MonthlyCostUSD: in.Summary.MonthlyCostUSD})
	return in
}

func render(t *testing.T, in pipeline.ReportInput) string {
	t.Helper()
	var b bytes.Buffer
	if err := (HTML{}).Render(&b, in); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The totals strip shows the summary's figures, machine-readable.
func TestTotalsEqualTheSummary(t *testing.T) {
	t.Parallel()
	in := fixture(50)
	out := render(t, in)
	s := in.Summary
	for id, want := range map[string]string{
		"total-findings":      strconv.Itoa(s.Findings),
		"total-monthly":       strconv.FormatFloat(s.MonthlyCostUSD, 'f', 2, 64),
		"total-new":           "7",
		"total-resolved":      "3",
		"total-suppressed":    "2",
		"total-failed-pairs":  "1",
		"total-partial-pairs": "2",
		"total-scan-cost":     "0.0421",
	} {
		if got := attrOf(t, out, id, "data-value"); got != want {
			t.Errorf("#%s data-value = %q, want %q", id, got, want)
		}
	}
	if want := `id="total-monthly" data-value="` + strconv.FormatFloat(s.MonthlyCostUSD, 'f', 2, 64) + `">` + money(s.MonthlyCostUSD) + "<"; !strings.Contains(out, want) {
		t.Errorf("monthly total not shown as %s", money(s.MonthlyCostUSD))
	}
	for _, want := range []string{s.RunID, "18 accounts × 4 regions", "Thu 26 Nov 2026 03:00 UTC", "scanned in 1m23s"} {
		if !strings.Contains(out, want) {
			t.Errorf("header lacks %q", want)
		}
	}
}

// attrOf returns an attribute of the element with the given id.
func attrOf(t *testing.T, out, id, attr string) string {
	t.Helper()
	m := regexp.MustCompile(`<[a-z]+ [^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(out)
	if m == "" {
		t.Fatalf("no element #%s", id)
	}
	v := regexp.MustCompile(`\b` + attr + `="([^"]*)"`).FindStringSubmatch(m)
	if v == nil {
		t.Fatalf("#%s has no %s: %s", id, attr, m)
	}
	return v[1]
}

// Every string of the input is escaped: a reason that is a script shows as
// text, names and resource IDs cannot close an attribute.
func TestInputIsEscaped(t *testing.T) {
	t.Parallel()
	out := render(t, fixture(50))
	if strings.Contains(out, xssReason) || strings.Contains(out, "alert(1)</") {
		t.Fatal("the script reason reached the page unescaped")
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"R&amp;D &lt;lab&gt;",
		"&#34;quoted&#34; team",
		`i-&#34;0a&#39;&lt;b&gt;&amp;`,
		"sandbox &lt;3&gt;",
		"Rate exceeded &amp; retries exhausted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the escaped %s", want)
		}
	}
	if n := strings.Count(out, "<script"); n != 1 {
		t.Errorf("%d <script> elements, want only the page's own", n)
	}
}

// The page fetches nothing: no URL attribute, no stylesheet link, no CSS
// import or url(); the only URL in it is the text of a reason.
func TestNoExternalReferences(t *testing.T) {
	t.Parallel()
	out := render(t, fixture(50))
	for _, re := range []string{
		`(?i)\s(src|href|xlink:href|srcset|action|formaction|poster|background|data|codebase|manifest)\s*=`,
		`(?i)<(link|img|iframe|object|embed|base|audio|video|source|use|image|foreignObject)\b`,
		`(?i)@import`, `(?i)url\(`, `(?i)\bfetch\(`, `XMLHttpRequest`, `(?i)\bimport\(`, `(?i)sendBeacon`, `(?i)WebSocket`,
	} {
		if m := regexp.MustCompile(re).FindString(out); m != "" {
			t.Errorf("output has %q (matched %s)", m, re)
		}
	}
	for _, scheme := range []string{"http://", "https://"} {
		n := strings.Count(out, scheme)
		if want := strings.Count(urlReason, scheme); n != want {
			t.Errorf("%d occurrences of %q, want %d (the reason's text only)", n, scheme, want)
		}
	}
	if !strings.Contains(out, "<td>"+urlReason+"</td>") {
		t.Error("the URL is not plain cell text")
	}
}

// The Content Security Policy allows exactly the page's style and script,
// so the browser refuses anything else; their hashes must match what was
// written, byte for byte.
func TestContentSecurityPolicyMatchesInlineCode(t *testing.T) {
	t.Parallel()
	out := render(t, fixture(5))
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(out)
	if csp == nil {
		t.Fatal("no Content-Security-Policy meta")
	}
	policy := strings.ReplaceAll(csp[1], "&#39;", "'")
	if !strings.HasPrefix(policy, "default-src 'none';") {
		t.Errorf("policy %q does not start by refusing everything", policy)
	}
	for _, el := range []string{"style", "script"} {
		m := regexp.MustCompile(`(?s)<` + el + `>(.*?)</` + el + `>`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no <%s>", el)
		}
		h := sha256.Sum256([]byte(m[1]))
		want := el + "-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
		if !strings.Contains(policy, want) {
			t.Errorf("policy %q lacks %q", policy, want)
		}
	}
}

// The same input gives the same bytes, whatever the order of its findings.
func TestRenderIsDeterministic(t *testing.T) {
	t.Parallel()
	in := fixture(50)
	a, b := render(t, in), render(t, in)
	if a != b {
		t.Fatal("two renders of one input differ")
	}
	shuffled := fixture(50)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled.Findings), func(i, j int) {
		shuffled.Findings[i], shuffled.Findings[j] = shuffled.Findings[j], shuffled.Findings[i]
	})
	if c := render(t, shuffled); c != a {
		t.Fatal("the order of the input's findings changed the output")
	}
}

// The table lists every finding, most expensive first, unknown prices last
// and shown as "unknown".
func TestFindingsTable(t *testing.T) {
	t.Parallel()
	in := fixture(50)
	out := render(t, in)
	usd := regexp.MustCompile(`<tr data-usd="([^"]*)"`).FindAllStringSubmatch(out, -1)
	if len(usd) != len(in.Findings) {
		t.Fatalf("%d rows, want %d", len(usd), len(in.Findings))
	}
	unknown, prev := 0, 1e18
	for _, m := range usd {
		if m[1] == "" {
			unknown++
			prev = -1
			continue
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil || prev < 0 || v > prev {
			t.Fatalf("row data-usd %q out of order after %v (unknown must come last)", m[1], prev)
		}
		prev = v
	}
	if want := in.Summary.Unpriced; unknown != want || strings.Count(out, `<td class="num unknown">unknown</td>`) != want {
		t.Errorf("%d unknown prices, want %d shown as unknown", unknown, want)
	}
	for _, id := range []string{`id="findings"`, `id="filter"`, `id="check-filter"`, `id="row-count">50<`} {
		if !strings.Contains(out, id) {
			t.Errorf("output lacks %s", id)
		}
	}
	for _, c := range fixtureChecks {
		if !strings.Contains(out, `<option value="`+c+`">`) {
			t.Errorf("check filter lacks %s", c)
		}
	}
	if strings.Contains(out, "not included") || strings.Contains(out, "open findings are listed") {
		t.Error("a note about omitted findings though none were omitted")
	}
}

// The charts are inline SVG: a bar per check, the 15 most expensive
// accounts, a step line with a point per run.
func TestCharts(t *testing.T) {
	t.Parallel()
	in := fixture(50)
	out := render(t, in)
	if n := strings.Count(out, "<svg "); n != 3 {
		t.Fatalf("%d charts, want 3", n)
	}
	if n, want := strings.Count(out, `<rect class="bar"`), len(in.Summary.ByCheck)+topAccounts; n != want {
		t.Errorf("%d bars, want %d", n, want)
	}
	if n := strings.Count(out, `<circle class="pt"`); n != len(in.Trend) {
		t.Errorf("%d trend points, want %d", n, len(in.Trend))
	}
	if !strings.Contains(out, "The 15 most expensive of 18 accounts.") {
		t.Error("the account chart does not say it shows the top 15")
	}
}

// When the report lists only the most expensive findings it says so, in
// the table and under the account chart computed from them.
func TestCappedFindingsAreNoted(t *testing.T) {
	t.Parallel()
	in := fixture(50)
	in.Findings, in.FindingsTotal = in.Findings[:20], 50
	out := render(t, in)
	for _, want := range []string{"the 20 most expensive of 50 open findings are listed", "the other 30 are not included"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// Failed and partial pairs are listed with every error.
func TestProblems(t *testing.T) {
	t.Parallel()
	in := fixture(10)
	out := render(t, in)
	for _, want := range []string{"AccessDenied", "AccessDeniedException", "rds:DescribeDBInstances denied (×3)", "(whole pair)",
		`<span class="status failed">failed</span>`, `<span class="status partial">partial</span>`} {
		if !strings.Contains(out, want) {
			t.Errorf("problems lack %q", want)
		}
	}
	in.Problems = nil // the summary's list stands in
	in.Summary.ProblemsOmitted = 4
	out = render(t, in)
	if !strings.Contains(out, "GetMetricData returned a partial result") || !strings.Contains(out, "4 more are in the run") {
		t.Error("the summary's problems are not shown when the input has none")
	}
}

// An empty input (a run of nothing) still renders a valid page.
func TestEmptyInput(t *testing.T) {
	t.Parallel()
	for _, in := range []pipeline.ReportInput{{}, {Summary: pipeline.RunSummary{RunID: "r1"}, Trend: []pipeline.TrendPoint{{RunID: "r1"}}}} {
		out := render(t, in)
		checkWellFormed(t, out)
		for _, want := range []string{"No open findings.", "Every pair was scanned fully.", `id="row-count">0<`} {
			if !strings.Contains(out, want) {
				t.Errorf("empty report lacks %q", want)
			}
		}
	}
}

// The output is well-formed HTML: every element that needs closing is
// closed in order, every attribute is quoted, ids are unique.
func TestWellFormed(t *testing.T) {
	t.Parallel()
	checkWellFormed(t, render(t, fixture(50)))
}

var voidElements = map[string]bool{"meta": true, "input": true, "br": true, "hr": true, "link": true, "img": true, "col": true, "wbr": true}

var (
	tagRe  = regexp.MustCompile(`^<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*(?:="[^"<]*")?)*)\s*>`)
	attrRe = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9:-]*)(?:="([^"]*)")?`)
)

func checkWellFormed(t *testing.T, out string) {
	t.Helper()
	if !strings.HasPrefix(out, "<!DOCTYPE html>\n") {
		t.Fatal("no doctype")
	}
	rest := out[len("<!DOCTYPE html>\n"):]
	var stack []string
	ids := map[string]bool{}
	for rest != "" {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			if strings.TrimSpace(rest) != "" {
				t.Fatalf("text after the document: %q", rest)
			}
			break
		}
		if text := rest[:i]; strings.ContainsAny(text, `>"`) && len(stack) > 0 && stack[len(stack)-1] != "style" {
			t.Fatalf("unescaped > or \" in text %q", text)
		}
		rest = rest[i:]
		m := tagRe.FindStringSubmatch(rest)
		if m == nil {
			t.Fatalf("malformed tag at %q", rest[:min(len(rest), 80)])
		}
		rest = rest[len(m[0]):]
		name := strings.ToLower(m[2])
		if m[1] == "/" {
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("</%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		for _, a := range attrRe.FindAllStringSubmatch(m[3], -1) {
			if a[1] == "id" {
				if ids[a[2]] {
					t.Fatalf("duplicate id %q", a[2])
				}
				ids[a[2]] = true
			}
		}
		if voidElements[name] {
			continue
		}
		if name == "script" || name == "style" { // raw text up to the end tag
			end := strings.Index(rest, "</"+name+">")
			if end < 0 {
				t.Fatalf("<%s> is not closed", name)
			}
			rest = rest[end+len("</"+name+">"):]
			continue
		}
		stack = append(stack, name)
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements %v", stack)
	}
}

// A report of 200 findings stays small.
func TestSize(t *testing.T) {
	t.Parallel()
	out := render(t, fixture(200))
	if len(out) > 200_000 {
		t.Errorf("a report of 200 findings is %d bytes, want under 200 kB", len(out))
	}
	t.Logf("200 findings: %d bytes", len(out))
}

// Dates under the trend never overlap: a run seconds after another gets no
// date of its own; the newest always has one.
func TestTrendDatesDoNotOverlap(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		at   []time.Duration
		want []string
	}{
		{"one run", []time.Duration{0}, []string{"Nov 1 03:00:00"}},
		{"a re-run a second later", []time.Duration{0, time.Second, time.Hour}, []string{"Nov 1 03:00", "Nov 1 04:00"}},
		{"two runs a second apart", []time.Duration{0, time.Second}, []string{"Nov 1 03:00:00", "Nov 1 03:00:01"}},
		{"three days", []time.Duration{0, 24 * time.Hour, 48 * time.Hour}, []string{"Nov 1 03:00", "Nov 2 03:00", "Nov 3 03:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var pts []trendPoint
			for i, d := range tc.at {
				pts = append(pts, trendPoint{At: t0.Add(d), Value: float64(i)})
			}
			var got []string
			for _, l := range layoutTrend("", pts).XLabels {
				got = append(got, l.Label)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("dates %q, want %q", got, tc.want)
			}
		})
	}
	var pts []trendPoint // a year of daily runs
	for i := 0; i < 365; i++ {
		pts = append(pts, trendPoint{At: t0.Add(time.Duration(i) * 24 * time.Hour), Value: float64(i % 7)})
	}
	labels := layoutTrend("", pts).XLabels
	if len(labels) < 5 || len(labels) > 12 || labels[len(labels)-1].Label != "Oct 31 03:00" {
		t.Fatalf("%d dates for a year, the last %+v", len(labels), labels[len(labels)-1])
	}
	prev := -1e9
	for _, l := range labels {
		x, _ := strconv.ParseFloat(l.X, 64)
		if x-prev < 80 {
			t.Errorf("dates %v too close", labels)
		}
		prev = x
	}
}

func TestNiceScale(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ max, step, top float64 }{
		{0, 1, 4}, {1, 0.25, 1}, {9.5, 2.5, 10}, {100, 25, 100}, {1234, 500, 1500}, {5123.4, 2000, 6000}, {0.03, 0.01, 0.03},
	} {
		step, top := niceScale(tc.max)
		if !near(step, tc.step) || !near(top, tc.top) {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.max, step, top, tc.step, tc.top)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestMoney(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{0: "$0.00", 3.456: "$3.46", 1234.5: "$1,234.50", 1234567.891: "$1,234,567.89", -12: "-$12.00"} {
		if got := money(v); got != want {
			t.Errorf("money(%v) = %q, want %q", v, got, want)
		}
	}
}
