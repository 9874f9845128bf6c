package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orgscan/orgscan/internal/historytest"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
)

var wallClock = func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }

func newLocal(t *testing.T, org *sim.Org, dir string, concurrency int) *pipeline.Local {
	t.Helper()
	blobs := store.Dir{Root: dir}
	return &pipeline.Local{
		Dispatcher:  &pipeline.Dispatcher{Discovery: org, Blobs: blobs, Clock: wallClock},
		Collector:   &collect.Collector{Clients: org, Blobs: blobs, Clock: org.Now, Prices: pricing.Default()},
		Aggregator:  &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: &store.LocalState{Dir: dir}, Clock: wallClock},
		Concurrency: concurrency,
	}
}

func mustSim(t *testing.T, cfg sim.Config) *sim.Org {
	t.Helper()
	o, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func readFindings(t *testing.T, dir string, sum pipeline.RunSummary) []finding.Finding {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, sum.FindingsKey))
	if err != nil {
		t.Fatal(err)
	}
	var out []finding.Finding
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var f finding.Finding
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// Two runs with the same seed produce byte-identical findings (IDs
// included), whatever the concurrency.
func TestSameSeedSameFindings(t *testing.T) {
	t.Parallel()
	cfg := sim.Config{Seed: 11, Accounts: 8, Regions: []string{"us-east-1", "eu-west-1", "sa-east-1"}}
	d1, d2 := t.TempDir(), t.TempDir()
	req := pipeline.RunRequest{RunID: "determinism"}
	s1, err := newLocal(t, mustSim(t, cfg), d1, 1).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := newLocal(t, mustSim(t, cfg), d2, 7).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(filepath.Join(d1, s1.FindingsKey))
	b2, _ := os.ReadFile(filepath.Join(d2, s2.FindingsKey))
	if len(b1) == 0 || !bytes.Equal(b1, b2) {
		t.Fatalf("findings differ between two runs of one seed (%d vs %d bytes)", len(b1), len(b2))
	}
	if s1.Findings == 0 || s1.Findings != s2.Findings || s1.MonthlyCostUSD != s2.MonthlyCostUSD {
		t.Fatalf("summaries differ: %d/%v vs %d/%v", s1.Findings, s1.MonthlyCostUSD, s2.Findings, s2.MonthlyCostUSD)
	}
}

// Everything the simulator planted is found, and nothing else: precision and
// recall 1.0 over a whole run, with stable IDs.
func TestRunFindsExactlyTheGroundTruth(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 99, Accounts: 10, Regions: []string{"us-east-1", "us-west-2", "eu-central-1"}})
	dir := t.TempDir()
	sum, err := newLocal(t, org, dir, 4).Run(context.Background(), pipeline.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.PairsOK != 30 || sum.PairsFailed+sum.PairsPartial != 0 {
		t.Fatalf("pairs: %+v", sum)
	}
	got := map[string]bool{}
	for _, f := range readFindings(t, dir, sum) {
		if want := finding.ID(f.CheckID, f.AccountID, f.Region, f.ResourceID); f.FindingID != want {
			t.Fatalf("finding %s has ID %s, want %s", f.ResourceID, f.FindingID, want)
		}
		got[f.FindingID] = true
	}
	want := map[string]bool{}
	accts, _ := org.Accounts(context.Background(), nil)
	for _, a := range accts {
		for _, r := range org.Config().Regions {
			for _, e := range org.Truth(a.ID, r) {
				want[finding.ID(e.CheckID, a.ID, r, e.ResourceID)] = true
			}
		}
	}
	var missed, extra int
	for id := range want {
		if !got[id] {
			missed++
		}
	}
	for id := range got {
		if !want[id] {
			extra++
		}
	}
	if missed != 0 || extra != 0 || len(want) == 0 {
		t.Fatalf("recall misses %d of %d planted findings; %d findings were not planted", missed, len(want), extra)
	}
	if len(sum.ByCheck) != len(checks.IDs()) {
		t.Fatalf("findings for %d checks, want all %d", len(sum.ByCheck), len(checks.IDs()))
	}
}

