package sim_test

import (
	"context"
	"testing"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/sim"
)

// BenchmarkScanPair measures one pair's scan (50 resources, all checks):
// through raw simulator clients, and through SDK clients whose requests the
// simulator answers (the path `orgscan run --simulate` takes).
func BenchmarkScanPair(b *testing.B) {
	o, err := sim.New(sim.Config{Seed: 1, Accounts: 1})
	if err != nil {
		b.Fatal(err)
	}
	accts, _ := o.Accounts(context.Background(), nil)
	cfgs, _ := checks.Configure(checks.All(), nil, 0)
	in := checks.ScanInput{AccountID: accts[0].ID, Region: "us-east-1", Now: o.Now(), Checks: cfgs, Prices: pricing.Default()}
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			p, _ := o.Pair(in.AccountID, in.Region)
			in.Clients = p.APIClients()
			if r := checks.Scan(context.Background(), in); len(r.Errors) > 0 {
				b.Fatal(r.Errors)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		for b.Loop() {
			c, _ := o.Clients(context.Background(), pipeline.WorkItem{AccountID: in.AccountID, Region: in.Region})
			in.Clients = c
			if r := checks.Scan(context.Background(), in); len(r.Errors) > 0 {
				b.Fatal(r.Errors)
			}
		}
	})
}
