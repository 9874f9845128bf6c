package report

import (
	"html/template"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/orgscan/orgscan/pkg/textsafe"
)

// escapeHTML writes what html/template writes, for a string with its
// hidden characters made visible (textsafe.HTMLText), in each context the
// page interpolates into: element text, RCDATA and a quoted attribute; and
// what it writes holds no control but tab and line feed, no bidirectional
// or other formatting character, no line separator and no invalid UTF-8.
func FuzzEscapeMatchesHTMLTemplate(f *testing.F) {
	for _, s := range []string{"", "plain", hostile, xssReason, `i-"0a'<b>&`, "a+b", "\x00", "\xff\xfe", "é 日本 😀",
		"\u2028\u2029\u202e", "\x1b[2J\x1b]8;;http://evil\x1b\\", "\u2066\u200b\ufeff\u061c\u0085", "</style></script></title>", "<!-- -->", "&amp;", "&#34;", "\uFFFD", "\t\r\n"} {
		f.Add(s)
	}
	contexts := []struct{ before, after string }{
		{"<p>", "</p>"},
		{"<title>", "</title>"},
		{`<p title="`, `">x</p>`},
		{`<p class="a `, `">x</p>`},
	}
	var tmpls []*template.Template
	for _, c := range contexts {
		tmpls = append(tmpls, template.Must(template.New("").Parse(c.before+"{{.}}"+c.after)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := escapeHTML(s)
		if !utf8.ValidString(got) {
			t.Errorf("escapeHTML(%q) = %q: invalid UTF-8", s, got)
		}
		for _, r := range got {
			if r != '\t' && r != '\n' && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
				t.Errorf("escapeHTML(%q) = %q keeps %U", s, got, r)
			}
		}
		for i, tmpl := range tmpls {
			var b strings.Builder
			if err := tmpl.Execute(&b, textsafe.HTMLText(s)); err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(strings.TrimPrefix(b.String(), contexts[i].before), contexts[i].after)
			if got != want {
				t.Errorf("escapeHTML(%q) = %q, html/template in %s%s writes %q", s, got, contexts[i].before, contexts[i].after, want)
			}
		}
	})
}

type label string

// printf escapes every operand but ints, whatever its type.
func TestPrintfEscapesOperands(t *testing.T) {
	t.Parallel()
	var m markup
	m.printf(`<p title="%s">%s %v %d</p>`, `"<x>"`, label("a&b"), []string{"<y>"}, -12)
	if got, want := m.buf.String(), `<p title="&#34;&lt;x&gt;&#34;">a&amp;b [&lt;y&gt;] -12</p>`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