// An account whose role cannot be assumed fails its own pairs only; the run
// completes and says which pairs failed and why.
func TestDeniedAccountFailsOnlyItsPairs(t *testing.T) {
	t.Parallel()
	base := mustSim(t, sim.Config{Seed: 5, Accounts: 6})
	accts, _ := base.Accounts(context.Background(), nil)
	denied := accts[2].ID
	org := mustSim(t, sim.Config{Seed: 5, Accounts: 6, DenyAccounts: []string{denied}})
	dir := t.TempDir()
	sum, err := newLocal(t, org, dir, 3).Run(context.Background(), pipeline.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	regions := len(org.Config().Regions)
	if sum.PairsFailed != regions || sum.PairsOK != 5*regions {
		t.Fatalf("ok=%d partial=%d failed=%d; want %d failed, %d ok", sum.PairsOK, sum.PairsPartial, sum.PairsFailed, regions, 5*regions)
	}
	for _, p := range sum.Problems {
		if p.AccountID != denied || p.Status != pipeline.PairFailed || len(p.Errors) != 1 || p.Errors[0].Code != "AccessDenied" ||
			!strings.Contains(p.Errors[0].Message, "sts:AssumeRole") {
			t.Fatalf("unexpected problem %+v", p)
		}
	}
	// The other accounts' findings are all there.
	for _, f := range readFindings(t, dir, sum) {
		if f.AccountID == denied {
			t.Fatalf("finding from the denied account: %+v", f)
		}
	}
	healthy := mustSim(t, sim.Config{Seed: 5, Accounts: 6})
	want := 0
	for _, a := range accts {
		if a.ID == denied {
			continue
		}
		for _, r := range healthy.Config().Regions {
			want += len(healthy.Truth(a.ID, r))
		}
	}
	if sum.Findings+sum.Suppressed != want {
		t.Fatalf("findings = %d open + %d suppressed, want %d from the healthy accounts", sum.Findings, sum.Suppressed, want)
	}
}

// A denied API makes its check's pairs partial; the other checks still run.
func TestDeniedOperationMakesPairsPartial(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 5, Accounts: 2, DenyOperations: []string{"lambda:ListFunctions"}})
	sum, err := newLocal(t, org, t.TempDir(), 2).Run(context.Background(), pipeline.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.PairsPartial != sum.Pairs {
		t.Fatalf("partial = %d of %d", sum.PairsPartial, sum.Pairs)
	}
	for _, p := range sum.Problems {
		if len(p.Errors) != 1 || p.Errors[0].Check != "lambda-unused-function" || p.Errors[0].Code != "AccessDeniedException" {
			t.Fatalf("problem %+v", p)
		}
	}
	for _, c := range sum.ByCheck {
		if c.CheckID == "lambda-unused-function" {
			t.Fatalf("denied check reported findings: %+v", c)
		}
	}
	if len(sum.ByCheck) != len(checks.IDs())-1 {
		t.Fatalf("by check = %+v, want every other check", sum.ByCheck)
	}
}

func TestInvalidRequestsWriteNothing(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 1, Accounts: 2})
	accts, _ := org.Accounts(context.Background(), nil)
	for _, tc := range []struct {
		name  string
		req   pipeline.RunRequest
		field string
	}{
		{"malformed account", pipeline.RunRequest{Accounts: []string{"12345"}}, "accounts"},
		{"account outside org", pipeline.RunRequest{Accounts: []string{"000000000000"}}, "accounts"},
		{"malformed exclude", pipeline.RunRequest{ExcludeAccounts: []string{"abc"}}, "excludeAccounts"},
		{"region not a region", pipeline.RunRequest{Regions: []string{"mars"}}, "regions"},
		{"region not enabled", pipeline.RunRequest{Regions: []string{"ap-east-1"}}, "regions"},
		{"unknown check", pipeline.RunRequest{Checks: []string{"ec2-nope"}}, "checks"},
		{"lookback too long", pipeline.RunRequest{LookbackDays: 999}, "lookbackDays"},
		{"bad run id", pipeline.RunRequest{RunID: "../x"}, "runId"},
		{"bad OU", pipeline.RunRequest{OrganizationalUnits: []string{"ou-1"}}, "organizationalUnits"},
		{"bad role", pipeline.RunRequest{RoleName: "a role"}, "roleName"},
		{"param of unknown check", pipeline.RunRequest{Params: map[string]map[string]float64{"nope": {"x": 1}}}, "params"},
		{"unknown param", pipeline.RunRequest{Params: map[string]map[string]float64{"ec2-idle-instance": {"cpu": 1}}}, "params"},
		{"param out of range", pipeline.RunRequest{Params: map[string]map[string]float64{"ec2-idle-instance": {"cpuPercent": 101}}}, "params"},
		{"everything excluded", pipeline.RunRequest{Accounts: []string{accts[0].ID}, ExcludeAccounts: []string{accts[0].ID}}, "accounts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, err := newLocal(t, org, dir, 2).Run(context.Background(), tc.req)
			var ir *pipeline.InvalidRequestError
			if !errors.As(err, &ir) || ir.Field != tc.field {
				t.Fatalf("err = %v, want InvalidRequestError on %s", err, tc.field)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("an invalid request wrote %v", entries)
			}
		})
	}
}

