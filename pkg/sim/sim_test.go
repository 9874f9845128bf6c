package sim_test

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/sim"
)

func scan(t *testing.T, o *sim.Org, c checks.Clients, account, region string) checks.ScanResult {
	t.Helper()
	cfgs, err := checks.Configure(checks.All(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return checks.Scan(context.Background(), checks.ScanInput{AccountID: account, Region: region, Now: o.Now(),
		Clients: c, Checks: cfgs, Prices: pricing.Default()})
}

func found(r checks.ScanResult) []sim.Expected {
	var out []sim.Expected
	for _, j := range r.Judged {
		out = append(out, sim.Expected{CheckID: j.CheckID, ResourceID: j.Resource.ID})
	}
	sortExpected(out)
	return out
}

func sortExpected(es []sim.Expected) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].CheckID != es[j].CheckID {
			return es[i].CheckID < es[j].CheckID
		}
		return es[i].ResourceID < es[j].ResourceID
	})
}

// Every planted finding is found and nothing else, through raw pair clients
// and through SDK clients backed by the simulator, for every pair.
func TestChecksFindExactlyTheGroundTruth(t *testing.T) {
	t.Parallel()
	o, err := sim.New(sim.Config{Seed: 7, Accounts: 6, Regions: []string{"us-east-1", "eu-west-1", "ap-south-1"}})
	if err != nil {
		t.Fatal(err)
	}
	accts, _ := o.Accounts(context.Background(), nil)
	perCheck := map[string]int{}
	for _, a := range accts {
		for _, r := range o.Config().Regions {
			want := o.Truth(a.ID, r)
			sortExpected(want)
			p, err := o.Pair(a.ID, r)
			if err != nil {
				t.Fatal(err)
			}
			raw := scan(t, o, p.APIClients(), a.ID, r)
			if len(raw.Errors) > 0 {
				t.Fatalf("%s/%s: errors %+v", a.ID, r, raw.Errors)
			}
			if d := cmp.Diff(want, found(raw)); d != "" {
				t.Fatalf("%s/%s raw clients: findings differ from ground truth (-want +got):\n%s", a.ID, r, d)
			}
			sdk, err := o.Clients(context.Background(), pipeline.WorkItem{AccountID: a.ID, Region: r})
			if err != nil {
				t.Fatal(err)
			}
			viaSDK := scan(t, o, sdk, a.ID, r)
			if d := cmp.Diff(want, found(viaSDK)); d != "" {
				t.Fatalf("%s/%s SDK clients: (-want +got):\n%s", a.ID, r, d)
			}
			for _, e := range want {
				perCheck[e.CheckID]++
			}
		}
	}
	for _, id := range checks.IDs() {
		if perCheck[id] == 0 {
			t.Errorf("the simulator planted nothing for %s", id)
		}
	}
}

func TestSameSeedSameWorld(t *testing.T) {
	t.Parallel()
	a, _ := sim.New(sim.Config{Seed: 42, Accounts: 3})
	b, _ := sim.New(sim.Config{Seed: 42, Accounts: 3})
	c, _ := sim.New(sim.Config{Seed: 43, Accounts: 3})
	aa, _ := a.Accounts(context.Background(), nil)
	ba, _ := b.Accounts(context.Background(), nil)
	ca, _ := c.Accounts(context.Background(), nil)
	if d := cmp.Diff(aa, ba); d != "" {
		t.Fatalf("accounts differ for one seed: %s", d)
	}
	if cmp.Equal(aa, ca) {
		t.Fatal("different seeds gave the same accounts")
	}
	if d := cmp.Diff(a.Truth(aa[0].ID, "us-east-1"), b.Truth(ba[0].ID, "us-east-1")); d != "" {
		t.Fatalf("truth differs for one seed: %s", d)
	}
}

func TestThrottlingIsRetriedByTheSDK(t *testing.T) {
	t.Parallel()
	o, _ := sim.New(sim.Config{Seed: 3, Accounts: 2, ThrottleRate: 0.3, Retry: awsx.RetryOptions{MaxAttempts: 20, NoBackoff: true}})
	accts, _ := o.Accounts(context.Background(), nil)
	for _, a := range accts {
		want := o.Truth(a.ID, "us-east-1")
		sortExpected(want)
		c, _ := o.Clients(context.Background(), pipeline.WorkItem{AccountID: a.ID, Region: "us-east-1"})
		res := scan(t, o, c, a.ID, "us-east-1")
		if len(res.Errors) > 0 {
			t.Fatalf("throttling leaked through the retryer: %+v", res.Errors)
		}
		if d := cmp.Diff(want, found(res)); d != "" {
			t.Fatalf("(-want +got):\n%s", d)
		}
	}
	if o.Throttled() == 0 {
		t.Fatal("no request was throttled: the knob did nothing")
	}
}

