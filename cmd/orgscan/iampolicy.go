package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/orgscan/orgscan/pkg/checks"
)

// iamPolicy prints the member role's policy: exactly the union of the
// registered checks' actions, read-only.
func (a *App) iamPolicy(args []string) error {
	fs := flag.NewFlagSet("orgscan iam-policy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, "Usage: orgscan iam-policy   (prints the member role's IAM policy as JSON)")
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	b, err := IAMPolicy(checks.All())
	if err != nil {
		return err
	}
	_, err = a.Stdout.Write(b)
	return err
}

// IAMPolicy renders the least-privilege policy of cs as indented JSON.
func IAMPolicy(cs []checks.Check) ([]byte, error) {
	policy := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":      "OrgScanReadOnly",
			"Effect":   "Allow",
			"Action":   checks.Actions(cs),
			"Resource": "*",
		}},
	}
	b, err := json.MarshalIndent(policy, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