func TestDecodeRunRequest(t *testing.T) {
	t.Parallel()
	r, err := pipeline.DecodeRunRequest([]byte(`{"accounts":["123456789012"],"regions":["us-east-1"],"checks":["ec2-idle-instance"],"lookbackDays":7}`))
	if err != nil || r.LookbackDays != 7 || r.Accounts[0] != "123456789012" {
		t.Fatalf("r=%+v err=%v", r, err)
	}
	for _, in := range []string{`{"acounts":["123456789012"]}`, `{"accounts":"123456789012"}`, `{} {}`, `[`, `{"lookbackDays":0.5}`} {
		_, err := pipeline.DecodeRunRequest([]byte(in))
		var ir *pipeline.InvalidRequestError
		if !errors.As(err, &ir) {
			t.Errorf("%s: err = %v, want *InvalidRequestError", in, err)
		}
	}
	_, err = pipeline.DecodeRunRequest([]byte(`{"acounts":[]}`))
	if err == nil || !strings.Contains(err.Error(), "acounts") {
		t.Errorf("unknown field not named: %v", err)
	}
}

func TestDispatcherManifest(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 2, Accounts: 4})
	accts, _ := org.Accounts(context.Background(), nil)
	blobs := store.Dir{Root: t.TempDir()}
	d := &pipeline.Dispatcher{Discovery: org, Blobs: blobs, Clock: wallClock}
	res, err := d.Handle(context.Background(), pipeline.RunRequest{
		ExcludeAccounts: []string{accts[1].ID}, Regions: []string{"eu-west-1", "us-east-1", "eu-west-1"},
		Checks: []string{"rds-idle-instance", "ec2-idle-instance"}, RoleName: "OrgScanMember", LookbackDays: 21,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pairs != 6 || res.Accounts != 3 || !cmp.Equal(res.Regions, []string{"eu-west-1", "us-east-1"}) ||
		!cmp.Equal(res.Checks, []string{"ec2-idle-instance", "rds-idle-instance"}) {
		t.Fatalf("result %+v", res)
	}
	if !strings.HasPrefix(res.RunID, "20261126T120000Z-") {
		t.Fatalf("run ID %q does not start with the dispatch time", res.RunID)
	}
	var items []pipeline.WorkItem
	if err := pipeline.ReadManifest(context.Background(), blobs, res.ManifestKey, func(it pipeline.WorkItem) error {
		items = append(items, it)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(items) != 6 {
		t.Fatalf("%d items", len(items))
	}
	seen := map[string]bool{}
	for _, it := range items {
		if it.AccountID == accts[1].ID {
			t.Fatal("excluded account dispatched")
		}
		if it.RoleARN != "arn:aws:iam::"+it.AccountID+":role/OrgScanMember" || it.LookbackDays != 21 || it.RunID != res.RunID || it.OptionsKey != "" {
			t.Fatalf("item %+v", it)
		}
		seen[it.AccountID+"/"+it.Region] = true
	}
	if len(seen) != 6 {
		t.Fatal("duplicate pairs in the manifest")
	}
	// No parameters, no exclusions: no options object.
	if _, err := blobs.Open(context.Background(), pipeline.OptionsKey(res.RunID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("options object of a run without options: %v", err)
	}
}

// staticDiscovery is an organization given in full.
type staticDiscovery struct {
	accounts []pipeline.Account
	regions  []string
}

func (d staticDiscovery) Accounts(context.Context, []string) ([]pipeline.Account, error) {
	return d.accounts, nil
}
func (d staticDiscovery) Regions(context.Context) ([]string, error) { return d.regions, nil }

// worstRegions are n region names as long as real ones get, in the
// partition with the longest ARN prefix.
func worstRegions(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("us-gov-northeast-%d", i+1))
	}
	return out
}

// worstDispatch dispatches the worst realistic run: 40 regions in the
// partition with the longest ARNs, every check, an 80-character run ID, a
// 50-character account name of characters JSON escapes to 6 bytes
// (Organizations allows 50), a 64-character role name under a
// 512-character path (IAM's maxima), a lookback of three digits and run
// options. It returns the result and the manifest's lines.
func worstDispatch(t *testing.T) (pipeline.DispatchResult, [][]byte) {
	t.Helper()
	account := pipeline.Account{ID: "123456789012", Name: strings.Repeat("<", 50)}
	role := strings.Repeat(strings.Repeat("p", 63)+"/", 8) + strings.Repeat("r", 64)
	blobs := store.Dir{Root: t.TempDir()}
	d := &pipeline.Dispatcher{Discovery: staticDiscovery{[]pipeline.Account{account}, worstRegions(40)}, Blobs: blobs, Clock: wallClock, DefaultRoleName: role}
	runID := strings.Repeat("r", 80)
	res, err := d.Handle(context.Background(), pipeline.RunRequest{RunID: runID, LookbackDays: 454,
		Params: map[string]map[string]float64{"ec2-idle-instance": {"cpuPercent": 3}}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := blobs.Open(context.Background(), res.ManifestKey)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	manifest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return res, bytes.Split(bytes.TrimSpace(manifest), []byte("\n"))
}

// The work items of the worst realistic run stay within MaxWorkItemBytes,
// and so one account's items within the ItemBatcher's
// MaxInputBytesPerBatch (256 KiB).
func TestWorkItemsStaySmall(t *testing.T) {
	t.Parallel()
	// 40 regions × MaxWorkItemBytes fit a batch: the item bound is what
	// keeps one account's regions in one child.
	if 40*pipeline.MaxWorkItemBytes > pipeline.MaxBatchInputBytes || pipeline.MaxBatchRegions < 40 {
		t.Fatalf("40 × %d = %d bytes > MaxInputBytesPerBatch %d", pipeline.MaxWorkItemBytes, 40*pipeline.MaxWorkItemBytes, pipeline.MaxBatchInputBytes)
	}
	res, lines := worstDispatch(t)
	largest := 0
	var items []pipeline.WorkItem
	for _, l := range lines {
		largest = max(largest, len(l))
		var it pipeline.WorkItem
		if err := json.Unmarshal(l, &it); err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	batch, _ := json.Marshal(pipeline.CollectInput{Items: items, ChildStartedAt: ptr(wallClock())})
	t.Logf("largest work item %d bytes; the batch of 40 regions %d bytes", largest, len(batch))
	if len(items) != 40 || len(items[0].Checks) != len(checks.IDs()) || items[0].OptionsKey != pipeline.OptionsKey(res.RunID) ||
		!strings.HasPrefix(items[0].RoleARN, "arn:aws-us-gov:iam::") {
		t.Fatalf("not the worst case: %d items, first %+v", len(items), items[0])
	}
	if largest > pipeline.MaxWorkItemBytes || len(batch) > pipeline.MaxBatchInputBytes {
		t.Fatalf("largest work item %d bytes (bound %d), batch %d bytes (bound %d)", largest, pipeline.MaxWorkItemBytes, len(batch), pipeline.MaxBatchInputBytes)
	}
}

// The dispatcher's task result stays under Step Functions' 256 KiB in the
// worst case (40 regions, every check, an 80-character run ID).
func TestDispatchResultFitsTheTaskResultQuota(t *testing.T) {
	t.Parallel()
	res, _ := worstDispatch(t)
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dispatch result: %d bytes", len(b))
	if len(res.Regions) != 40 || len(res.Checks) != len(checks.IDs()) || len(res.RunID) != 80 {
		t.Fatalf("not the worst case: %s", b)
	}
	if len(b) > pipeline.MaxStatePayloadBytes {
		t.Fatalf("dispatch result of %d bytes, over %d", len(b), pipeline.MaxStatePayloadBytes)
	}
}

func ptr[T any](v T) *T { return &v }

// A work item over MaxWorkItemBytes (an absurd account name) and more regions
// than fit one batch are refused before anything is written.
func TestDispatcherRefusesOversizedBatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		disc  staticDiscovery
		field string
	}{
		{"account name of 5,000 bytes", staticDiscovery{[]pipeline.Account{{ID: "123456789012", Name: strings.Repeat("n", 5000)}}, []string{"us-east-1"}}, "accounts"},
		{"65 regions", staticDiscovery{[]pipeline.Account{{ID: "123456789012"}}, worstRegions(pipeline.MaxBatchRegions + 1)}, "regions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			d := &pipeline.Dispatcher{Discovery: tc.disc, Blobs: store.Dir{Root: dir}, Clock: wallClock}
			_, err := d.Handle(context.Background(), pipeline.RunRequest{Exclusions: []finding.Exclusion{{Regions: []string{"us-east-1"}}}})
			var ir *pipeline.InvalidRequestError
			if !errors.As(err, &ir) || ir.Field != tc.field {
				t.Fatalf("err = %v, want InvalidRequestError on %s", err, tc.field)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a refused run wrote %v", entries)
			}
		})
	}
}

// 1,000 exclusions stay out of the work items: they are written once, to
// the run's options object, which the collector reads and applies (the
// last exclusion suppresses what it matches).
func TestThousandExclusionsInRunOptions(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 1, Accounts: 25})
	dir := t.TempDir()
	var excl []finding.Exclusion
	for i := range 999 {
		excl = append(excl, finding.Exclusion{Resources: []string{fmt.Sprintf("nothing-%04d-*", i)}, Reason: fmt.Sprintf("exclusion %d", i)})
	}
	excl = append(excl, finding.Exclusion{Checks: []string{"rds-idle-instance"}, Tags: map[string]string{"team": "data"}, Reason: "exclusion 999"})
	params := map[string]map[string]float64{"ec2-idle-instance": {"cpuPercent": 5}}
	sum, err := newLocal(t, org, dir, 4).Run(context.Background(), pipeline.RunRequest{RunID: "excl", Exclusions: excl, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, pipeline.ManifestKey("excl")))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.Split(bytes.TrimSpace(manifest), []byte("\n")) {
		if len(l) > 1024 || bytes.Contains(l, []byte("exclusion")) || !bytes.Contains(l, []byte(`"optionsKey":"runs/excl/options.json"`)) {
			t.Fatalf("work item of %d bytes: %.300s", len(l), l)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, pipeline.OptionsKey("excl")))
	if err != nil {
		t.Fatal(err)
	}
	var opts pipeline.RunOptions
	if err := json.Unmarshal(b, &opts); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(pipeline.RunOptions{Params: params, Exclusions: excl}, opts); d != "" {
		t.Fatalf("options object (-want +got):\n%s", d)
	}
	suppressed := 0
	for _, f := range readFindings(t, dir, sum) {
		if f.CheckID == "rds-idle-instance" && f.Tags["team"] == "data" {
			if f.Status != finding.Suppressed || f.SuppressedBy != "configured exclusion #1000: exclusion 999" {
				t.Fatalf("finding matched by exclusion 999: %+v", f)
			}
			suppressed++
		}
	}
	if suppressed == 0 || sum.Suppressed < suppressed {
		t.Fatalf("%d data-team databases suppressed, summary says %d", suppressed, sum.Suppressed)
	}
}

