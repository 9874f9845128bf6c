package checks_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// syntheticCheck is a test check: Select returns n candidates (IDs
// "<id>-000"…), each with one query distinct to the check unless shared;
// Evaluate reports every candidate whose metric came back complete.
func syntheticCheck(id string, lookback float64, n int) checks.Check {
	return checks.Check{
		ID: id, Service: "test", ResourceType: "Test::Thing", Category: finding.Idle,
		Description: "synthetic", Actions: []string{"cloudwatch:GetMetricData"}, MissingData: "n/a",
		Params: []checks.Param{{Name: checks.LookbackParam, Default: lookback, Min: 1, Max: 1000, Source: "test"}},
		Select: func(_ context.Context, _ *checks.Inventory, _ checks.Env) ([]checks.Candidate, error) {
			out := make([]checks.Candidate, n)
			for i := range out {
				rid := fmt.Sprintf("%s-%03d", id, i)
				out[i] = checks.Candidate{
					Resource: checks.Resource{Type: "Test::Thing", ID: rid},
					Queries:  map[string]cwbatch.Query{"m": cwbatch.EC2("CPUUtilization", "Average", rid)},
				}
			}
			return out, nil
		},
		Evaluate: func(c checks.Candidate, m cwbatch.Results, _ checks.Env) (*checks.Verdict, error) {
			s, ok := m.Get(c.Queries["m"])
			if !ok || !s.Complete {
				return nil, &checks.MetricsUnavailableError{Query: c.Queries["m"].Key(), Status: "not fetched"}
			}
			return &checks.Verdict{Reason: fmt.Sprintf("%d points", len(s.Values))}, nil
		},
	}
}

// describeOnlyCheck reports n resources without metrics, after running
// during its Select.
func describeOnlyCheck(id string, n int, during func(ctx context.Context, inv *checks.Inventory) error) checks.Check {
	return checks.Check{
		ID: id, Service: "test", ResourceType: "Test::Thing", Category: finding.Unused, Description: "synthetic",
		Select: func(ctx context.Context, inv *checks.Inventory, _ checks.Env) ([]checks.Candidate, error) {
			if during != nil {
				if err := during(ctx, inv); err != nil {
					return nil, err
				}
			}
			out := make([]checks.Candidate, n)
			for i := range out {
				out[i] = checks.Candidate{Resource: checks.Resource{ID: fmt.Sprintf("%s-%d", id, i)}}
			}
			return out, nil
		},
		Evaluate: func(c checks.Candidate, _ cwbatch.Results, _ checks.Env) (*checks.Verdict, error) {
			return &checks.Verdict{Reason: "found " + c.Resource.ID}, nil
		},
	}
}

