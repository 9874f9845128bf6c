package query

import (
	"fmt"
	"strings"
)

// The gate looks at a statement before DuckDB does: preparing some
// statements already acts (EXPORT DATABASE creates its directory), EXPLAIN
// ANALYZE runs the statement it explains, and a few table functions change
// the engine from inside a SELECT (enable_logging, enable_profiling) where
// lock_configuration does not reach them. It is defence in depth: Open's
// locked configuration refuses on its own whatever would read or write
// outside the history files (see escape_test.go for what each layer stops).

// readOnlyStarts are the first keywords of the statements Run accepts.
var readOnlyStarts = map[string]bool{
	"SELECT": true, "WITH": true, "FROM": true, "VALUES": true,
	"DESCRIBE": true, "SUMMARIZE": true, "SHOW": true, "EXPLAIN": true,
}

// deniedFuncs are functions a query may not call, lower case. DuckDB runs
// them inside a SELECT, past lock_configuration:
//   - enable_logging/enable_profiling switch logging and profiling on, to a
//     file of the caller's choosing or to the terminal (a log directory
//     DuckDB may not create aborts the process when the connection closes);
//   - query, query_table and json_execute_serialized_sql run SQL held in a
//     string, which this gate cannot read;
//   - arrow_scan reads Arrow streams from raw memory addresses;
//   - the others change engine state (parser, checkpoints, log buffer) or
//     list secrets, which orgscan query has no use for.
//
// TestTableFunctionsReviewed fails when the linked DuckDB gains a table
// function that is neither here nor in its list of reviewed ones.
var deniedFuncs = map[string]bool{
	"enable_logging": true, "disable_logging": true, "truncate_duckdb_logs": true, "write_log": true,
	"enable_profiling": true, "disable_profiling": true, "enable_profile": true, "disable_profile": true,
	"enable_peg_parser": true, "disable_peg_parser": true,
	"checkpoint": true, "force_checkpoint": true,
	"query": true, "query_table": true, "json_execute_serialized_sql": true,
	"duckdb_secrets": true, "which_secret": true,
	"arrow_scan": true, "arrow_scan_dumb": true,
}

// gate refuses a statement Run must not hand to DuckDB: one that does not
// start with a read-only keyword, EXPLAIN ANALYZE in any spelling, several
// statements, or a call of a denied function (*SQLError wrapping a
// *ReadOnlyError), and an unterminated comment, string or quoted name
// (*SQLError). It returns nil for anything else, including SQL DuckDB will
// reject as malformed.
func gate(query string) error {
	toks, err := lex(query)
	if err != nil {
		return &SQLError{Err: err}
	}
	first := firstWord(toks)
	if !readOnlyStarts[first] {
		if first == "" {
			first = "empty"
		}
		return &SQLError{Err: &ReadOnlyError{Kind: first}}
	}
	if first == "EXPLAIN" && mentionsAnalyze(query) {
		return &SQLError{Err: &ReadOnlyError{Kind: "EXPLAIN ANALYZE"}}
	}
	for i, t := range toks {
		if t.kind == tokPunct && t.text == ";" {
			for _, next := range toks[i+1:] {
				if next.kind != tokPunct || next.text != ";" {
					return &SQLError{Err: &ReadOnlyError{Multi: true}}
				}
			}
			break
		}
	}
	for i, t := range toks {
		if (t.kind == tokWord || t.kind == tokIdent) && i+1 < len(toks) &&
			toks[i+1].kind == tokPunct && toks[i+1].text == "(" {
			if name := strings.ToLower(t.text); deniedFuncs[name] {
				return &SQLError{Err: &ReadOnlyError{Func: name}}
			}
		}
	}
	return nil
}

// mentionsAnalyze reports whether ANALYZE or ANALYSE appears anywhere in
// the text, in any case. DuckDB only recognises the keyword spelt out, so
// this holds whatever comments, option lists or quoting surround it
// (EXPLAIN (FORMAT json, ANALYZE), EXPLAIN /*x*/ ANALYSE …); an EXPLAIN
// merely mentioning the word in a string is refused too.
func mentionsAnalyze(query string) bool {
	q := strings.ToUpper(query)
	return strings.Contains(q, "ANALYZE") || strings.Contains(q, "ANALYSE")
}

// statementKind is a statement's first keyword, upper case, for messages.
func statementKind(query string) string {
	toks, err := lex(query)
	if err != nil {
		return "malformed"
	}
	if w := firstWord(toks); w != "" {
		return w
	}
	return "empty"
}

// firstWord is the first token after any opening parentheses and
// semicolons: a keyword in upper case, anything else as written (a quoted
// "SELECT" is a name, not the keyword); "" when there is none.
func firstWord(toks []token) string {
	for _, t := range toks {
		switch {
		case t.kind == tokPunct && (t.text == "(" || t.text == ";"):
			continue
		case t.kind == tokIdent:
			return `"` + t.text + `"`
		}
		return t.text
	}
	return ""
}