// The Map's MaxConcurrency is the request's (or the default) but never more
// than the collector's reserved concurrency, or without one than the
// account's unreserved concurrency; lowering it is logged.
func TestDispatcherMaxConcurrency(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 2, Accounts: 1})
	for _, tc := range []struct {
		name                 string
		collector, requested int
		capacity             int // the account's unreserved concurrency (-1: no reader, -2: the read fails)
		want                 int
		logged               bool
	}{
		{"unreserved, default", 0, 0, -1, pipeline.DefaultMaxConcurrency, false},
		{"unreserved, requested", 0, 500, -1, 500, false},
		// A new account: a quota of 10, all of it unreserved.
		{"unreserved, a new account's quota", 0, 0, 10, 10, true},
		{"unreserved, a large pool", 0, 0, 900, pipeline.DefaultMaxConcurrency, false},
		{"unreserved, the pool cannot be read", 0, 0, -2, pipeline.DefaultMaxConcurrency, false},
		// A reservation is the cap: the pool is not read.
		{"reserved, pool not read", 30, 100, 5, 30, true},
		{"reserved above the default", 50, 0, -1, pipeline.DefaultMaxConcurrency, false},
		{"reserved below the default", 10, 0, -1, 10, true},
		{"reserved below the request", 30, 100, -1, 30, true},
		{"request below the reservation", 50, 10, -1, 10, false},
		{"request equal to the reservation", 30, 30, -1, 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			d := &pipeline.Dispatcher{Discovery: org, Blobs: store.Dir{Root: t.TempDir()}, Clock: wallClock,
				Logger: slog.New(slog.NewJSONHandler(&log, nil)), CollectorConcurrency: tc.collector}
			switch tc.capacity {
			case -1:
			case -2:
				d.CollectorCapacity = func(context.Context) (int, error) { return 0, errors.New("AccessDenied") }
			default:
				d.CollectorCapacity = func(context.Context) (int, error) { return tc.capacity, nil }
			}
			res, err := d.Handle(context.Background(), pipeline.RunRequest{MaxConcurrency: tc.requested})
			if err != nil {
				t.Fatal(err)
			}
			lowered := strings.Contains(log.String(), "maxConcurrency lowered")
			if res.MaxConcurrency != tc.want || lowered != tc.logged {
				t.Fatalf("MaxConcurrency %d (want %d), logged %v (want %v): %s", res.MaxConcurrency, tc.want, lowered, tc.logged, log.String())
			}
		})
	}
}

