package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
	"github.com/orgscan/orgscan/pkg/textsafe"
)

// findings lists open findings from the latest state, most expensive first:
// the common question, without SQL.
func (a *App) findings(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("orgscan findings", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "./orgscan-data", "data directory of the runs")
	accounts := fs.String("account", "", "only these account IDs (comma list)")
	checkIDs := fs.String("check", "", "only these checks (comma list)")
	regions := fs.String("region", "", "only these regions (comma list)")
	minUSD := fs.Float64("min-usd", 0, "only findings costing at least this much per month")
	limit := fs.Int("limit", 50, "at most this many findings (0: all)")
	asJSON := fs.Bool("json", false, "JSON lines instead of a table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, "Usage: orgscan findings [--data DIR] [--account IDS] [--check IDS] [--region NAMES] [--min-usd N] [--limit N] [--json]")
			fs.SetOutput(a.Stdout)
			fs.PrintDefaults()
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, id := range list(*accounts) {
		if !pipeline.ValidAccountID(id) {
			return usagef("--account: %q is not a 12-digit AWS account ID", id)
		}
	}
	for _, id := range list(*checkIDs) {
		if _, ok := checks.Lookup(id); !ok {
			return usagef("--check: %q is not a registered check (see `orgscan checks`)", id)
		}
	}
	if *minUSD < 0 || *limit < 0 {
		return usagef("--min-usd and --limit must not be negative")
	}
	state := &store.LocalState{Dir: *data}
	acctIDs := list(*accounts)
	if len(acctIDs) == 0 {
		files, _ := filepath.Glob(filepath.Join(*data, "state", "findings", "*.json"))
		if len(files) == 0 {
			if _, err := os.Stat(*data); err != nil {
				return fmt.Errorf("no data directory %s: run `orgscan run` first (or pass --data)", *data)
			}
		}
		for _, f := range files {
			acctIDs = append(acctIDs, strings.TrimSuffix(filepath.Base(f), ".json"))
		}
	}
	in := func(s, set string) bool { return set == "" || containsItem(list(set), s) }
	var out []finding.Finding
	for _, id := range acctIDs {
		items, err := state.AccountFindings(ctx, id)
		if err != nil {
			return err
		}
		for _, f := range items {
			if f.Status == finding.Open && in(f.CheckID, *checkIDs) && in(f.Region, *regions) &&
				(*minUSD == 0 || (f.MonthlyCostUSD != nil && *f.MonthlyCostUSD >= *minUSD)) {
				out = append(out, f)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := out[i].SortCost(), out[j].SortCost()
		if ci != cj {
			return ci > cj
		}
		return out[i].FindingID < out[j].FindingID
	})
	total := len(out)
	if *limit > 0 && len(out) > *limit {
		out = out[:*limit]
	}
	if *asJSON {
		enc := json.NewEncoder(a.Stdout)
		for i := range out {
			if err := enc.Encode(&out[i]); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MONTHLY USD\tACCOUNT\tREGION\tCHECK\tRESOURCE\tFIRST SEEN\tREASON")
	for _, f := range out {
		usd := "unknown"
		if f.MonthlyCostUSD != nil {
			usd = money(*f.MonthlyCostUSD)
		}
		// Resource IDs and reasons hold what member accounts named things:
		// each value stays one line and one cell.
		cells := []string{usd, f.AccountID, f.Region, f.CheckID, f.ResourceID, f.FirstSeen.UTC().Format("2006-01-02"), f.Reason}
		for i, c := range cells {
			cells[i] = textsafe.Terminal(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "(%s of %d open findings)\n", strconv.Itoa(len(out)), total)
	return nil
}

func containsItem(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}
