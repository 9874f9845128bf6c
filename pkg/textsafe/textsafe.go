// Package textsafe makes text that member accounts control (account names,
// tags, resource IDs, error messages) safe to put in each kind of output
// orgscan writes. A member account's administrator can rename the account,
// tag a resource or name a security group with anything, and all of it
// reaches the outputs; each output kind misreads different characters, so
// there is one function per kind:
//
//   - CSVCell: a spreadsheet runs a cell that starts like a formula.
//   - Terminal: a terminal acts on control characters (ESC sequences clear
//     the screen, move the cursor, plant OSC-8 hyperlinks; CR and LF forge
//     or hide rows) and displays bidirectional overrides reversed.
//   - HTMLText: a browser runs none of them, but lets bidirectional
//     controls reverse a name and hides zero-width and control characters.
//
// Terminal and HTMLText replace a character with a visible escape, as Go's
// %q writes it without the quotes (`\x1b`, `\n`, `\u202e`), so the reader
// sees that it was there; an invalid UTF-8 byte becomes `\xNN`. A
// backslash is left as it is: text that already reads `\x1b` is shown as
// such, which can only make a value look stranger, never act.
//
// JSON output needs none of them: encoding/json escapes the C0 controls
// (ESC is written \u001b, a newline \n), U+2028 and U+2029, and replaces
// invalid UTF-8, so every value stays on its line. It writes C1 and
// bidirectional controls as UTF-8, as the data they are; whatever
// displays JSON values escapes them itself. Likewise CSVCell changes
// nothing but a formula's start: a CSV file is data for a spreadsheet,
// not text for a terminal.
//
// Every function is safe for concurrent use, returns s itself when it has
// nothing to change and never fails.
package textsafe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// formulaStart are the first characters that make a spreadsheet read a
// cell as a formula, per OWASP's "CSV Injection"
// (https://owasp.org/www-community/attacks/CSV_Injection): = + - @, and
// tab and carriage return, which some spreadsheets skip before one of
// those.
const formulaStart = "=+-@\t\r"

// CSVCell neutralises a CSV cell holding text: if s starts with = + - @,
// a tab or a carriage return, CSVCell prefixes it with a single quote ('),
// which a spreadsheet shows as text instead of evaluating `=HYPERLINK(...)`
// or `+cmd|...`. The rest of s is unchanged; the CSV writer still quotes
// the cell when it holds a comma, a quote or a line break.
//
// Apply it to text cells only, never to numbers: a negative amount such as
// -1218.3 must stay a number. Callers decide by the value's type, not by
// how its text looks.
func CSVCell(s string) string {
	if s != "" && strings.IndexByte(formulaStart, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// Terminal makes s one line and one cell of a terminal table: it escapes
// every control character (C0 including tab, CR and LF, DEL, C1 U+0080 to
// U+009F), every invisible formatting character (Unicode category Cf:
// the bidirectional controls U+202A to U+202E, U+2066 to U+2069, U+200E,
// U+200F and U+061C, the zero-width U+200B to U+200D, U+FEFF, ...), the
// line and paragraph separators U+2028 and U+2029, and invalid UTF-8.
// Tabs are escaped too: text/tabwriter reads them as cell separators.
func Terminal(s string) string { return escape(s, nil) }

// HTMLText makes s safe to display as the text of an HTML page: it escapes
// what Terminal escapes except tab and line feed, which HTML displays as
// a space. It does not escape markup: pass its result to the page's HTML
// escaper, which it leaves nothing new to do.
func HTMLText(s string) string { return escape(s, htmlWhitespace) }

func htmlWhitespace(r rune) bool { return r == '\t' || r == '\n' }

// escape replaces each hidden character of s that keep does not accept by
// its visible escape.
func escape(s string, keep func(rune) bool) string {
	hides := func(r rune, size int) bool {
		if r == utf8.RuneError && size == 1 {
			return true
		}
		return hidden(r) && (keep == nil || !keep(r))
	}
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if hides(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[s[i]>>4])
			b.WriteByte(hexDigits[s[i]&0xf])
		case hides(r, size):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

const hexDigits = "0123456789abcdef"

// hidden reports whether r acts on a terminal or is invisible: a control
// (Cc), a formatting character (Cf) or a line or paragraph separator.
func hidden(r rune) bool {
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}
