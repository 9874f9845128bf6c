// Package report renders a run's report: one self-contained HTML file that
// a browser opens from disk, offline, with nothing fetched from anywhere.
//
// The charts are static SVG that Go lays out while rendering, not a
// JavaScript charting library. A library would have to be inlined (tens to
// hundreds of kilobytes per report) or loaded from a CDN (a network request
// from a report about an organization's accounts, and a blank chart
// offline); SVG from Go costs a few kilobytes, has no dependency to keep up
// to date, renders without JavaScript, prints, and is deterministic, so the
// same run gives byte-identical reports that tests can compare. A bar
// chart, a step line and their <title> tooltips need nothing more.
//
// JavaScript only sorts and filters the findings table, which is rendered
// as HTML rows so the report reads the same without it. A Content Security
// Policy in the page allows exactly the inline style and script (by hash)
// and nothing else, so the browser itself refuses any request.
package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pricing"
)

var (
	//go:embed report.css
	pageStyle string
	//go:embed report.js
	pageScript string
)

// topAccounts is how many accounts the account chart shows.
const topAccounts = 15

// contentSecurityPolicy is the page's Content Security Policy. It is
// written into the page unescaped: it holds no double quote.
var contentSecurityPolicy = csp()

// csp allows the page's own inline style and script, identified by their
// hashes, and nothing else: no request of any kind, no other script.
func csp() string {
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	return "default-src 'none'; style-src " + hash(pageStyle) + "; script-src " + hash(pageScript) +
		"; img-src 'none'; base-uri 'none'; form-action 'none'"
}

// HTML renders the report as one HTML file: inline CSS, inline JavaScript,
// SVG charts, no external resource.
type HTML struct{}

var _ pipeline.Reporter = HTML{}

// Render writes the report of in to w. The same input gives the same bytes:
// nothing depends on the clock or on map order. Findings are listed most
// expensive first (unknown prices last) whatever their order in in; the
// account chart sums in.Findings, so it says when they are only the first
// of FindingsTotal. Problems default to the summary's list when in.Problems
// is empty. Every string from the input is escaped. Render returns the
// first error writing to w; it is safe for concurrent use.
func (HTML) Render(w io.Writer, in pipeline.ReportInput) error {
	var m markup
	writePage(&m, buildView(in))
	_, err := m.buf.WriteTo(w)
	return err
}

// view is what the page shows, every value formatted.
type view struct {
	RunID, Started, StartedISO, Duration string
	Accounts, Regions, Pairs             int
	Totals                               []total
	ByCheck, ByAccount                   barChart
	ByCheckNote, ByAccountNote           string
	Trend                                trendChart
	TrendNote                            string
	Problems                             []problem
	ProblemsNote                         string
	Rows                                 []row
	Checks                               []checkOption
	Listed, Total                        int
	// Suppressed findings with what suppressed each; SuppressedNote says
	// how many more there were.
	Suppressed     []suppressedRow
	SuppressedNote string
}

// suppressedRow is a suppressed finding: where it is, what it would cost,
// and the tag or exclusion that suppressed it.
type suppressedRow struct {
	row
	By string
}

// total is one figure of the totals strip; ID and Value are for tests.
type total struct {
	ID, Label, Value, Text, Sub string
	Tone                        string // "", "good", "warn" or "bad": the card's accent
}

type problem struct {
	AccountID, AccountName, Region, Status string
	Errors                                 []problemError
}

type problemError struct{ Check, Code, Message string }

type row struct {
	AccountID, AccountName, Region, Check, Resource, ResourceTitle, Reason string
	USD, USDText, FirstSeen                                                string
}

type checkOption struct {
	ID    string
	Count int
}

func buildView(in pipeline.ReportInput) view {
	s := in.Summary
	v := buildViewMain(in, s)
	for _, f := range in.Suppressed {
		v.Suppressed = append(v.Suppressed, suppressedRow{row: findingRow(f), By: f.SuppressedBy})
	}
	if more := max(in.SuppressedTotal, s.Suppressed) - len(in.Suppressed); more > 0 {
		v.SuppressedNote = fmt.Sprintf("%s more are in the run's findings.jsonl (status suppressed).", group(strconv.Itoa(more)))
	}
	return v
}

