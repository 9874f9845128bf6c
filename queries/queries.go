// Package queries holds orgscan's named SQL queries. The same files run
// under DuckDB locally (`orgscan query --named NAME`) and become Athena named
// queries, so they use SQL that both DuckDB and Trino accept.
package queries

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Query is one named query.
type Query struct {
	Name        string // file name without .sql
	Description string // the leading comment lines
	SQL         string
}

// All returns the named queries sorted by name.
func All() []Query {
	entries, _ := files.ReadDir(".")
	var out []Query
	for _, e := range entries {
		b, _ := files.ReadFile(e.Name())
		out = append(out, parse(strings.TrimSuffix(e.Name(), ".sql"), string(b)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UnknownQueryError names a query that does not exist.
type UnknownQueryError struct{ Name string }

func (e *UnknownQueryError) Error() string {
	var names []string
	for _, q := range All() {
		names = append(names, q.Name)
	}
	return fmt.Sprintf("no named query %q (known: %s)", e.Name, strings.Join(names, ", "))
}

// Get returns the named query.
func Get(name string) (Query, error) {
	for _, q := range All() {
		if q.Name == name {
			return q, nil
		}
	}
	return Query{}, &UnknownQueryError{Name: name}
}

func parse(name, sql string) Query {
	var desc []string
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "--") {
			break
		}
		desc = append(desc, strings.TrimSpace(strings.TrimPrefix(t, "--")))
	}
	return Query{Name: name, Description: strings.Join(desc, " "), SQL: strings.TrimSpace(sql)}
}