// Re-running the aggregator on the same run writes the same files; a chunk
// that went missing fails the run loudly.
func TestAggregatorIdempotentAndLoud(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 8, Accounts: 3})
	dir := t.TempDir()
	blobs := store.Dir{Root: dir}
	col := &collect.Collector{Clients: org, Blobs: blobs, Clock: org.Now, Prices: pricing.Default()}
	accts, _ := org.Accounts(context.Background(), nil)
	var items []pipeline.WorkItem
	for _, a := range accts {
		items = append(items, pipeline.WorkItem{RunID: "agg", AccountID: a.ID, AccountName: a.Name, Region: "us-east-1", Checks: checks.IDs()})
	}
	results, err := col.Handle(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	agg := &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: &store.LocalState{Dir: dir}, Clock: wallClock}
	req := pipeline.AggregateRequest{RunID: "agg", StartedAt: wallClock(), Pairs: results}
	s1, err := agg.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := os.ReadFile(filepath.Join(dir, pipeline.FindingsKey("agg")))
	sum1, _ := os.ReadFile(filepath.Join(dir, pipeline.SummaryKey("agg")))
	// Pairs in another order (a retried Map returns them so) change nothing.
	rev := append([]pipeline.PairResult(nil), results...)
	sort.Slice(rev, func(i, j int) bool { return rev[i].AccountID > rev[j].AccountID })
	s2, err := agg.Handle(context.Background(), pipeline.AggregateRequest{RunID: "agg", StartedAt: wallClock(), Pairs: rev})
	if err != nil {
		t.Fatal(err)
	}
	f2, _ := os.ReadFile(filepath.Join(dir, pipeline.FindingsKey("agg")))
	sum2, _ := os.ReadFile(filepath.Join(dir, pipeline.SummaryKey("agg")))
	if !bytes.Equal(f1, f2) || !bytes.Equal(sum1, sum2) || s1.Findings != s2.Findings || s1.Findings == 0 {
		t.Fatal("re-running the aggregator changed its output")
	}
	if err := os.Remove(filepath.Join(dir, results[0].ChunkKey)); err != nil {
		t.Fatal(err)
	}
	if _, err := agg.Handle(context.Background(), req); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing chunk: err = %v, want ErrNotFound", err)
	}
}

