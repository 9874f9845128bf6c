package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/orgscan/orgscan/pkg/checks"
)

// checkInfo is the JSON form of a check's self-description.
type checkInfo struct {
	ID           string          `json:"id"`
	Category     string          `json:"category"`
	Service      string          `json:"service"`
	ResourceType string          `json:"resourceType"`
	Description  string          `json:"description"`
	Params       []checks.Param  `json:"params,omitempty"`
	Metrics      []checks.Metric `json:"metrics,omitempty"`
	MissingData  string          `json:"missingData"`
	Actions      []string        `json:"actions"`
}

func (a *App) checks(args []string) error {
	fs := flag.NewFlagSet("orgscan checks", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the checks as JSON")
	asMarkdown := fs.Bool("markdown", false, "print the catalogue as Markdown (docs/checks.md)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, "Usage: orgscan checks [--json|--markdown]")
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	all := checks.All()
	if *asMarkdown {
		_, err := io.WriteString(a.Stdout, checks.Markdown(all))
		return err
	}
	if *asJSON {
		infos := make([]checkInfo, len(all))
		for i, c := range all {
			infos[i] = checkInfo{c.ID, string(c.Category), c.Service, c.ResourceType, c.Description, c.Params, c.Metrics, c.MissingData, c.Actions}
		}
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCATEGORY\tSERVICE\tDEFAULTS\tFINDS")
	for _, c := range all {
		var defs []string
		for _, p := range c.Params {
			defs = append(defs, fmt.Sprintf("%s=%g", p.Name, p.Default))
		}
		d := strings.Join(defs, " ")
		if d == "" {
			d = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Category, c.Service, d, c.Description)
	}
	return tw.Flush()
}
