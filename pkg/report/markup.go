package report

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/orgscan/orgscan/pkg/textsafe"
)

// markup builds an HTML document from constant markup and escaped text.
//
// The page is written by plain Go rather than html/template: the template
// packages call reflect's MethodByName, and a binary that links them keeps
// every exported method of every type it stores in an interface, which
// makes the aggregator Lambda several megabytes larger. The page's contexts
// are few and fixed (element text, RCDATA such as <title>, and quoted
// attribute values; the CSS and JavaScript are constant, and nothing is
// interpolated into a URL, a script or a style), so one escaper covers them
// all.
type markup struct{ buf bytes.Buffer }

// raw writes s as it is. s must be constant markup, never input text.
func (m *markup) raw(s string) { m.buf.WriteString(s) }

// printf writes format, which must be constant markup, with its operands
// escaped for element text and for attribute values in double quotes:
// strings are escaped, ints are written as they are (digits and a sign need
// no escaping), and any other operand is escaped as its fmt.Sprint text. It
// replaces the operands in args.
func (m *markup) printf(format string, args ...any) {
	for i, a := range args {
		switch a := a.(type) {
		case string:
			args[i] = escapeHTML(a)
		case int:
		default:
			args[i] = escapeHTML(fmt.Sprint(a))
		}
	}
	fmt.Fprintf(&m.buf, format, args...)
}

// htmlEscaper uses html/template's replacements rather than
// html.EscapeString's: besides the five characters both escape, it writes
// '+' as an entity (a guard against UTF-7 sniffing) and NUL as U+FFFD (what
// an HTML parser substitutes anyway; textsafe.HTMLText has already written
// it as `\x00`), so the page is the same byte for byte as html/template
// would write the neutralised text. Every replaced character is ASCII, so
// replacing bytes leaves multi-byte sequences intact, as html/template
// does.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

// escapeHTML escapes s for HTML element text, RCDATA (<title>) and quoted
// attribute values. Every operand of printf goes through it, so it is also
// where text from member accounts is made safe to display: first
// textsafe.HTMLText writes bidirectional controls (U+202E would show a
// name reversed), zero-width and other invisible formatting characters,
// line separators, control characters but tab and line feed, and invalid
// UTF-8 as visible escapes (`\u202e`, `\x1b`, `\xff`); then the result is
// escaped as html/template would escape it. The escapes are plain text,
// so the page's script, which reads cells' textContent, sees them as
// written and cannot undo them.
func escapeHTML(s string) string { return htmlEscaper.Replace(textsafe.HTMLText(s)) }
