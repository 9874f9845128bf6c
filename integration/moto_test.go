// Package integration runs orgscan's pipeline against moto server, a
// third-party AWS emulator, through the SDK's standard AWS_ENDPOINT_URL:
// real SDK clients, real assume-role credentials, real S3 objects.
package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/internal/mototest"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/awsx/assume"
	"github.com/orgscan/orgscan/pkg/awsx/discovery"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/store"
)

var (
	server    *mototest.Server
	world     *mototest.World
	seedOnce  sync.Once
	seedError error
)

func TestMain(m *testing.M) {
	s, err := mototest.Start(context.Background())
	if err != nil {
		if errors.Is(err, mototest.ErrUnavailable) && os.Getenv("ORGSCAN_SKIP_MOTO") == "1" {
			fmt.Println("moto unavailable and ORGSCAN_SKIP_MOTO=1: skipping integration tests")
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	for k, v := range s.Env() {
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
	server = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// seeded seeds the organization once for every test of the package.
func seeded(t *testing.T) *mototest.World {
	t.Helper()
	seedOnce.Do(func() {
		cfg, err := awsx.LoadConfig(context.Background(), awsx.Options{})
		if err != nil {
			seedError = err
			return
		}
		world, seedError = mototest.Seed(context.Background(), cfg)
	})
	if seedError != nil {
		t.Fatalf("seed moto: %v", seedError)
	}
	return world
}

type harness struct {
	faults *mototest.Faults
	blobs  store.S3
	local  *pipeline.Local
	s3     *s3.Client
}

func newHarness(t *testing.T, w *mototest.World, faults *mototest.Faults) *harness {
	t.Helper()
	ctx := context.Background()
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{HTTPClient: faults, Retry: awsx.RetryOptions{MaxAttempts: 10, NoBackoff: true}})
	if err != nil {
		t.Fatal(err)
	}
	s3c := awsx.NewS3(cfg)
	blobs := store.S3{Client: s3c, Bucket: w.Bucket, Prefix: strings.ReplaceAll(t.Name(), "/", "_") + "/"}
	return &harness{faults: faults, blobs: blobs, s3: s3c, local: &pipeline.Local{
		Dispatcher: &pipeline.Dispatcher{Discovery: &discovery.Organization{Org: organizations.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg)},
			Blobs: blobs, Clock: time.Now},
		Collector:   &collect.Collector{Clients: &assume.Factory{Base: cfg, ExternalID: "orgscan-it"}, Blobs: blobs, Clock: func() time.Time { return w.AsOf }, Prices: pricing.Default()},
		Aggregator:  &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: &store.LocalState{Dir: t.TempDir()}, Clock: time.Now},
		Concurrency: 4,
	}}
}

func (h *harness) findings(t *testing.T, sum pipeline.RunSummary) []mototest.Expected {
	t.Helper()
	rc, err := h.blobs.Open(context.Background(), sum.FindingsKey)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	var out []mototest.Expected
	for {
		var f finding.Finding
		if err := dec.Decode(&f); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if f.FindingID != finding.ID(f.CheckID, f.AccountID, f.Region, f.ResourceID) {
			t.Fatalf("unstable ID on %+v", f)
		}
		out = append(out, mototest.Expected{CheckID: f.CheckID, AccountID: f.AccountID, Region: f.Region, ResourceID: f.ResourceID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func expectedFor(w *mototest.World, keep func(mototest.Expected) bool) []mototest.Expected {
	var out []mototest.Expected
	for _, e := range w.Expected {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// The whole pipeline against moto finds exactly what was planted in the
// member accounts of the scanned regions: nothing from the account outside
// the organization, nothing from the unscanned region, no healthy twin; and
// it assumes each member's role once, however many regions.
func TestPipelineFindsExactlyTheSeededWaste(t *testing.T) {
	w := seeded(t)
	h := newHarness(t, w, mototest.NewFaults())
	sum, err := h.local.Run(context.Background(), pipeline.RunRequest{RoleName: mototest.RoleName, Regions: w.Regions})
	if err != nil {
		t.Fatal(err)
	}
	// The management account is a member of its organization too: it is
	// scanned (and has nothing to find).
	if want := (len(w.Members) + 1) * len(w.Regions); sum.Pairs != want || sum.PairsOK != want {
		t.Fatalf("pairs %d ok %d partial %d failed %d (problems %+v); want %d ok", sum.Pairs, sum.PairsOK, sum.PairsPartial, sum.PairsFailed, sum.Problems, want)
	}
	if d := cmp.Diff(w.Expected, h.findings(t, sum)); d != "" {
		t.Fatalf("findings differ from the seed (-want +got):\n%s", d)
	}
	if got, want := h.faults.Count("AssumeRole"), len(w.Members)+1; got != want {
		t.Fatalf("AssumeRole called %d times for %d accounts × %d regions; want one per account", got, want, len(w.Regions))
	}
	// One GetMetricData call per pair with metric candidates (the management
	// account has none, so it makes none).
	if sum.MonthlyCostUSD <= 0 || sum.GetMetricDataCalls != len(w.Members)*len(w.Regions) {
		t.Fatalf("summary %+v", sum)
	}
	// Chunks are real gzip objects in the bucket.
	for _, e := range w.Expected[:1] {
		rc, err := h.blobs.Open(context.Background(), pipeline.ChunkKey(sum.RunID, e.AccountID, e.Region))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(rc)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		rc.Close()
		if !bytes.Contains(b, []byte(e.ResourceID)) {
			t.Fatalf("chunk lacks %s", e.ResourceID)
		}
	}
}

// Organizational units are walked recursively: the workloads OU holds the
// third member one level down.
func TestOrganizationalUnitsAreWalked(t *testing.T) {
	w := seeded(t)
	h := newHarness(t, w, mototest.NewFaults())
	sum, err := h.local.Run(context.Background(), pipeline.RunRequest{RoleName: mototest.RoleName, Regions: w.Regions, OrganizationalUnits: []string{w.OU}})
	if err != nil {
		t.Fatal(err)
	}
	member := w.Members[2].ID
	if sum.Accounts != 1 {
		t.Fatalf("accounts %d, want only %s", sum.Accounts, member)
	}
	want := expectedFor(w, func(e mototest.Expected) bool { return e.AccountID == member })
	if d := cmp.Diff(want, h.findings(t, sum)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// AssumeRole into one member is denied (injected through the SDK's HTTP
// client): that account's pairs fail with AccessDenied, the others are
// complete, and the role is not asked again for the account's other regions.
func TestDeniedAccountFailsOnlyItsPairs(t *testing.T) {
	w := seeded(t)
	denied := w.Members[1].ID
	f := mototest.NewFaults()
	f.DenyAssumeRoleInto = denied
	h := newHarness(t, w, f)
	accounts := []string{w.Members[0].ID, w.Members[1].ID, w.Members[2].ID}
	sum, err := h.local.Run(context.Background(), pipeline.RunRequest{RoleName: mototest.RoleName, Regions: w.Regions, Accounts: accounts})
	if err != nil {
		t.Fatal(err)
	}
	if sum.PairsFailed != len(w.Regions) || sum.PairsOK != 2*len(w.Regions) {
		t.Fatalf("ok %d failed %d: %+v", sum.PairsOK, sum.PairsFailed, sum.Problems)
	}
	for _, p := range sum.Problems {
		if p.AccountID != denied || p.Errors[0].Code != "AccessDenied" || !strings.Contains(p.Errors[0].Message, "sts:AssumeRole") {
			t.Fatalf("problem %+v", p)
		}
	}
	if f.Denied() != 1 {
		t.Fatalf("AssumeRole into the denied account was tried %d times; once is enough", f.Denied())
	}
	want := expectedFor(w, func(e mototest.Expected) bool { return e.AccountID != denied })
	if d := cmp.Diff(want, h.findings(t, sum)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// A third of EC2 requests are throttled: the SDK retryer absorbs it, and
// the run is complete and exact.
func TestThrottlingIsRetried(t *testing.T) {
	w := seeded(t)
	f := mototest.NewFaults()
	f.ThrottleEC2Every = 3
	h := newHarness(t, w, f)
	sum, err := h.local.Run(context.Background(), pipeline.RunRequest{RoleName: mototest.RoleName, Regions: w.Regions,
		Accounts: []string{w.Members[0].ID, w.Members[1].ID, w.Members[2].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Throttled() == 0 {
		t.Fatal("nothing was throttled")
	}
	if sum.PairsOK != sum.Pairs {
		t.Fatalf("throttling leaked into pair statuses: %+v", sum.Problems)
	}
	if d := cmp.Diff(w.Expected, h.findings(t, sum)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// Every 4th request of the whole run (STS, Organizations, the scanned
// services, CloudWatch, S3) fails with a 500 or a connection reset: the
// SDK retryer absorbs both and the run is complete and exact.
func TestServerErrorsAndResetsAreRetried(t *testing.T) {
	w := seeded(t)
	f := mototest.NewFaults()
	f.FailEvery = 4
	h := newHarness(t, w, f)
	sum, err := h.local.Run(context.Background(), pipeline.RunRequest{RoleName: mototest.RoleName, Regions: w.Regions,
		Accounts: []string{w.Members[0].ID, w.Members[1].ID, w.Members[2].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if e500, resets := f.Failed(); e500 == 0 || resets == 0 {
		t.Fatalf("injected %d 500s and %d resets; want both", e500, resets)
	}
	if sum.PairsOK != sum.Pairs {
		t.Fatalf("server errors leaked into pair statuses: %+v", sum.Problems)
	}
	if d := cmp.Diff(w.Expected, h.findings(t, sum)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// A malformed manual execution input is refused by the dispatcher with a
// typed error naming the field and the value, and nothing reaches the bucket
// (the dispatcher writes nothing else: DynamoDB is the aggregator's).
func TestDispatcherRefusesMalformedInput(t *testing.T) {
	w := seeded(t)
	h := newHarness(t, w, mototest.NewFaults())
	fn := pipeline.DispatchFunction{Dispatcher: h.local.Dispatcher}
	for _, tc := range []struct{ input, field, value string }{
		{`{"accounts":["12345"]}`, "accounts", "12345"},
		{`{"regions":["us-east-1","mars-east-9"]}`, "regions", "mars-east-9"},
		{`{"regions":["ap-northeast-9"]}`, "regions", "ap-northeast-9"},
		{`{"checks":["ec2-idle-instance","s3-nope"]}`, "checks", "s3-nope"},
		{`{"acounts":["123456789012"]}`, "acounts", ""},
		{`{"accounts":["999999999999"]}`, "accounts", "999999999999"},
		{`{"accounts":["1234567890123"]}`, "accounts", "1234567890123"},
		{`{"accounts":["12345678901a"]}`, "accounts", "12345678901a"},
		{`{"excludeAccounts":["abc"]}`, "excludeAccounts", "abc"},
		{`{"organizationalUnits":["ou-1"]}`, "organizationalUnits", "ou-1"},
		{`{"regions":["US-EAST-1"]}`, "regions", "US-EAST-1"},
		{`{"regions":[""]}`, "regions", ""},
		{`{"checks":["EC2-IDLE-INSTANCE"]}`, "checks", "EC2-IDLE-INSTANCE"},
		{`{"runId":"../../etc"}`, "runId", "../../etc"},
		{`{"runId":"-leading-dash"}`, "runId", "-leading-dash"},
		{`{"roleName":"role with spaces"}`, "roleName", "role with spaces"},
		{`{"lookbackDays":-1}`, "lookbackDays", "-1"},
		{`{"lookbackDays":100000}`, "lookbackDays", "100000"},
		{`{"maxConcurrency":20000}`, "maxConcurrency", "20000"},
		{`{"toleratedFailurePercentage":10}`, "toleratedFailurePercentage", ""},
		{`{"params":{"s3-nope":{"x":1}}}`, "params", "s3-nope"},
		{`{"exclusions":[{"checks":["s3-nope"],"accounts":["123456789012"]}]}`, "exclusions[0].checks", "s3-nope"},
		{`{"accounts":"123456789012"}`, "input", ""},
		{`{"lookbackDays":"14"}`, "input", ""},
		{`not json`, "input", ""},
		{`{"regions":["us-east-1"]} {"regions":["eu-west-1"]}`, "input", ""},
		{`["us-east-1"]`, "input", ""},
		{`{"regions":["us-east-1"],"Regions":["eu-west-1"]}`, "Regions", ""},
		{`{"exclusions":[{"checks":["ec2-idle-instance"],"tags":{"":"x"},"bogus":1}]}`, "exclusions", "bogus"},
	} {
		_, err := fn.Handle(context.Background(), json.RawMessage(tc.input))
		var ir *pipeline.InvalidRequestError
		if !errors.As(err, &ir) || ir.Field != tc.field || ir.Value != tc.value {
			t.Errorf("%s: err = %v, want InvalidRequestError{%s %q}", tc.input, err, tc.field, tc.value)
		}
	}
	out, err := h.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(w.Bucket), Prefix: aws.String(h.blobs.Prefix)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		t.Fatalf("a refused request wrote %d objects", len(out.Contents))
	}
}

// The partial-pair guard against moto: on the second run every
// DescribeAddresses is refused (UnauthorizedOperation), so the Elastic IP
// check fails in every pair while the other checks run. Its findings stay
// open — the real ones and one the state holds for an address this run
// cannot see — and a finding of a check that did run, for a volume that is
// gone, is resolved.
func TestPartialPairKeepsTheFailedCheckOpen(t *testing.T) {
	w := seeded(t)
	ctx := context.Background()
	h := newHarness(t, w, mototest.NewFaults())
	state := h.local.Aggregator.State
	req := pipeline.RunRequest{RoleName: mototest.RoleName, Regions: w.Regions, Accounts: []string{w.Members[0].ID}}
	first, err := h.local.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	acct, region := w.Members[0].ID, w.Regions[0]
	// Findings of an earlier sighting whose resources this account no
	// longer has: one per check.
	ghost := func(check, res string) finding.Finding {
		return finding.Finding{FindingID: finding.ID(check, acct, region, res), RunID: "earlier", CheckID: check, Category: finding.Unused,
			AccountID: acct, Region: region, Service: "ec2", ResourceID: res, FirstSeen: first.StartedAt.Add(-time.Hour),
			LastSeen: first.StartedAt.Add(-time.Hour), Status: finding.Open, OpenedRunID: "earlier"}
	}
	gone := []finding.Finding{ghost("ec2-unassociated-eip", "eipalloc-0gone"), ghost("ebs-unattached-volume", "vol-0gone")}
	if err := state.PutFindings(ctx, acct, gone); err != nil {
		t.Fatal(err)
	}

	f := mototest.NewFaults()
	f.DenyAction = "DescribeAddresses"
	second := newHarness(t, w, f)
	second.local.Aggregator.State = state
	sum, err := second.local.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if f.Denied() == 0 || sum.PairsPartial != len(w.Regions) {
		t.Fatalf("denied %d requests, %d partial pairs; want every pair partial", f.Denied(), sum.PairsPartial)
	}
	items, err := state.AccountFindings(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]finding.Status{}
	for _, it := range items {
		seen[it.ResourceID] = it.Status
		if it.CheckID == "ec2-unassociated-eip" && it.Status != finding.Open {
			t.Errorf("%s of the check that failed is %s, want open", it.ResourceID, it.Status)
		}
	}
	if seen["vol-0gone"] != finding.Resolved || seen["eipalloc-0gone"] != finding.Open {
		t.Fatalf("gone volume %q, gone address %q; want resolved and open", seen["vol-0gone"], seen["eipalloc-0gone"])
	}
	if sum.Resolved != 1 {
		t.Fatalf("resolved %d, want the gone volume alone", sum.Resolved)
	}
}
