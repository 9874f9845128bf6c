package pipeline_test

import (
	"context"
	"testing"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/sim"
)

// Where the orgscan:ignore tag counts is the operator's choice: everywhere
// (the default), nowhere, or in named accounts. A tag that is not honoured
// leaves its finding open and counted.
func TestIgnoreTagPolicy(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 1, Accounts: 25})
	honoured := func(sum pipeline.RunSummary, dir string) (tagged, suppressed map[string]int) {
		tagged, suppressed = map[string]int{}, map[string]int{}
		for _, f := range readFindings(t, dir, sum) {
			if v := f.Tags[finding.IgnoreTag]; v == "true" || v == f.CheckID {
				tagged[f.AccountID]++
				if f.Status == finding.Suppressed {
					suppressed[f.AccountID]++
				}
			}
		}
		return tagged, suppressed
	}
	run := func(p *finding.TagPolicy) (pipeline.RunSummary, map[string]int, map[string]int) {
		dir := t.TempDir()
		sum, err := newLocal(t, org, dir, 4).Run(context.Background(), pipeline.RunRequest{IgnoreTag: p})
		if err != nil {
			t.Fatal(err)
		}
		tagged, suppressed := honoured(sum, dir)
		return sum, tagged, suppressed
	}

	all, tagged, suppressed := run(nil)
	if len(tagged) < 2 || all.Suppressed == 0 {
		t.Fatalf("the simulator should tag findings in several accounts: %v", tagged)
	}
	for acct, n := range tagged {
		if suppressed[acct] != n {
			t.Fatalf("default policy: account %s has %d tagged findings, %d suppressed", acct, n, suppressed[acct])
		}
	}

	none, _, suppressed := run(&finding.TagPolicy{Honour: finding.HonourNone})
	if none.Suppressed != 0 || len(suppressed) != 0 || none.Findings != all.Findings+all.Suppressed {
		t.Fatalf("honour none: %d suppressed, %d open; want 0 and %d", none.Suppressed, none.Findings, all.Findings+all.Suppressed)
	}

	var trusted string
	for acct := range tagged {
		trusted = acct
		break
	}
	some, _, suppressed := run(&finding.TagPolicy{Honour: finding.HonourAccounts, Accounts: []string{trusted}})
	if len(suppressed) != 1 || suppressed[trusted] != tagged[trusted] || some.Suppressed != tagged[trusted] {
		t.Fatalf("honour %s only: suppressed %v (summary %d), want %d there alone", trusted, suppressed, some.Suppressed, tagged[trusted])
	}

	// A bad policy is refused before anything runs.
	if _, err := newLocal(t, org, t.TempDir(), 4).Run(context.Background(), pipeline.RunRequest{IgnoreTag: &finding.TagPolicy{Honour: "maybe"}}); err == nil {
		t.Fatal("an unknown honour mode was accepted")
	}
}