func judgedIDs(res checks.ScanResult) []string {
	var out []string
	for _, j := range res.Judged {
		out = append(out, j.CheckID+"/"+j.Resource.ID)
	}
	return out
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// everything gives every real check something to find: idle EC2
// instances, an unattached volume, a free address, an idle NAT gateway,
// unused functions and idle DB instances.
func everything(f *fakeAWS, instances, nats, functions, dbs int) {
	for i := range instances {
		idleInstance(f, fmt.Sprintf("i-%03d", i))
	}
	f.volumes = append(f.volumes, volume("vol-1", "gp3", ec2types.VolumeStateAvailable, daysAgo(30), 10, 0, 0))
	f.addresses = append(f.addresses, address("eipalloc-1", "203.0.113.1"))
	for i := range nats {
		idleNAT(f, fmt.Sprintf("nat-%03d", i))
	}
	f.routeTables = append(f.routeTables, routeTable("rtb-1", "nat-000"))
	for i := range functions {
		unusedFunction(f, fmt.Sprintf("fn-%03d", i))
	}
	for i := range dbs {
		idleDB(f, fmt.Sprintf("db-%03d", i))
	}
	// One of each kind the wider catalogue reports.
	f.instances = append(f.instances, stoppedInstance("i-stopped", "t3.micro", daysAgo(40)))
	f.volumes = append(f.volumes, attachedVolume("vol-stopped", "gp2", "i-stopped", 8, 0, 0))
	f.snapshots = append(f.snapshots, ebsSnapshot("snap-1", "vol-gone", 100, daysAgo(200)))
	f.securityGroups = append(f.securityGroups, secGroup("sg-1", "old-web"))
	f.interfaces = append(f.interfaces, netIface("eni-1", ec2types.NetworkInterfaceStatusAvailable))
	idleEndpoint(f, "vpce-1")
	emptyALB(f, "alb-1")
	f.set(albRequests("alb-1"), flat(14, 0))
	f.loadBalancers = append(f.loadBalancers, nlb("nlb-1", daysAgo(400)))
	f.targetGroups = append(f.targetGroups, targetGroup("spare"))
	idleCache(f, "cc-000")
	idleTable(f, "tbl-000")
	f.logGroups = append(f.logGroups, logGroup("/app/big", 0, 10*gibibyte, daysAgo(400)))
}

// coreChecks are the first six checks, whose query counts the tests below
// spell out.
func coreChecks() []checks.Check {
	return []checks.Check{checks.EC2IdleInstance, checks.EBSUnattachedVolume, checks.EC2UnassociatedEIP,
		checks.VPCIdleNATGateway, checks.LambdaUnusedFunction, checks.RDSIdleInstance}
}

func TestScanAllChecksWalkEachAPIOnce(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	everything(f, 3, 2, 2, 2)
	// Another check reading instances and volumes again must not cost a call.
	rereader := describeOnlyCheck("rereader", 0, func(ctx context.Context, inv *checks.Inventory) error {
		if _, err := inv.Instances(ctx); err != nil {
			return err
		}
		_, err := inv.Volumes(ctx)
		return err
	})
	res := scan(t, f, priced, append(checks.All(), rereader), nil)
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	// Every API the registry's checks declare, called exactly once (the
	// per-resource ones once per resource: one target group, one table).
	want := map[string]int{}
	for _, a := range checks.Actions(checks.All()) {
		want[a] = 1
	}
	if diff := cmp.Diff(want, f.Calls()); diff != "" {
		t.Errorf("fake calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, res.Calls); diff != "" {
		t.Errorf("ScanResult.Calls (-want +got):\n%s", diff)
	}
	core := []string{
		"ec2-idle-instance/i-000", "ec2-idle-instance/i-001", "ec2-idle-instance/i-002",
		"ebs-unattached-volume/vol-1", "ec2-unassociated-eip/eipalloc-1",
		"vpc-idle-nat-gateway/nat-000", "vpc-idle-nat-gateway/nat-001",
		"lambda-unused-function/fn-000", "lambda-unused-function/fn-001",
		"rds-idle-instance/db-000", "rds-idle-instance/db-001",
	}
	got := judgedIDs(res)
	if diff := cmp.Diff(core, got[:min(len(core), len(got))]); diff != "" {
		t.Errorf("judged (-want +got):\n%s", diff)
	}
	per := map[string]int{}
	for _, j := range res.Judged {
		per[j.CheckID]++
	}
	for _, id := range checks.IDs() {
		if per[id] == 0 {
			t.Errorf("%s judged nothing", id)
		}
	}
	if res.Selected != len(checks.All())+1 {
		t.Errorf("selected %d checks, want all %d and the rereader", res.Selected, len(checks.All())+1)
	}
	// Every metric of every check of the pair in one GetMetricData call.
	if res.Metrics.Calls != 1 || res.Metrics.Incomplete != 0 || res.Metrics.Queries < 19 {
		t.Errorf("metric stats %+v", res.Metrics)
	}
}

func TestScanMergesMetricQueriesOfAllChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		checks      []checks.Check
		wantCalls   int
		wantQueries []int
		wantJudged  int
	}{
		{
			name:        "three checks of 200 distinct queries: 600 in two calls",
			checks:      []checks.Check{syntheticCheck("a", 7, 200), syntheticCheck("b", 14, 200), syntheticCheck("c", 30, 200)},
			wantCalls:   2,
			wantQueries: []int{500, 100},
			wantJudged:  600,
		},
		{
			name:        "exactly 500 queries: one call",
			checks:      []checks.Check{syntheticCheck("a", 7, 250), syntheticCheck("b", 14, 250)},
			wantCalls:   1,
			wantQueries: []int{500},
			wantJudged:  500,
		},
		{
			name:        "501 queries: two calls",
			checks:      []checks.Check{syntheticCheck("a", 7, 250), syntheticCheck("b", 14, 251)},
			wantCalls:   2,
			wantQueries: []int{500, 1},
			wantJudged:  501,
		},
		{
			// Same ID, so the same queries: fetched (and paid for) once.
			name:        "two checks asking for the same 300 metrics: one call of 300",
			checks:      []checks.Check{syntheticCheck("a", 7, 300), func() checks.Check { c := syntheticCheck("a", 14, 300); c.ID = "a2"; return c }()},
			wantCalls:   1,
			wantQueries: []int{300},
			wantJudged:  600,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeAWS{}
			res := scan(t, f, priced, tc.checks, nil)
			if len(res.Errors) != 0 {
				t.Fatalf("errors: %+v", res.Errors)
			}
			if got := f.count(opGetMetricData); got != tc.wantCalls {
				t.Errorf("GetMetricData calls = %d, want %d", got, tc.wantCalls)
			}
			if diff := cmp.Diff(tc.wantQueries, f.gmdQueries); diff != "" {
				t.Errorf("queries per call (-want +got):\n%s", diff)
			}
			var distinct int
			for _, q := range tc.wantQueries {
				distinct += q
			}
			if res.Metrics.Calls != tc.wantCalls || res.Metrics.Queries != distinct || res.Calls[opGetMetricData] != tc.wantCalls {
				t.Errorf("stats %+v, calls %v", res.Metrics, res.Calls)
			}
			if len(res.Judged) != tc.wantJudged {
				t.Errorf("judged %d, want %d", len(res.Judged), tc.wantJudged)
			}
		})
	}
}