func buildViewMain(in pipeline.ReportInput, s pipeline.RunSummary) view {
	v := view{
		RunID:    s.RunID,
		Accounts: s.Accounts, Regions: s.Regions, Pairs: s.Pairs,
		Listed: len(in.Findings), Total: max(in.FindingsTotal, len(in.Findings)),
	}
	if !s.StartedAt.IsZero() {
		v.Started = s.StartedAt.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
		v.StartedISO = s.StartedAt.UTC().Format(time.RFC3339)
	}
	if s.DurationMs > 0 {
		v.Duration = (time.Duration(s.DurationMs) * time.Millisecond).Round(100 * time.Millisecond).String()
	}
	v.Totals = totals(s)

	byCheck := make([]pipeline.CheckTotal, len(s.ByCheck))
	copy(byCheck, s.ByCheck)
	sort.SliceStable(byCheck, func(i, j int) bool {
		if byCheck[i].MonthlyCostUSD != byCheck[j].MonthlyCostUSD {
			return byCheck[i].MonthlyCostUSD > byCheck[j].MonthlyCostUSD
		}
		return byCheck[i].CheckID < byCheck[j].CheckID
	})
	var checkBars []barDatum
	unpricedChecks := 0
	for _, c := range byCheck {
		tip := fmt.Sprintf("%s: %s/month, %s", c.CheckID, money(c.MonthlyCostUSD), plural(c.Findings, "finding"))
		if c.Unpriced > 0 {
			tip += fmt.Sprintf(" (%d without a price)", c.Unpriced)
			unpricedChecks += c.Unpriced
		}
		checkBars = append(checkBars, barDatum{Label: c.CheckID, Value: c.MonthlyCostUSD, Tooltip: tip})
	}
	v.ByCheck = layoutBars("Monthly cost of open findings by check", checkBars)
	if unpricedChecks > 0 {
		v.ByCheckNote = fmt.Sprintf("%s without a known price count as $0 here.", plural(unpricedChecks, "finding"))
	}

	findings := make([]finding.Finding, len(in.Findings))
	copy(findings, in.Findings)
	sort.SliceStable(findings, func(i, j int) bool {
		ci, cj := findings[i].SortCost(), findings[j].SortCost()
		if ci != cj {
			return ci > cj
		}
		return findings[i].FindingID < findings[j].FindingID
	})
	v.ByAccount, v.ByAccountNote = accountChart(findings, v.Total)
	checks := map[string]int{}
	for _, f := range findings {
		checks[f.CheckID]++
		v.Rows = append(v.Rows, findingRow(f))
	}
	for id, n := range checks {
		v.Checks = append(v.Checks, checkOption{ID: id, Count: n})
	}
	sort.Slice(v.Checks, func(i, j int) bool { return v.Checks[i].ID < v.Checks[j].ID })

	var pts []trendPoint
	for _, p := range in.Trend {
		pts = append(pts, trendPoint{At: p.StartedAt, Value: p.MonthlyCostUSD,
			Tooltip: fmt.Sprintf("%s (%s): %s/month, %s", p.RunID, p.StartedAt.UTC().Format("2006-01-02 15:04 UTC"),
				money(p.MonthlyCostUSD), plural(p.Findings, "open finding"))})
	}
	v.Trend = layoutTrend("Open monthly cost across runs", pts)
	switch len(pts) {
	case 0:
		v.TrendNote = "No run history."
	case 1:
		v.TrendNote = "The first recorded run: the trend starts here."
	}

	problems := in.Problems
	if len(problems) == 0 {
		problems = s.Problems
		if s.ProblemsOmitted > 0 {
			v.ProblemsNote = fmt.Sprintf("%d more are in the run's pairs.jsonl.", s.ProblemsOmitted)
		}
	}
	for _, p := range problems {
		pv := problem{AccountID: p.AccountID, AccountName: p.AccountName, Region: p.Region, Status: string(p.Status)}
		for _, e := range p.Errors {
			check := e.Check
			if check == "" {
				check = "(whole pair)"
			}
			msg := e.Message
			if e.Count > 1 {
				msg += fmt.Sprintf(" (×%d)", e.Count)
			}
			pv.Errors = append(pv.Errors, problemError{Check: check, Code: e.Code, Message: msg})
		}
		v.Problems = append(v.Problems, pv)
	}
	return v
}