type failingFactory struct{ err error }

func (f failingFactory) Clients(context.Context, pipeline.WorkItem) (checks.Clients, error) {
	if f.err != nil {
		return checks.Clients{}, f.err
	}
	panic("factory bug")
}

func TestCollectorTurnsFailuresIntoStatuses(t *testing.T) {
	t.Parallel()
	item := pipeline.WorkItem{RunID: "r", AccountID: "123456789012", Region: "us-east-1", Checks: []string{"ec2-idle-instance"}}
	for _, tc := range []struct {
		name    string
		col     *collect.Collector
		item    pipeline.WorkItem
		code    string
		timeout time.Duration
	}{
		{"factory error", &collect.Collector{Clients: failingFactory{errors.New("no credentials")}, Clock: wallClock}, item, "Error", 0},
		{"factory panic", &collect.Collector{Clients: failingFactory{}, Clock: wallClock}, item, "Panic", 0},
		{"bad account", &collect.Collector{Clients: failingFactory{errors.New("unreached")}, Clock: wallClock},
			pipeline.WorkItem{RunID: "r", AccountID: "1", Region: "us-east-1"}, "InvalidRequestError", 0},
		{"unknown check", &collect.Collector{Clients: failingFactory{errors.New("unreached")}, Clock: wallClock},
			pipeline.WorkItem{RunID: "r", AccountID: "123456789012", Region: "us-east-1", Checks: []string{"x"}}, "InvalidRequestError", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := tc.col.Scan(context.Background(), tc.item)
			if res.Status != pipeline.PairFailed || len(res.Errors) != 1 || res.Errors[0].Code != tc.code {
				t.Fatalf("result %+v, want failed with %s", res, tc.code)
			}
		})
	}
}

