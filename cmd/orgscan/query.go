package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/orgscan/orgscan/pkg/query"
	"github.com/orgscan/orgscan/queries"
)

func (a *App) query(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("orgscan query", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "./orgscan-data", "data directory of the runs")
	format := fs.String("format", "table", "output: table, csv or json (JSON lines)")
	named := fs.String("named", "", "run a named query from queries/ (see --list)")
	listNamed := fs.Bool("list", false, "list the named queries")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, `Usage: orgscan query [--data DIR] [--format table|csv|json] "SQL"
       orgscan query --named NAME
       orgscan query --list
Tables: findings, pairs (the Athena tables' names and columns), partitioned by dt.`)
			fs.SetOutput(a.Stdout)
			fs.PrintDefaults()
			return errHelp
		}
		return usagef("%v", err)
	}
	if !slices.Contains(query.Formats, *format) {
		return usagef("--format %q: want one of %s", *format, strings.Join(query.Formats, ", "))
	}
	if *listNamed {
		tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tWHAT")
		for _, q := range queries.All() {
			fmt.Fprintf(tw, "%s\t%s\n", q.Name, q.Description)
		}
		return tw.Flush()
	}
	var sql string
	switch {
	case *named != "" && fs.NArg() > 0:
		return usagef("give --named or SQL, not both")
	case *named != "":
		q, err := queries.Get(*named)
		if err != nil {
			return usagef("--named: %v", err)
		}
		sql = q.SQL
	case fs.NArg() == 1:
		sql = fs.Arg(0)
	case fs.NArg() == 0:
		return usagef("give a SQL query, --named NAME or --list")
	default:
		return usagef("give the SQL as one argument (quote it); got %d arguments", fs.NArg())
	}
	e, err := query.Open(ctx, *data)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.Run(ctx, sql)
	if err != nil {
		if query.IsSQLError(err) {
			return usagef("%v", err)
		}
		return err
	}
	return res.Write(a.Stdout, *format)
}
