package main

import (
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
	_, err := a.Stdout.Write(checks.Policy(checks.All()))
	return err
}