func totals(s pipeline.RunSummary) []total {
	tone := func(n int, bad string) string {
		if n > 0 {
			return bad
		}
		return ""
	}
	monthlySub := "per month, open findings"
	if s.Unpriced > 0 {
		monthlySub = fmt.Sprintf("per month; %d without a price", s.Unpriced)
	}
	return []total{
		{ID: "total-findings", Label: "Open findings", Value: strconv.Itoa(s.Findings), Text: group(strconv.Itoa(s.Findings)),
			Sub: fmt.Sprintf("%s resources described", group(strconv.Itoa(s.Resources)))},
		{ID: "total-monthly", Label: "Monthly waste", Value: strconv.FormatFloat(s.MonthlyCostUSD, 'f', 2, 64),
			Text: money(s.MonthlyCostUSD), Sub: monthlySub},
		{ID: "total-new", Label: "New", Value: strconv.Itoa(s.New), Text: group(strconv.Itoa(s.New)),
			Sub: "since the previous run"},
		{ID: "total-resolved", Label: "Resolved", Value: strconv.Itoa(s.Resolved), Text: group(strconv.Itoa(s.Resolved)),
			Sub: "since the previous run", Tone: tone(s.Resolved, "good")},
		{ID: "total-suppressed", Label: "Suppressed", Value: strconv.Itoa(s.Suppressed), Text: group(strconv.Itoa(s.Suppressed)),
			Sub: "left out of every total"},
		{ID: "total-failed-pairs", Label: "Failed pairs", Value: strconv.Itoa(s.PairsFailed), Text: group(strconv.Itoa(s.PairsFailed)),
			Sub: fmt.Sprintf("of %s account × region pairs", group(strconv.Itoa(s.Pairs))), Tone: tone(s.PairsFailed, "bad")},
		{ID: "total-partial-pairs", Label: "Partial pairs", Value: strconv.Itoa(s.PairsPartial), Text: group(strconv.Itoa(s.PairsPartial)),
			Sub: fmt.Sprintf("%s pairs scanned fully", group(strconv.Itoa(s.PairsOK))), Tone: tone(s.PairsPartial, "warn")},
		{ID: "total-scan-cost", Label: "Scan cost", Value: strconv.FormatFloat(s.ScanCostUSD, 'f', 4, 64),
			Text: "$" + strconv.FormatFloat(s.ScanCostUSD, 'f', 4, 64),
			Sub:  fmt.Sprintf("%s metrics requested", group(strconv.Itoa(s.MetricsRequested)))},
	}
}

// accountChart sums the listed findings by account and keeps the most
// expensive accounts.
func accountChart(findings []finding.Finding, total int) (barChart, string) {
	type acct struct {
		id, name string
		usd      float64
		n        int
	}
	byID := map[string]*acct{}
	var accts []*acct
	for _, f := range findings {
		a := byID[f.AccountID]
		if a == nil {
			a = &acct{id: f.AccountID, name: f.AccountName}
			byID[f.AccountID] = a
			accts = append(accts, a)
		}
		a.n++
		if f.MonthlyCostUSD != nil {
			a.usd += *f.MonthlyCostUSD
		}
	}
	sort.SliceStable(accts, func(i, j int) bool {
		if accts[i].usd != accts[j].usd {
			return accts[i].usd > accts[j].usd
		}
		return accts[i].id < accts[j].id
	})
	var notes []string
	if len(accts) > topAccounts {
		notes = append(notes, fmt.Sprintf("The %d most expensive of %d accounts.", topAccounts, len(accts)))
		accts = accts[:topAccounts]
	}
	if total > len(findings) {
		notes = append(notes, fmt.Sprintf("Summed over the %s most expensive of %s open findings that this report lists; the other %s are not included.",
			group(strconv.Itoa(len(findings))), group(strconv.Itoa(total)), group(strconv.Itoa(total-len(findings)))))
	}
	var data []barDatum
	for _, a := range accts {
		label := a.id
		if a.name != "" {
			label = truncate(a.name, 16) + " · " + a.id
		}
		data = append(data, barDatum{Label: label, Value: a.usd,
			Tooltip: fmt.Sprintf("%s %s: %s/month, %s", a.id, a.name, money(a.usd), plural(a.n, "finding"))})
	}
	return layoutBars("Monthly cost of open findings by account", data), strings.Join(notes, " ")
}

func findingRow(f finding.Finding) row {
	r := row{AccountID: f.AccountID, AccountName: f.AccountName, Region: f.Region, Check: f.CheckID,
		Resource: f.ResourceID, ResourceTitle: f.ResourceARN, Reason: f.Reason, USDText: "unknown"}
	if r.ResourceTitle == "" {
		r.ResourceTitle = f.ResourceType
	}
	if f.MonthlyCostUSD != nil {
		r.USD = strconv.FormatFloat(*f.MonthlyCostUSD, 'f', -1, 64)
		r.USDText = money(*f.MonthlyCostUSD)
	}
	if !f.FirstSeen.IsZero() {
		r.FirstSeen = f.FirstSeen.UTC().Format("2006-01-02")
	}
	return r
}

// money formats dollars: $1,234.50.
func money(v float64) string { return pricing.USD(v) }

// group puts thousands separators into a string of digits.
func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return group(strconv.Itoa(n)) + " " + noun + "s"
}