type tokKind int

const (
	tokWord   tokKind = iota // unquoted keyword or identifier, upper case
	tokIdent                 // "quoted" identifier, its name as written
	tokString                // string constant in any quoting
	tokNumber                // numeric constant
	tokPunct                 // any other character, or a $n parameter
)

type token struct {
	kind tokKind
	text string
}

// lex splits a statement into tokens the way DuckDB's (PostgreSQL-derived)
// scanner does, as far as telling code from comments, strings and quoted
// identifiers goes: `--` comments end at a newline or carriage return,
// /* */ comments nest, a quote doubled stands for one, E'…' strings take
// backslash escapes, $tag$…$tag$ quotes anything, identifiers may contain
// $. Where it could disagree with DuckDB it errs towards seeing code: a
// name it takes for code DuckDB may take for a string, never the other way
// round (FuzzGate checks this against DuckDB's parser). It fails on an
// unterminated comment, string or quoted identifier.
func lex(q string) ([]token, error) {
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(q[i:], "--"):
			end := strings.IndexAny(q[i:], "\n\r")
			if end < 0 {
				return toks, nil
			}
			i += end + 1
		case strings.HasPrefix(q[i:], "/*"):
			depth := 0
			j := i
			for j < len(q) {
				if strings.HasPrefix(q[j:], "/*") {
					depth++
					j += 2
				} else if strings.HasPrefix(q[j:], "*/") {
					depth--
					j += 2
					if depth == 0 {
						break
					}
				} else {
					j++
				}
			}
			if depth != 0 {
				return nil, fmt.Errorf("unterminated /* comment")
			}
			i = j
		case c == '\'':
			j, err := quoted(q, i, '\'', false)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, q[i:j]})
			i = j
		case c == '"':
			j, err := quoted(q, i, '"', false)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokIdent, strings.ReplaceAll(q[i+1:j-1], `""`, `"`)})
			i = j
		case c == '$':
			if i+1 < len(q) && isDigit(q[i+1]) {
				j := i + 1
				for j < len(q) && isDigit(q[j]) {
					j++
				}
				toks = append(toks, token{tokPunct, q[i:j]})
				i = j
				continue
			}
			tag := dollarTag(q[i:])
			if tag == "" { // $name: a named parameter
				toks = append(toks, token{tokPunct, "$"})
				i++
				continue
			}
			end := strings.Index(q[i+len(tag):], tag)
			if end < 0 {
				return nil, fmt.Errorf("unterminated dollar-quoted string")
			}
			j := i + len(tag) + end + len(tag)
			toks = append(toks, token{tokString, q[i:j]})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(q) && isDigit(q[i+1])):
			j := i
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			if j < len(q) && q[j] == '.' {
				j++
				for j < len(q) && isDigit(q[j]) {
					j++
				}
			}
			if j+1 < len(q) && (q[j] == 'e' || q[j] == 'E') {
				k := j + 1
				if q[k] == '+' || q[k] == '-' {
					k++
				}
				if k < len(q) && isDigit(q[k]) {
					for k < len(q) && isDigit(q[k]) {
						k++
					}
					j = k
				}
			}
			toks = append(toks, token{tokNumber, q[i:j]})
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(q) && (isIdentStart(q[j]) || isDigit(q[j]) || q[j] == '$') {
				j++
			}
			if j-i == 1 && (c == 'e' || c == 'E') && j < len(q) && q[j] == '\'' {
				k, err := quoted(q, j, '\'', true)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{tokString, q[i:k]})
				i = k
				continue
			}
			toks = append(toks, token{tokWord, strings.ToUpper(q[i:j])})
			i = j
		default:
			toks = append(toks, token{tokPunct, string(c)})
			i++
		}
	}
	return toks, nil
}

// quoted returns the end (one past the closing quote) of the quoted text
// that starts at q[i] == quote; a doubled quote stands for one, and with
// backslash a backslash escapes the next byte.
func quoted(q string, i int, quote byte, backslash bool) (int, error) {
	for j := i + 1; j < len(q); j++ {
		switch {
		case backslash && q[j] == '\\':
			j++
		case q[j] == quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	if quote == '"' {
		return 0, fmt.Errorf("unterminated quoted identifier")
	}
	return 0, fmt.Errorf("unterminated quoted string")
}

// dollarTag returns the opening $tag$ (or $$) at the start of s, "" if s
// does not start with one.
func dollarTag(s string) string {
	j := 1
	if j < len(s) && isIdentStart(s[j]) {
		for j < len(s) && (isIdentStart(s[j]) || isDigit(s[j])) {
			j++
		}
	}
	if j < len(s) && s[j] == '$' {
		return s[:j+1]
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdentStart: letters, underscore and every byte of a multi-byte UTF-8
// character, as in PostgreSQL's scanner.
func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}
