package doctor

import (
	"fmt"
	"io"
	"strings"

	"github.com/orgscan/orgscan/pkg/textsafe"
)

// WriteText writes the report for a terminal: the scope, one line per
// failure and warning ("FAIL  <check>  <subject>: <message> — <fix>"),
// then a summary. Every value goes through textsafe.Terminal: account
// names and error messages are text that member accounts control.
func WriteText(w io.Writer, rep Report) error {
	t := textsafe.Terminal
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s in scope (targets %s); regions in scope: %s\n",
		rep.Accounts, plural(rep.Accounts, "account"), t(strings.Join(rep.Targets, ", ")), t(strings.Join(rep.Regions, ", ")))
	width := 0
	for _, res := range rep.Results {
		if res.Status != OK {
			width = max(width, len(t(res.Check)))
		}
	}
	for _, status := range []Status{Fail, Warn} {
		for _, res := range rep.Results {
			if res.Status != status {
				continue
			}
			subject := t(res.Subject)
			if res.Name != "" {
				subject += " (" + t(res.Name) + ")"
			}
			line := fmt.Sprintf("%-4s  %-*s  %s: %s", strings.ToUpper(string(status)), width, t(res.Check), subject, t(res.Message))
			if res.Fix != "" {
				line += " — " + t(res.Fix)
			}
			b.WriteString(line + "\n")
		}
	}
	scope := fmt.Sprintf("%d %s, %d %s in scope", rep.Accounts, plural(rep.Accounts, "account"), len(rep.Regions), plural(len(rep.Regions), "region"))
	ready := "the deployment is ready for its first run"
	if rep.BeforeDeploy {
		ready = "ready to deploy"
	}
	switch {
	case rep.Failures == 0 && rep.Warnings == 0:
		fmt.Fprintf(&b, "doctor: %s (%s)\n", ready, scope)
	default:
		fmt.Fprintf(&b, "doctor: %d %s, %d %s (%s)\n", rep.Failures, plural(rep.Failures, "failure"), rep.Warnings, plural(rep.Warnings, "warning"), scope)
		if rep.Failures == 0 {
			fmt.Fprintf(&b, "doctor: %s (mind the warnings)\n", ready)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
