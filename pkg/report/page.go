package report

// writePage writes the whole document. Each part starts its optional
// pieces with a line break rather than ending them with one, so that a
// piece left out leaves no blank line.
func writePage(m *markup, v view) {
	writeHead(m, v)
	writeHeader(m, v)
	writeTotals(m, v.Totals)

	m.raw("\n<div class=\"charts\">\n")
	writeBarSection(m, barSection{id: "h-by-check", heading: "Monthly $ by check", chart: v.ByCheck, note: v.ByCheckNote})
	writeBarSection(m, barSection{id: "h-by-account", heading: "Monthly $ by account (top 15)", chart: v.ByAccount,
		note: v.ByAccountNote, noteID: "account-note"})
	m.raw("</div>\n\n")

	m.raw("<section aria-labelledby=\"h-trend\">\n<h2 id=\"h-trend\">Open monthly $ across runs</h2>")
	v.Trend.write(m)
	writeNote(m, v.TrendNote, "")
	m.raw("\n</section>\n\n")

	writeProblems(m, v.Problems, v.ProblemsNote)
	writeFindings(m, v)
	writeSuppressed(m, v.Suppressed, v.SuppressedNote)

	m.raw("</main>\n<script>" + pageScript + "</script>\n</body>\n</html>\n")
}

// writeHead writes the document up to <body>. The style is written exactly
// as embedded: the Content Security Policy allows it by its hash.
func writeHead(m *markup, v view) {
	m.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	m.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"" + contentSecurityPolicy + "\">\n")
	m.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	m.raw("<meta name=\"generator\" content=\"orgscan\">\n")
	m.printf("<title>orgscan report %s</title>\n", v.RunID)
	m.raw("<style>" + pageStyle + "</style>\n</head>\n<body>\n<main>\n")
}

func writeHeader(m *markup, v view) {
	m.printf("<header>\n<h1>orgscan run report</h1>\n<p class=\"meta\">Run <code id=\"run-id\">%s</code>", v.RunID)
	if v.Started != "" {
		m.printf(` · <time datetime="%s">%s</time>`, v.StartedISO, v.Started)
	}
	m.printf(" · %d accounts × %d regions (%d pairs)", v.Accounts, v.Regions, v.Pairs)
	if v.Duration != "" {
		m.printf(" · scanned in %s", v.Duration)
	}
	m.raw("</p>\n</header>\n\n")
}

func writeTotals(m *markup, totals []total) {
	m.raw(`<div class="cards" role="list" aria-label="Totals">`)
	for _, t := range totals {
		m.printf("\n"+`<div class="card %s" role="listitem"><div class="label">%s</div>`+
			`<div class="value" id="%s" data-value="%s">%s</div><div class="sub">%s</div></div>`,
			t.Tone, t.Label, t.ID, t.Value, t.Text, t.Sub)
	}
	m.raw("\n</div>\n")
}

// barSection is one bar chart with its heading and the note under it.
type barSection struct {
	id, heading string // the heading's id labels the section
	chart       barChart
	note        string
	noteID      string // optional
}

func writeBarSection(m *markup, s barSection) {
	m.printf(`<section aria-labelledby="%s">`+"\n"+`<h2 id="%s">%s</h2>`, s.id, s.id, s.heading)
	if len(s.chart.Bars) > 0 {
		s.chart.write(m)
	} else {
		m.raw("\n<p class=\"empty\">No open findings.</p>")
	}
	writeNote(m, s.note, s.noteID)
	m.raw("\n</section>\n")
}

// writeNote writes a note paragraph, if there is a note.
func writeNote(m *markup, note, id string) {
	switch {
	case note == "":
	case id == "":
		m.printf("\n<p class=\"note\">%s</p>", note)
	default:
		m.printf("\n<p class=\"note\" id=\"%s\">%s</p>", id, note)
	}
}

// writeProblems lists failed and partial pairs, a row per error; the
// pair's own cells span its rows.
func writeProblems(m *markup, problems []problem, note string) {
	m.raw("<section aria-labelledby=\"h-problems\">\n<h2 id=\"h-problems\">Failed and partial pairs</h2>")
	if len(problems) == 0 {
		m.raw("\n<p class=\"empty\">Every pair was scanned fully.</p>")
	} else {
		m.raw("\n<table id=\"problems\">\n<thead><tr><th scope=\"col\">Account</th><th scope=\"col\">Region</th>" +
			"<th scope=\"col\">Status</th><th scope=\"col\">Check</th><th scope=\"col\">Code</th>" +
			"<th scope=\"col\">Message</th></tr></thead>\n<tbody>")
		for _, p := range problems {
			writeProblem(m, p)
		}
		m.raw("\n</tbody>\n</table>")
	}
	writeNote(m, note, "")
	m.raw("\n</section>\n\n")
}

func writeProblem(m *markup, p problem) {
	if len(p.Errors) == 0 {
		m.raw("\n<tr><td>")
		writeAccount(m, p.AccountID, p.AccountName, false)
		m.printf(`</td><td class="nowrap">%s</td><td><span class="status %s">%s</span></td>`+
			`<td colspan="3" class="empty">no error recorded</td></tr>`, p.Region, p.Status, p.Status)
		return
	}
	for i, e := range p.Errors {
		m.raw("\n<tr>")
		if i == 0 {
			n := len(p.Errors)
			m.printf(`<td rowspan="%d">`, n)
			writeAccount(m, p.AccountID, p.AccountName, false)
			m.printf(`</td><td rowspan="%d" class="nowrap">%s</td><td rowspan="%d"><span class="status %s">%s</span></td>`,
				n, p.Region, n, p.Status, p.Status)
		}
		m.printf(`<td class="mono">%s</td><td class="mono">%s</td><td>%s</td></tr>`, e.Check, e.Code, e.Message)
	}
}