func TestScanRealChecksFetchInCeilQueriesOver500(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                            string
		instances, nats, functions, dbs int
		wantDistinct                    int
	}{
		{"small pair", 2, 1, 1, 1, 2*3 + 3 + 1 + 1},
		{"exactly 500", 100, 50, 30, 20, 300 + 150 + 30 + 20},
		{"840 queries", 200, 30, 100, 50, 600 + 90 + 100 + 50},
		{"1201 queries", 300, 67, 0, 0, 900 + 201 + 0 + 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeAWS{}
			everything(f, tc.instances, tc.nats, tc.functions, tc.dbs)
			res := scan(t, f, priced, coreChecks(), nil)
			if len(res.Errors) != 0 {
				t.Fatalf("errors: %+v", res.Errors)
			}
			distinct := len(f.requestedKeys())
			if distinct != tc.wantDistinct || res.Metrics.Queries != distinct {
				t.Fatalf("distinct queries: fake saw %d, stats %d, want %d", distinct, res.Metrics.Queries, tc.wantDistinct)
			}
			want := ceilDiv(distinct, cwbatch.MaxQueriesPerCall)
			if got := f.count(opGetMetricData); got != want || res.Metrics.Calls != want || cwbatch.Calls(distinct) != want {
				t.Errorf("GetMetricData calls: fake %d, stats %d; want ⌈%d/500⌉ = %d", got, res.Metrics.Calls, distinct, want)
			}
			for _, n := range f.gmdQueries[:len(f.gmdQueries)-1] {
				if n != cwbatch.MaxQueriesPerCall {
					t.Errorf("queries per call %v: every call but the last must be full", f.gmdQueries)
				}
			}
			if wantJudged := tc.instances + 1 + 1 + tc.nats + tc.functions + tc.dbs; len(res.Judged) != wantJudged {
				t.Errorf("judged %d, want %d", len(res.Judged), wantJudged)
			}
			if diff := cmp.Diff(f.Calls(), res.Calls); diff != "" {
				t.Errorf("ScanResult.Calls disagrees with the fake (-fake +scan):\n%s", diff)
			}
		})
	}
}

