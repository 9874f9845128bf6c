package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the run could not complete
	exitUsage = 2 // bad flags or input: nothing was done
)

// App is the CLI with its outputs injected, so tests drive it like a user.
type App struct {
	Stdout, Stderr io.Writer
	StderrIsTTY    bool
	// SFN replaces the Step Functions client of `orgscan start` (tests).
	SFN SFNAPI
	// afterPoll runs after each status poll of `orgscan start --wait` (tests).
	afterPoll func()
}

// UsageError is bad input on the command line; it exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

const topUsage = `orgscan finds idle, unused and wasted AWS resources across an organization.

Usage:
  orgscan run [flags]      scan AWS (or --simulate a simulated organization)
  orgscan start [--wait]   start a run of the deployed state machine
  orgscan doctor --config F  check a deployment before its first run (read-only)
  orgscan external-id --config F [--rotate]  create or rotate the member roles' sts:ExternalId
  orgscan findings         open findings of the latest state, most expensive first
  orgscan report           a run's self-contained HTML report
  orgscan query "SQL"      SQL over the run history (DuckDB; --named NAME, --list)
  orgscan checks [--json|--markdown]  list the checks
  orgscan iam-policy       the member role's least-privilege policy
  orgscan pricing refresh  rebuild the price table from the AWS Price List API
  orgscan help             this text

Run 'orgscan COMMAND -h' for a command's flags.
`

// Main runs the command in args and returns the process exit code.
func (a *App) Main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.Stderr, topUsage)
		return exitUsage
	}
	var err error
	prefix := "orgscan " + args[0]
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = a.run(ctx, rest)
	case "checks":
		err = a.checks(rest)
	case "query":
		err = a.query(ctx, rest)
	case "findings":
		err = a.findings(ctx, rest)
	case "report":
		err = a.report(ctx, rest)
	case "pricing":
		err = a.pricing(ctx, rest)
	case "start":
		err = a.start(ctx, rest)
	case "iam-policy":
		err = a.iamPolicy(rest)
	case "doctor":
		err = a.doctor(ctx, rest)
	case "external-id":
		err = a.externalID(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(a.Stdout, topUsage)
		return exitOK
	default:
		err = usagef("unknown command %q (commands: run, start, doctor, external-id, findings, report, query, checks, iam-policy, pricing, help)", cmd)
		prefix = "orgscan"
	}
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errHelp) {
		return exitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(a.Stderr, "%s: %s\n", prefix, msg)
	var ue *UsageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

var errHelp = errors.New("help shown")

// parseFlags parses a command's flags: -h prints usage and the flags and
// returns errHelp; a bad flag or a positional argument is a usage error.
func (a *App) parseFlags(fs *flag.FlagSet, args []string, usage string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, usage)
			fs.SetOutput(a.Stdout)
			fs.PrintDefaults()
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags only)", fs.Arg(0))
	}
	return nil
}