// writeAccount writes an account ID and, if it has one, its name; titled
// repeats the name in a tooltip, for a cell too narrow to show all of it.
func writeAccount(m *markup, id, name string, titled bool) {
	m.printf(`<span class="mono">%s</span>`, id)
	switch {
	case name == "":
	case titled:
		m.printf(` <span class="sub" title="%s">%s</span>`, name, name)
	default:
		m.printf(` <span class="sub">%s</span>`, name)
	}
}

// findingsHeader is the findings table's header; data-type tells the
// script how to sort a column.
const findingsHeader = `<table id="findings">
<thead><tr>
<th scope="col" data-type="text"><button type="button">Account</button></th>
<th scope="col" data-type="text"><button type="button">Region</button></th>
<th scope="col" data-type="text"><button type="button">Check</button></th>
<th scope="col" data-type="text"><button type="button">Resource</button></th>
<th scope="col" data-type="text"><button type="button">Reason</button></th>
<th scope="col" data-type="usd" class="num" aria-sort="descending"><button type="button">$/month</button></th>
<th scope="col" data-type="text"><button type="button">First seen</button></th>
</tr></thead>
<tbody>`

// writeFindings writes the findings table and the controls that filter
// it; the controls stay hidden until the script shows them, so a page
// without JavaScript shows none that do nothing.
func writeFindings(m *markup, v view) {
	m.raw("<section aria-labelledby=\"h-findings\">\n<h2 id=\"h-findings\">Open findings</h2>\n<div class=\"controls\">\n")
	m.raw("<div class=\"inputs\" id=\"controls\" hidden>\n" +
		"<label>Filter <input id=\"filter\" type=\"search\" placeholder=\"account, region, resource, reason…\" autocomplete=\"off\"></label>\n" +
		"<label>Check <select id=\"check-filter\"><option value=\"\">All checks</option>")
	for _, c := range v.Checks {
		m.printf(`<option value="%s">%s (%d)</option>`, c.ID, c.ID, c.Count)
	}
	m.raw("</select></label>\n</div>\n")
	m.printf(`<p class="count"><span id="row-count">%d</span> of %d shown`, len(v.Rows), v.Listed)
	if v.Total > v.Listed {
		m.printf(" · the %d most expensive of %d open findings are listed", v.Listed, v.Total)
	}
	m.raw("</p>\n</div>\n" + findingsHeader)
	for _, r := range v.Rows {
		writeFindingRow(m, r)
	}
	if len(v.Rows) == 0 {
		m.raw("\n<tr class=\"empty\"><td colspan=\"7\">No open findings.</td></tr>")
	}
	m.raw("\n</tbody>\n</table>\n</section>\n")
}

// writeFindingRow writes one finding; data-usd and data-check are what the
// script sorts and filters on.
func writeFindingRow(m *markup, r row) {
	m.printf("\n"+`<tr data-usd="%s" data-check="%s"><td>`, r.USD, r.Check)
	writeAccount(m, r.AccountID, r.AccountName, true)
	usdClass := "num"
	if r.USD == "" {
		usdClass = "num unknown"
	}
	m.printf(`</td><td class="nowrap">%s</td><td class="mono">%s</td><td class="mono res" title="%s">%s</td>`+
		`<td>%s</td><td class="%s">%s</td><td class="date">%s</td></tr>`,
		r.Region, r.Check, r.ResourceTitle, r.Resource, r.Reason, usdClass, r.USDText, r.FirstSeen)
}

// writeSuppressed lists suppressed findings with what suppressed each (a
// tag that anyone who can tag the resource may set, or a configured
// exclusion): a suppression is shown, not hidden.
func writeSuppressed(m *markup, rows []suppressedRow, note string) {
	m.raw("\n<section aria-labelledby=\"h-suppressed\">\n<h2 id=\"h-suppressed\">Suppressed findings</h2>")
	if len(rows) == 0 {
		m.raw("\n<p class=\"empty\">No finding was suppressed.</p>")
	} else {
		m.raw("\n<table id=\"suppressed\">\n<thead><tr><th scope=\"col\">Account</th><th scope=\"col\">Region</th>" +
			"<th scope=\"col\">Check</th><th scope=\"col\">Resource</th><th scope=\"col\" class=\"num\">Monthly $</th>" +
			"<th scope=\"col\">Suppressed by</th></tr></thead>\n<tbody>")
		for _, r := range rows {
			m.raw("\n<tr><td>")
			writeAccount(m, r.AccountID, r.AccountName, true)
			m.printf(`</td><td class="nowrap">%s</td><td class="mono">%s</td><td class="mono" title="%s">%s</td>`+
				`<td class="num">%s</td><td>%s</td></tr>`, r.Region, r.Check, r.ResourceTitle, r.Resource, r.USDText, r.By)
		}
		m.raw("\n</tbody>\n</table>")
	}
	writeNote(m, note, "")
	m.raw("\n</section>\n")
}