func TestScanRecoversPanicsPerCheck(t *testing.T) {
	t.Parallel()
	selectPanics := describeOnlyCheck("select-panics", 1, func(context.Context, *checks.Inventory) error { panic("select boom") })
	evalPanics := describeOnlyCheck("eval-panics", 2, nil)
	evalPanics.Evaluate = func(c checks.Candidate, _ cwbatch.Results, _ checks.Env) (*checks.Verdict, error) {
		var none []string
		return &checks.Verdict{Reason: none[len(c.Resource.ID)]}, nil // a runtime panic, not a string
	}
	metricPanics := syntheticCheck("metric-panics", 14, 1)
	metricPanics.Evaluate = func(c checks.Candidate, _ cwbatch.Results, _ checks.Env) (*checks.Verdict, error) {
		panic(fmt.Errorf("bad %s", c.Resource.ID))
	}
	f := &fakeAWS{}
	everything(f, 1, 0, 0, 0)
	cs := []checks.Check{selectPanics, checks.EBSUnattachedVolume, evalPanics, checks.EC2IdleInstance, metricPanics, checks.EC2UnassociatedEIP}
	res := scan(t, f, priced, cs, nil)
	want := []checks.CheckError{
		{Check: "select-panics", Code: "Panic", Message: "check panicked: select boom", Count: 1},
		{Check: "eval-panics", Code: "Panic", Message: "check panicked: runtime error: index out of range [13] with length 0", Count: 2},
		{Check: "metric-panics", Code: "Panic", Message: "check panicked: bad metric-panics-000", Count: 1},
	}
	if diff := cmp.Diff(want, res.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	wantIDs := []string{"ebs-unattached-volume/vol-1", "ec2-idle-instance/i-000", "ec2-unassociated-eip/eipalloc-1"}
	if diff := cmp.Diff(wantIDs, judgedIDs(res)); diff != "" {
		t.Errorf("judged (-want +got):\n%s", diff)
	}
	if res.Selected != 5 {
		t.Errorf("selected = %d, want 5 (all but the panicking Select)", res.Selected)
	}
}

func TestScanSelectErrorCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"AccessDenied API error", &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}, "AccessDenied", "api error AccessDenied: no"},
		{"wrapped API error", fmt.Errorf("listing things: %w", &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "no"}),
			"UnauthorizedOperation", "listing things: api error UnauthorizedOperation: no"},
		{"SDK operation error", &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeVolumes",
			Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "You are not authorized"}}, "AccessDenied", "ec2:DescribeVolumes: You are not authorized"},
		{"plain error", errors.New("kaput"), "Error", "kaput"},
		{"no client", fmt.Errorf("x: %w", checks.ErrNoClient), "NoClient", "x: " + checks.ErrNoClient.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			failing := describeOnlyCheck("failing", 1, func(context.Context, *checks.Inventory) error { return tc.err })
			f := &fakeAWS{}
			everything(f, 0, 0, 0, 0)
			res := scan(t, f, priced, []checks.Check{failing, checks.EBSUnattachedVolume}, nil)
			want := []checks.CheckError{{Check: "failing", Code: tc.wantCode, Message: tc.wantMsg, Count: 1}}
			if diff := cmp.Diff(want, res.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"ebs-unattached-volume/vol-1"}, judgedIDs(res)); diff != "" {
				t.Errorf("judged (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanMetricFetchFailure(t *testing.T) {
	t.Parallel()
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	f := &fakeAWS{errs: map[string]error{opGetMetricData: throttled}}
	everything(f, 2, 1, 1, 1) // 6 + 3 + 1 + 1 = 11 queries
	res := scan(t, f, priced, coreChecks(), nil)
	msg := "GetMetricData (queries 1-11 of 11): api error ThrottlingException: Rate exceeded"
	want := []checks.CheckError{
		{Check: "ec2-idle-instance", Code: "ThrottlingException", Message: msg, Count: 2},
		{Check: "vpc-idle-nat-gateway", Code: "ThrottlingException", Message: msg, Count: 1},
		{Check: "lambda-unused-function", Code: "ThrottlingException", Message: msg, Count: 1},
		{Check: "rds-idle-instance", Code: "ThrottlingException", Message: msg, Count: 1},
	}
	if diff := cmp.Diff(want, res.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	wantIDs := []string{"ebs-unattached-volume/vol-1", "ec2-unassociated-eip/eipalloc-1"}
	if diff := cmp.Diff(wantIDs, judgedIDs(res)); diff != "" {
		t.Errorf("judged (-want +got):\n%s", diff)
	}
	if n := f.count(opGetMetricData); n != 1 {
		t.Errorf("GetMetricData calls = %d, want 1 (no retry here)", n)
	}
}

// TestScanMetricFetchFailsOnSecondBatch: the first batch's candidates are
// judged; those whose queries fell in the failed batch report the error.
func TestScanMetricFetchFailsOnSecondBatch(t *testing.T) {
	t.Parallel()
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	f := &fakeAWS{errs: map[string]error{opGetMetricData: throttled}, errAfter: map[string]int{opGetMetricData: 1}}
	everything(f, 200, 0, 1, 0)
	res := scan(t, f, priced, []checks.Check{checks.EC2IdleInstance, checks.LambdaUnusedFunction}, nil)
	// Sorted by key, the first 500 queries are the 200 CPU, 200 NetworkIn
	// and the first 100 NetworkOut queries: instances i-000..i-099 are
	// complete; the others and the function fall in the failed batch.
	msg := "GetMetricData (queries 501-601 of 601): api error ThrottlingException: Rate exceeded"
	want := []checks.CheckError{
		{Check: "ec2-idle-instance", Code: "ThrottlingException", Message: msg, Count: 100},
		{Check: "lambda-unused-function", Code: "ThrottlingException", Message: msg, Count: 1},
	}
	if diff := cmp.Diff(want, res.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	var wantIDs []string
	for i := range 100 {
		wantIDs = append(wantIDs, fmt.Sprintf("ec2-idle-instance/i-%03d", i))
	}
	if diff := cmp.Diff(wantIDs, judgedIDs(res)); diff != "" {
		t.Errorf("judged (-want +got):\n%s", diff)
	}
}

func TestScanWithoutCloudWatchClient(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	everything(f, 1, 0, 1, 0)
	in := scanInput(t, f, priced, []checks.Check{checks.EC2IdleInstance, checks.EBSUnattachedVolume, checks.LambdaUnusedFunction}, nil)
	in.Clients.CloudWatch = nil
	res := checks.Scan(context.Background(), in)
	msg := "cloudwatch:GetMetricData: " + checks.ErrNoClient.Error()
	want := []checks.CheckError{
		{Check: "ec2-idle-instance", Code: "NoClient", Message: msg, Count: 1},
		{Check: "lambda-unused-function", Code: "NoClient", Message: msg, Count: 1},
	}
	if diff := cmp.Diff(want, res.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ebs-unattached-volume/vol-1"}, judgedIDs(res)); diff != "" {
		t.Errorf("judged (-want +got):\n%s", diff)
	}
}

func TestScanInvalidWindow(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	res := scan(t, f, priced, []checks.Check{syntheticCheck("ancient", 600, 2)}, nil)
	if len(res.Errors) != 1 || res.Errors[0].Code != "InvalidWindow" || res.Errors[0].Count != 2 {
		t.Errorf("errors %+v, want one InvalidWindow for 2 candidates", res.Errors)
	}
	if n := f.count(opGetMetricData); n != 0 {
		t.Errorf("GetMetricData called %d times for an invalid window", n)
	}
}

func TestScanStopsOnDoneContext(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		wantCode string
		wantMsg  string
	}{
		{"cancelled", cancelled, "Canceled", "context canceled"},
		{"deadline passed", expired, "DeadlineExceeded", "context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeAWS{}
			everything(f, 1, 1, 1, 1)
			res := checks.Scan(tc.ctx, scanInput(t, f, priced, checks.All(), nil))
			var want []checks.CheckError
			for _, id := range checks.IDs() {
				want = append(want, checks.CheckError{Check: id, Code: tc.wantCode, Message: tc.wantMsg, Count: 1})
			}
			if diff := cmp.Diff(want, res.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if len(res.Judged) != 0 || res.Selected != 0 {
				t.Errorf("judged %v, selected %d after a done context", res.Judged, res.Selected)
			}
			if calls := f.Calls(); len(calls) != 0 {
				t.Errorf("AWS called after the context was done: %v", calls)
			}
		})
	}
}

func TestScanCancelledMidway(t *testing.T) {
	t.Parallel()
	t.Run("remaining checks are not started", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		canceller := describeOnlyCheck("canceller", 1, func(context.Context, *checks.Inventory) error { cancel(); return nil })
		f := &fakeAWS{}
		everything(f, 0, 0, 0, 0)
		res := checks.Scan(ctx, scanInput(t, f, priced, []checks.Check{canceller, checks.EBSUnattachedVolume, checks.EC2UnassociatedEIP}, nil))
		want := []checks.CheckError{
			{Check: "ebs-unattached-volume", Code: "Canceled", Message: "context canceled", Count: 1},
			{Check: "ec2-unassociated-eip", Code: "Canceled", Message: "context canceled", Count: 1},
		}
		if diff := cmp.Diff(want, res.Errors); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		// What was selected before the cancellation is still judged.
		if diff := cmp.Diff([]string{"canceller/canceller-0"}, judgedIDs(res)); diff != "" {
			t.Errorf("judged (-want +got):\n%s", diff)
		}
		if res.Selected != 1 || len(f.Calls()) != 0 {
			t.Errorf("selected %d, calls %v", res.Selected, f.Calls())
		}
	})
	t.Run("metric fetch after cancellation", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cancelling := syntheticCheck("cancelling", 14, 2)
		sel := cancelling.Select
		cancelling.Select = func(ctx context.Context, inv *checks.Inventory, env checks.Env) ([]checks.Candidate, error) {
			cancel()
			return sel(ctx, inv, env)
		}
		f := &fakeAWS{}
		res := checks.Scan(ctx, scanInput(t, f, priced, []checks.Check{cancelling, checks.EBSUnattachedVolume}, nil))
		want := []checks.CheckError{
			{Check: "cancelling", Code: "Canceled", Message: "GetMetricData (queries 1-2 of 2): context canceled", Count: 2},
			{Check: "ebs-unattached-volume", Code: "Canceled", Message: "context canceled", Count: 1},
		}
		if diff := cmp.Diff(want, res.Errors); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		if len(res.Judged) != 0 {
			t.Errorf("judged %v", res.Judged)
		}
	})
}