func TestDeniedAccountAndOperation(t *testing.T) {
	t.Parallel()
	o0, _ := sim.New(sim.Config{Seed: 5, Accounts: 2})
	accts, _ := o0.Accounts(context.Background(), nil)
	o, _ := sim.New(sim.Config{Seed: 5, Accounts: 2, DenyAccounts: []string{accts[0].ID},
		DenyOperations: []string{accts[1].ID + "/rds:DescribeDBInstances"}})
	_, err := o.Clients(context.Background(), pipeline.WorkItem{AccountID: accts[0].ID, Region: "us-east-1"})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Fatalf("denied account: err = %v", err)
	}
	c, err := o.Clients(context.Background(), pipeline.WorkItem{AccountID: accts[1].ID, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	res := scan(t, o, c, accts[1].ID, "us-east-1")
	if len(res.Errors) != 1 || res.Errors[0].Check != "rds-idle-instance" || res.Errors[0].Code != "AccessDenied" {
		t.Fatalf("errors = %+v, want one AccessDenied for rds-idle-instance", res.Errors)
	}
}

// Day 1 of an organization deletes some resources and adds new ones; the
// checks still find exactly the ground truth of that day, and the two
// days' truths differ both ways.
func TestChurnKeepsTruthExact(t *testing.T) {
	t.Parallel()
	d0, _ := sim.New(sim.Config{Seed: 21, Accounts: 4})
	d1, _ := sim.New(sim.Config{Seed: 21, Accounts: 4, Day: 1})
	if !d1.Now().Equal(d0.Now().Add(24 * time.Hour)) {
		t.Fatalf("day 1 present %s", d1.Now())
	}
	accts, _ := d1.Accounts(context.Background(), nil)
	var resolved, added int
	for _, a := range accts {
		for _, r := range d1.Config().Regions {
			before := map[sim.Expected]bool{}
			for _, e := range d0.Truth(a.ID, r) {
				before[e] = true
			}
			want := d1.Truth(a.ID, r)
			after := map[sim.Expected]bool{}
			for _, e := range want {
				after[e] = true
				if !before[e] {
					added++
				}
			}
			for e := range before {
				if !after[e] {
					resolved++
				}
			}
			p, _ := d1.Pair(a.ID, r)
			sortExpected(want)
			if d := cmp.Diff(want, found(scan(t, d1, p.APIClients(), a.ID, r))); d != "" {
				t.Fatalf("day 1 %s/%s (-want +got):\n%s", a.ID, r, d)
			}
		}
	}
	if resolved == 0 || added == 0 {
		t.Fatalf("churn resolved %d and added %d findings; want both", resolved, added)
	}
}

// A scan makes exactly the requests the simulator's floor says are needed
// (every listing at the API's maximum page size, one request per table and
// target group, ⌈queries/500⌉ GetMetricData calls); when AWS pages smaller
// than the maximum, the calls rise above the floor and the floor stays.
func TestScanIsAtTheFloor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		pageLimit int
	}{{"maximum pages", 0}, {"five items a page", 5}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := sim.New(sim.Config{Seed: 3, Accounts: 3, Resources: 120, PageLimit: tc.pageLimit})
			if err != nil {
				t.Fatal(err)
			}
			accts, _ := o.Accounts(context.Background(), nil)
			gmdFloor, queries := 0, 0
			for _, a := range accts {
				for _, r := range o.Config().Regions {
					c, err := o.Clients(context.Background(), pipeline.WorkItem{AccountID: a.ID, Region: r})
					if err != nil {
						t.Fatal(err)
					}
					res := scan(t, o, c, a.ID, r)
					if len(res.Errors) > 0 {
						t.Fatal(res.Errors)
					}
					gmdFloor += (res.Metrics.Queries + 499) / 500
					queries += res.Metrics.Queries
				}
			}
			calls, floor := o.Calls(), o.Floor()
			floor["cloudwatch:GetMetricData"] = gmdFloor
			if o.MetricQueries() != queries {
				t.Errorf("GetMetricData carried %d queries; the candidates needed %d", o.MetricQueries(), queries)
			}
			paged := 0
			for op, n := range calls {
				switch {
				case tc.pageLimit == 0 && n != floor[op]:
					t.Errorf("%s: %d calls, floor %d", op, n, floor[op])
				case n < floor[op]:
					t.Errorf("%s: %d calls, below the floor %d", op, n, floor[op])
				case n > floor[op]:
					paged++
				}
			}
			if len(floor) != len(calls) {
				t.Errorf("floor covers %d operations, calls %d", len(floor), len(calls))
			}
			if tc.pageLimit > 0 && paged == 0 {
				t.Error("small pages did not raise any operation above its floor")
			}
		})
	}
}

// Items with a role get their credentials as in AWS: assume.Factory asks
// the simulated STS once per account, however many regions scan at once,
// and a denied account is asked once and fails all its pairs.
func TestRolesAreAssumedOncePerAccount(t *testing.T) {
	t.Parallel()
	o, err := sim.New(sim.Config{Seed: 5, Accounts: 4, Resources: 5})
	if err != nil {
		t.Fatal(err)
	}
	accts, _ := o.Accounts(context.Background(), nil)
	denied := accts[3].ID
	o, err = sim.New(sim.Config{Seed: 5, Accounts: 4, Resources: 5, DenyAccounts: []string{denied}})
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		account string
		err     error
	}
	results := make(chan outcome)
	n := 0
	for _, a := range accts {
		for _, r := range o.Config().Regions {
			n++
			go func() {
				item := pipeline.WorkItem{RunID: "r1", AccountID: a.ID, Region: r, RoleARN: "arn:aws:iam::" + a.ID + ":role/OrgScanMemberRole"}
				c, err := o.Clients(context.Background(), item)
				if err == nil {
					res := scan(t, o, c, a.ID, r)
					if len(res.Errors) > 0 {
						err = errors.New(res.Errors[0].Message)
					}
				}
				results <- outcome{a.ID, err}
			}()
		}
	}
	for range n {
		got := <-results
		var api smithy.APIError
		switch {
		case got.account == denied && (!errors.As(got.err, &api) || api.ErrorCode() != "AccessDenied"):
			t.Errorf("denied account %s: %v, want AccessDenied", got.account, got.err)
		case got.account != denied && got.err != nil:
			t.Errorf("account %s: %v", got.account, got.err)
		}
	}
	if got := o.Calls()["sts:AssumeRole"]; got != len(accts) {
		t.Errorf("%d AssumeRole calls for %d accounts × %d regions, want one per account", got, len(accts), len(o.Config().Regions))
	}
}