// A collector whose deadline is nearer than its margin starts no check and
// says so, instead of being killed mid-write.
func TestCollectorStopsBeforeDeadline(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 1, Accounts: 1})
	accts, _ := org.Accounts(context.Background(), nil)
	col := &collect.Collector{Clients: org, Blobs: store.Dir{Root: t.TempDir()}, Clock: org.Now, Prices: pricing.Default(), DeadlineMargin: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := col.Scan(ctx, pipeline.WorkItem{RunID: "r", AccountID: accts[0].ID, Region: "us-east-1", Checks: checks.IDs()})
	if res.Status != pipeline.PairFailed || len(res.Errors) != len(checks.IDs()) {
		t.Fatalf("result %+v", res)
	}
	for _, e := range res.Errors {
		if e.Code != "DeadlineExceeded" {
			t.Fatalf("error %+v, want DeadlineExceeded", e)
		}
	}
}

func TestLocalRejectsZeroConcurrency(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 1, Accounts: 1})
	_, err := newLocal(t, org, t.TempDir(), 0).Run(context.Background(), pipeline.RunRequest{})
	var ir *pipeline.InvalidRequestError
	if !errors.As(err, &ir) || ir.Field != "concurrency" {
		t.Fatalf("err = %v", err)
	}
}

// A resource tagged orgscan:ignore=ec2-idle-instance is reported suppressed
// for that check only, and suppressed findings stay out of the totals; a
// configured exclusion suppresses what it matches.
func TestSuppression(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 1, Accounts: 25})
	dir := t.TempDir()
	sum, err := newLocal(t, org, dir, 4).Run(context.Background(), pipeline.RunRequest{
		Exclusions: []finding.Exclusion{{Checks: []string{"rds-idle-instance"}, Tags: map[string]string{"team": "data"}, Reason: "data team keeps its databases"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tagged, otherCheck, excluded, open int
	var openCost float64
	for _, f := range readFindings(t, dir, sum) {
		ignore := f.Tags[finding.IgnoreTag]
		switch {
		case f.CheckID == "ec2-idle-instance" && ignore == "ec2-idle-instance":
			tagged++
			if f.Status != finding.Suppressed || !strings.Contains(f.SuppressedBy, "orgscan:ignore") {
				t.Fatalf("tagged instance not suppressed: %+v", f)
			}
		case ignore != "":
			otherCheck++
			if f.Status != finding.Open {
				t.Fatalf("%s finding suppressed by a tag naming another check: %+v", f.CheckID, f)
			}
		case f.CheckID == "rds-idle-instance":
			excluded++
			if f.Status != finding.Suppressed || !strings.Contains(f.SuppressedBy, "data team") {
				t.Fatalf("excluded DB not suppressed: %+v", f)
			}
		}
		if f.Status == finding.Open {
			open++
			if f.MonthlyCostUSD != nil {
				openCost += *f.MonthlyCostUSD
			}
		}
	}
	if tagged == 0 || otherCheck == 0 || excluded == 0 {
		t.Fatalf("the simulator should tag some idle instances (%d) and other resources (%d), and have data-team DBs (%d)", tagged, otherCheck, excluded)
	}
	if sum.Suppressed != tagged+excluded || sum.Findings != open || math.Abs(sum.MonthlyCostUSD-openCost) > 0.01 {
		t.Fatalf("summary: %d open (want %d), %d suppressed (want %d), $%.2f (want $%.2f)", sum.Findings, open, sum.Suppressed, tagged+excluded, sum.MonthlyCostUSD, openCost)
	}
}

type recordingNotifier struct{ events []pipeline.RunEvent }

func (r *recordingNotifier) Notify(_ context.Context, ev pipeline.RunEvent) error {
	r.events = append(r.events, ev)
	return nil
}

// The run's event names new findings from the threshold up, most expensive
// first, capped; counts match the summary.
func TestRunEvent(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 4, Accounts: 30})
	n := &recordingNotifier{}
	l := newLocal(t, org, t.TempDir(), 4)
	l.Aggregator.Notifier, l.Aggregator.NotifyMinUSD = n, 150
	sum, err := l.Run(context.Background(), pipeline.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.events) != 1 {
		t.Fatalf("%d events", len(n.events))
	}
	ev := n.events[0]
	if ev.RunID != sum.RunID || ev.Findings != sum.Findings || ev.New != sum.New || ev.MonthlyCostUSD != sum.MonthlyCostUSD || ev.MinMonthlyCostUSD != 150 {
		t.Fatalf("event %+v", ev)
	}
	if ev.NewCostlyTotal <= pipeline.MaxEventFindings || len(ev.NewCostly) != pipeline.MaxEventFindings {
		t.Fatalf("new costly: %d listed of %d; want the cap of %d", len(ev.NewCostly), ev.NewCostlyTotal, pipeline.MaxEventFindings)
	}
	for i, f := range ev.NewCostly {
		if *f.MonthlyCostUSD < 150 || (i > 0 && *f.MonthlyCostUSD > *ev.NewCostly[i-1].MonthlyCostUSD) {
			t.Fatalf("finding %d out of place: %v", i, *f.MonthlyCostUSD)
		}
	}
	b, _ := json.Marshal(ev)
	if len(b) > 200*1024 {
		t.Fatalf("event of %d bytes is too close to EventBridge's 256 KB", len(b))
	}
}

// An aggregator killed after writing part of the state, then run again on
// the same run, ends with exactly the state, files and summary of a run that
// was never interrupted.
func TestAggregatorKilledMidwayThenRerun(t *testing.T) {
	t.Parallel()
	org := mustSim(t, sim.Config{Seed: 9, Accounts: 4})
	accts, _ := org.Accounts(context.Background(), nil)
	collect := func(dir string) []pipeline.PairResult {
		col := &collect.Collector{Clients: org, Blobs: store.Dir{Root: dir}, Clock: org.Now, Prices: pricing.Default()}
		var items []pipeline.WorkItem
		for _, a := range accts {
			items = append(items, pipeline.WorkItem{RunID: "kill", AccountID: a.ID, AccountName: a.Name, Region: "us-east-1", Checks: checks.IDs()})
		}
		res, err := col.Handle(context.Background(), items)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	clean, killed := t.TempDir(), t.TempDir()
	req := func(dir string) pipeline.AggregateRequest {
		return pipeline.AggregateRequest{RunID: "kill", StartedAt: wallClock(), Pairs: collect(dir)}
	}
	cleanState := &store.LocalState{Dir: clean}
	want, err := (&pipeline.Aggregator{Blobs: store.Dir{Root: clean}, History: history.Parquet{}, State: cleanState, Clock: wallClock}).Handle(context.Background(), req(clean))
	if err != nil {
		t.Fatal(err)
	}

	killedReq := req(killed)
	crash := &historytest.KilledState{State: &store.LocalState{Dir: killed}, N: 2}
	if _, err := (&pipeline.Aggregator{Blobs: store.Dir{Root: killed}, History: history.Parquet{}, State: crash, Clock: wallClock}).Handle(context.Background(), killedReq); err == nil {
		t.Fatal("the killed aggregator reported success")
	}
	if crash.Calls < 2 {
		t.Fatalf("only %d PutFindings before the kill; the test must interrupt a partly written state", crash.Calls)
	}
	killedState := &store.LocalState{Dir: killed}
	got, err := (&pipeline.Aggregator{Blobs: store.Dir{Root: killed}, History: history.Parquet{}, State: killedState, Clock: wallClock}).Handle(context.Background(), killedReq)
	if err != nil {
		t.Fatal(err)
	}
	// The two collections took different times: the Lambda part of the
	// scan cost, estimated from pair durations, differs.
	timed := cmp.Options{cmpopts.IgnoreFields(pipeline.RunSummary{}, "StateItemsWritten", "ScanCostUSD"),
		cmpopts.IgnoreFields(pipeline.ScanCost{}, "LambdaGBSeconds", "LambdaUSD", "StepFunctionsUSD", "TotalUSD")}
	if d := cmp.Diff(want, got, timed); d != "" {
		t.Fatalf("summary after the re-run differs from an uninterrupted run (-want +got):\n%s", d)
	}
	if want.New == 0 || got.StateItemsWritten >= want.StateItemsWritten {
		t.Fatalf("new=%d; items written: uninterrupted %d, re-run %d (the re-run must skip what the killed one wrote)", want.New, want.StateItemsWritten, got.StateItemsWritten)
	}
	for _, a := range accts {
		w, err := cleanState.AccountFindings(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		g, err := killedState.AccountFindings(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(w, g); d != "" {
			t.Fatalf("account %s state differs (-want +got):\n%s", a.ID, d)
		}
	}
	// summary.json differs only in stateItemsWritten, compared above.
	w, _ := os.ReadFile(filepath.Join(clean, pipeline.FindingsKey("kill")))
	g, _ := os.ReadFile(filepath.Join(killed, pipeline.FindingsKey("kill")))
	if len(w) == 0 || !bytes.Equal(w, g) {
		t.Fatal("findings.jsonl differs after the re-run")
	}
}