func TestScanMergedWindowIsTheLongestLookbackWithCandidates(t *testing.T) {
	t.Parallel()
	withQueriesButNone := syntheticCheck("none", 60, 0)
	noQueries := describeOnlyCheck("no-queries", 3, nil)
	noQueries.Params = []checks.Param{{Name: checks.LookbackParam, Default: 40, Min: 1, Max: 454, Source: "test"}}
	for _, tc := range []struct {
		name     string
		checks   []checks.Check
		lookback int // Configure's global lookback; 0 keeps each check's own
		setup    func(f *fakeAWS)
		wantDays int
	}{
		{
			name:     "synthetic: 7 and 21 with candidates, 40 without queries, 60 without candidates",
			checks:   []checks.Check{syntheticCheck("a", 7, 2), syntheticCheck("b", 21, 2), noQueries, withQueriesButNone},
			setup:    func(*fakeAWS) {},
			wantDays: 21,
		},
		{
			name:   "real: EC2 (14) and Lambda (30) with candidates, NAT (32) without",
			checks: checks.All(),
			setup: func(f *fakeAWS) {
				idleInstance(f, "i-1")
				unusedFunction(f, "fn-1")
			},
			wantDays: 30,
		},
		{
			name:   "real: the NAT gateway's 32 days when it has a candidate",
			checks: checks.All(),
			setup: func(f *fakeAWS) {
				idleInstance(f, "i-1")
				idleNAT(f, "nat-1")
			},
			wantDays: 32,
		},
		{
			name:   "real: a global lookback applies to every check",
			checks: checks.All(),
			setup: func(f *fakeAWS) {
				idleInstance(f, "i-1")
				unusedFunction(f, "fn-1")
				idleNAT(f, "nat-1")
			},
			lookback: 10,
			wantDays: 10,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeAWS{}
			tc.setup(f)
			cfg, err := checks.Configure(tc.checks, nil, tc.lookback)
			if err != nil {
				t.Fatal(err)
			}
			res := checks.Scan(context.Background(), checks.ScanInput{AccountID: account, Region: priced, Now: now, Clients: f.clients(), Checks: cfg, Prices: pricing.Default()})
			if len(res.Errors) != 0 {
				t.Fatalf("errors: %+v", res.Errors)
			}
			want := []cwbatch.Window{{Start: midnight.AddDate(0, 0, -tc.wantDays), End: midnight, Period: cwbatch.Day}}
			if diff := cmp.Diff(want, f.gmdWindows, cmp.AllowUnexported(cwbatch.Window{})); diff != "" {
				t.Errorf("GetMetricData window (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScanShorterCheckIgnoresOlderPointsOfTheMergedWindow: Lambda widens the
// fetch to 30 days; the EC2 check still judges only its own 14.
func TestScanShorterCheckIgnoresOlderPointsOfTheMergedWindow(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	unusedFunction(f, "fn-1")
	running := ec2types.InstanceStateNameRunning
	// Busy 20 days ago (outside 14 days): idle. Busy 10 days ago: not.
	f.instances = []ec2types.Instance{instance("i-old-busy", "t3.micro", running, daysAgo(100)), instance("i-recent-busy", "t3.micro", running, daysAgo(100))}
	ec2Metrics(f, "i-old-busy", with(30, 1, 10, 90), flat(30, 0), with(30, 0, 10, 900e6))
	ec2Metrics(f, "i-recent-busy", with(30, 1, 20, 90), flat(30, 0), flat(30, 0))
	res := scan(t, f, priced, []checks.Check{checks.EC2IdleInstance, checks.LambdaUnusedFunction}, nil)
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	if diff := cmp.Diff([]string{"ec2-idle-instance/i-old-busy", "lambda-unused-function/fn-1"}, judgedIDs(res)); diff != "" {
		t.Errorf("judged (-want +got):\n%s", diff)
	}
	want := map[string]float64{"maxDailyCpuPercent": 1, "maxDailyNetworkMB": 0, "lookbackDays": 14}
	if diff := cmp.Diff(want, res.Judged[0].Verdict.Evidence); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	if got := f.gmdWindows[0].Days(); got != 30 {
		t.Errorf("fetched %d days, want 30", got)
	}
}

func TestScanResultIdentity(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	idleInstance(f, "i-1")
	res := checks.Scan(context.Background(), scanInput(t, f, "us-gov-west-1", []checks.Check{checks.EC2IdleInstance}, nil))
	if len(res.Judged) != 1 {
		t.Fatalf("judged %+v, errors %+v", res.Judged, res.Errors)
	}
	if got, want := res.Judged[0].Resource.ARN, "arn:aws-us-gov:ec2:us-gov-west-1:111122223333:instance/i-1"; got != want {
		t.Errorf("ARN %s, want %s", got, want)
	}
	res = checks.Scan(context.Background(), scanInput(t, f, "cn-north-1", []checks.Check{checks.EC2IdleInstance}, nil))
	if got, want := res.Judged[0].Resource.ARN, "arn:aws-cn:ec2:cn-north-1:111122223333:instance/i-1"; got != want {
		t.Errorf("ARN %s, want %s", got, want)
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"API error", &smithy.GenericAPIError{Code: "Throttling"}, "Throttling"},
		{"wrapped API error", fmt.Errorf("a: %w", &smithy.OperationError{Err: &smithy.GenericAPIError{Code: "AccessDenied"}}), "AccessDenied"},
		{"deadline", fmt.Errorf("a: %w", context.DeadlineExceeded), "DeadlineExceeded"},
		{"canceled", fmt.Errorf("a: %w", context.Canceled), "Canceled"},
		{"metrics unavailable", fmt.Errorf("a: %w", &checks.MetricsUnavailableError{Query: "q", Status: "PartialData"}), "MetricsUnavailable"},
		{"panic", &checks.PanicError{Value: "x"}, "Panic"},
		{"window", &cwbatch.WindowError{Days: 900}, "InvalidWindow"},
		{"no client", fmt.Errorf("a: %w", checks.ErrNoClient), "NoClient"},
		{"other", errors.New("x"), "Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := checks.Code(tc.err); got != tc.want {
				t.Errorf("Code(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	mu := &checks.MetricsUnavailableError{Query: "AWS/EC2|CPUUtilization|Average|InstanceId=i-1", Status: "PartialData"}
	if got, want := mu.Error(), "metric AWS/EC2|CPUUtilization|Average|InstanceId=i-1 unavailable (PartialData)"; got != want {
		t.Errorf("MetricsUnavailableError = %q, want %q", got, want)
	}
	pe := &checks.PanicError{Value: 42}
	if got, want := pe.Error(), "check panicked: 42"; got != want {
		t.Errorf("PanicError = %q, want %q", got, want)
	}
}

// TestScanCountsFailedMetricRequests: the Inventory counts a failed
// Describe request in Calls, but a failed GetMetricData request is missing
// from ScanResult.Calls because cwbatch.Fetch counts a page only after it
// succeeded.
func TestScanCountsFailedMetricRequests(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{errs: map[string]error{opGetMetricData: accessDenied(), opDescribeVolumes: accessDenied()}}
	idleInstance(f, "i-1")
	res := scan(t, f, priced, []checks.Check{checks.EC2IdleInstance, checks.EBSUnattachedVolume}, nil)
	if diff := cmp.Diff(f.Calls(), res.Calls); diff != "" {
		t.Errorf("ScanResult.Calls disagrees with the requests made (-fake +scan):\n%s", diff)
	}
}
