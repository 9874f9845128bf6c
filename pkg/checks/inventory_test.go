package checks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
)

// accessor is one memoised Describe/List of the Inventory.
type accessor struct {
	op     string
	prefix string // of the IDs fill makes
	max    int32  // page size the Inventory must ask for; 0 when not paginated
	fill   func(f *fakeAWS, n int)
	get    func(ctx context.Context, inv *checks.Inventory) ([]string, error)
}

func ids(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

func collect[T any](xs []T, err error, id func(T) string) ([]string, error) {
	if xs == nil {
		return nil, err
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out, err
}

var accessors = []accessor{
	{
		op: opDescribeInstances, max: 1000, prefix: "i",
		fill: func(f *fakeAWS, n int) {
			for _, id := range ids(n, "i") {
				f.instances = append(f.instances, instance(id, "t3.micro", ec2types.InstanceStateNameRunning, daysAgo(100)))
			}
		},
		get: func(ctx context.Context, inv *checks.Inventory) ([]string, error) {
			xs, err := inv.Instances(ctx)
			return collect(xs, err, func(x ec2types.Instance) string { return aws.ToString(x.InstanceId) })
		},
	},
	{
		op: opDescribeVolumes, max: 500, prefix: "vol",
		fill: func(f *fakeAWS, n int) {
			for _, id := range ids(n, "vol") {
				f.volumes = append(f.volumes, volume(id, "gp3", ec2types.VolumeStateAvailable, daysAgo(30), 10, 0, 0))
			}
		},
		get: func(ctx context.Context, inv *checks.Inventory) ([]string, error) {
			xs, err := inv.Volumes(ctx)
			return collect(xs, err, func(x ec2types.Volume) string { return aws.ToString(x.VolumeId) })
		},
	},
	{
		op: opDescribeAddresses, max: 0, prefix: "eipalloc",
		fill: func(f *fakeAWS, n int) {
			for _, id := range ids(n, "eipalloc") {
				f.addresses = append(f.addresses, address(id, "203.0.113.1"))
			}
		},
		get: func(ctx context.Context, inv *checks.Inventory) ([]string, error) {
			xs, err := inv.Addresses(ctx)
			return collect(xs, err, func(x ec2types.Address) string { return aws.ToString(x.AllocationId) })
		},
	},
	{
		op: opDescribeNatGateways, max: 1000, prefix: "nat",
		fill: func(f *fakeAWS, n int) {
			for _, id := range ids(n, "nat") {
				f.natGateways = append(f.natGateways, natGateway(id, ec2types.NatGatewayStateAvailable, daysAgo(100)))
			}
		},
		get: func(ctx context.Context, inv *checks.Inventory) ([]string, error) {
			xs, err := inv.NATGateways(ctx)
			return collect(xs, err, func(x ec2types.NatGateway) string { return aws.ToString(x.NatGatewayId) })
		},
	},
	{
		op: opDescribeRouteTables, max: 100, prefix: "rtb",
		fill: func(f *fakeAWS, n int) {
			for _, id := range ids(n, "rtb") {
				f.routeTables = append(f.routeTables, routeTable(id))
			}
		},
		get: func(ctx context.Context, inv *checks.Inventory) ([]string, error) {
			xs, err := inv.RouteTables(ctx)
			return collect(xs, err, func(x ec2types.RouteTable) string { return aws.ToString(x.RouteTableId) })
		},
	},
	{
		op: opListFunctions, max: 50, prefix: "fn",
		fill: func(f *fakeAWS, n int) {
			for _, id := range ids(n, "fn") {
				f.functions = append(f.functions, function(id, lambdaTime(daysAgo(100))))
			}
		},
		get: func(ctx context.Context, inv *checks.Inventory) ([]string, error) {
			xs, err := inv.Functions(ctx)
			return collect(xs, err, func(x lambdatypes.FunctionConfiguration) string { return aws.ToString(x.FunctionName) })
		},
	},
	{
		op: opDescribeDBInstances, max: 100, prefix: "db",
		fill: func(f *fakeAWS, n int) {
			for _, id := range ids(n, "db") {
				f.dbInstances = append(f.dbInstances, dbInstance(id, "db.t3.micro", "mysql", "available", daysAgo(100), 20, false))
			}
		},
		get: func(ctx context.Context, inv *checks.Inventory) ([]string, error) {
			xs, err := inv.DBInstances(ctx)
			return collect(xs, err, func(x rdstypes.DBInstance) string { return aws.ToString(x.DBInstanceIdentifier) })
		},
	},
}

// TestInventoryConcurrentCallersShareOneWalk has many goroutines call every
// accessor at once: each API is walked exactly once, over several pages, and
// every caller sees the whole list in order.
func TestInventoryConcurrentCallersShareOneWalk(t *testing.T) {
	t.Parallel()
	const items, pageSize, callers = 11, 3, 32
	f := &fakeAWS{pageSize: pageSize}
	for _, a := range accessors {
		a.fill(f, items)
	}
	inv := checks.NewInventory(f.clients())

	type result struct {
		ids []string
		err error
	}
	results := make([][]result, len(accessors))
	for i := range results {
		results[i] = make([]result, callers)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for c := range callers {
		for i, a := range accessors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got, err := a.get(context.Background(), inv)
				results[i][c] = result{got, err}
			}()
		}
	}
	close(start)
	wg.Wait()

	wantCalls := map[string]int{}
	for i, a := range accessors {
		t.Run(a.op, func(t *testing.T) {
			for c, r := range results[i] {
				if r.err != nil {
					t.Fatalf("caller %d: %v", c, r.err)
				}
				if len(r.ids) != items {
					t.Fatalf("caller %d got %d items, want %d (all pages)", c, len(r.ids), items)
				}
				if diff := cmp.Diff(results[i][0].ids, r.ids); diff != "" {
					t.Fatalf("caller %d saw another list (-first +this):\n%s", c, diff)
				}
			}
		})
		pages := (items + pageSize - 1) / pageSize
		if a.max == 0 {
			pages = 1 // DescribeAddresses is not paginated
		}
		wantCalls[a.op] = pages
	}
	if diff := cmp.Diff(wantCalls, f.Calls()); diff != "" {
		t.Errorf("requests per operation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(f.Calls(), inv.Calls()); diff != "" {
		t.Errorf("Inventory.Calls disagrees with the fake (-fake +inventory):\n%s", diff)
	}
}

func TestInventoryReturnsEveryPageInOrder(t *testing.T) {
	t.Parallel()
	for _, a := range accessors {
		t.Run(a.op, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct{ items, pageSize int }{{0, 2}, {1, 2}, {2, 2}, {5, 2}, {7, 1}, {25, 0}} {
				f := &fakeAWS{pageSize: tc.pageSize}
				a.fill(f, tc.items)
				got, err := a.get(context.Background(), checks.NewInventory(f.clients()))
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				if tc.items > 0 {
					want = ids(tc.items, a.prefix)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%d items at %d a page (-want +got):\n%s", tc.items, tc.pageSize, diff)
				}
				pages := 1
				if a.max > 0 && tc.pageSize > 0 && tc.items > tc.pageSize {
					pages = (tc.items + tc.pageSize - 1) / tc.pageSize
				}
				if n := f.count(a.op); n != pages {
					t.Errorf("%d items at %d a page: %d requests, want %d", tc.items, tc.pageSize, n, pages)
				}
			}
		})
	}
}

// TestInventoryAsksForTheLargestPage asserts the page size every request of
// a paginated API carries.
func TestInventoryAsksForTheLargestPage(t *testing.T) {
	t.Parallel()
	for _, a := range accessors {
		t.Run(a.op, func(t *testing.T) {
			t.Parallel()
			f := &fakeAWS{pageSize: 4}
			a.fill(f, 10)
			if _, err := a.get(context.Background(), checks.NewInventory(f.clients())); err != nil {
				t.Fatal(err)
			}
			var want []int32
			if a.max > 0 {
				want = []int32{a.max, a.max, a.max}
			}
			if diff := cmp.Diff(want, f.askedPageSizes(a.op)); diff != "" {
				t.Errorf("page sizes asked (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInventoryMemoisesErrors(t *testing.T) {
	t.Parallel()
	for _, a := range accessors {
		for _, tc := range []struct {
			name      string
			goodPages int // pages served before the failure
		}{{"first page fails", 0}, {"second page fails", 1}} {
			if a.max == 0 && tc.goodPages > 0 {
				continue // one page only
			}
			t.Run(a.op+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				boom := accessDenied()
				f := &fakeAWS{pageSize: 2, errs: map[string]error{a.op: boom}, errAfter: map[string]int{a.op: tc.goodPages}}
				a.fill(f, 5)
				inv := checks.NewInventory(f.clients())
				got1, err1 := a.get(context.Background(), inv)
				got2, err2 := a.get(context.Background(), inv)
				if !errors.Is(err1, boom) || err1 != err2 {
					t.Fatalf("errors %v / %v, want the injected error twice", err1, err2)
				}
				if got1 != nil || got2 != nil {
					t.Errorf("partial results %v / %v alongside an error", got1, got2)
				}
				if n := f.count(a.op); n != tc.goodPages+1 {
					t.Errorf("%d requests, want %d (no retry, no second walk)", n, tc.goodPages+1)
				}
				if diff := cmp.Diff(map[string]int{a.op: tc.goodPages + 1}, inv.Calls()); diff != "" {
					t.Errorf("Inventory.Calls (-want +got):\n%s", diff)
				}
				if checks.Code(err1) != "AccessDenied" {
					t.Errorf("Code = %q", checks.Code(err1))
				}
			})
		}
	}
}

// TestInventoryFirstCallersContextIsUsed documents the contract: the walk
// runs under the first caller's context and its outcome is shared.
func TestInventoryFirstCallersContextIsUsed(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	accessors[0].fill(f, 3)
	inv := checks.NewInventory(f.clients())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := accessors[0].get(ctx, inv); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled first call: %v", err)
	}
	if _, err := accessors[0].get(context.Background(), inv); !errors.Is(err, context.Canceled) {
		t.Fatalf("second call: %v, want the memoised context.Canceled", err)
	}
	if n := f.count(accessors[0].op); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestInventoryWithoutClients(t *testing.T) {
	t.Parallel()
	inv := checks.NewInventory(checks.Clients{})
	for _, a := range accessors {
		t.Run(a.op, func(t *testing.T) {
			t.Parallel()
			got, err := a.get(context.Background(), inv)
			if !errors.Is(err, checks.ErrNoClient) {
				t.Fatalf("err = %v, want ErrNoClient", err)
			}
			if got != nil {
				t.Errorf("got %v alongside the error", got)
			}
			if !strings.HasPrefix(err.Error(), a.op+": ") {
				t.Errorf("error %q does not name %s", err, a.op)
			}
			if checks.Code(err) != "NoClient" {
				t.Errorf("Code = %q, want NoClient", checks.Code(err))
			}
		})
	}
	if n := len(inv.Calls()); n != 0 {
		t.Errorf("calls counted without clients: %v", inv.Calls())
	}
}

func TestInventoryClients(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	inv := checks.NewInventory(f.clients())
	if c := inv.Clients(); c.EC2 != f || c.Lambda != f || c.RDS != f || c.CloudWatch != f {
		t.Errorf("Clients() = %+v", c)
	}
}

func TestCallsCounter(t *testing.T) {
	t.Parallel()
	var c checks.Calls
	if got := c.Snapshot(); len(got) != 0 {
		t.Fatalf("zero Calls snapshot = %v", got)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Add("b:Op", 1)
			if i%2 == 0 {
				c.Add("a:Op", 2)
			}
		}()
	}
	wg.Wait()
	snap := c.Snapshot()
	if diff := cmp.Diff(map[string]int{"a:Op": 50, "b:Op": 50}, snap); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	snap["a:Op"] = 0 // a copy: the counter is unchanged
	if c.Snapshot()["a:Op"] != 50 {
		t.Error("Snapshot shares its map with the counter")
	}
	if diff := cmp.Diff([]string{"a:Op", "b:Op"}, checks.SortedOps(snap)); diff != "" {
		t.Errorf("SortedOps (-want +got):\n%s", diff)
	}
}

// panickingEC2 is an EC2 client whose DescribeInstances panics.
type panickingEC2 struct{ *fakeAWS }

func (panickingEC2) DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	panic("client bug")
}

// TestInventoryPanicIsNotMemoisedAsEmpty: when a walk panics, sync.Once
// counts it as done with a nil list and a nil error, so every later caller
// (another check of the pair, after Scan recovered the first one's panic)
// silently sees no instances at all.
func TestInventoryPanicIsNotMemoisedAsEmpty(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	idleInstance(f, "i-1")
	inv := checks.NewInventory(checks.Clients{EC2: panickingEC2{f}})
	func() {
		defer func() { _ = recover() }()
		_, _ = inv.Instances(context.Background())
	}()
	xs, err := inv.Instances(context.Background())
	if err == nil {
		t.Errorf("after a panicking walk: %d instances and no error; want an error, not an empty inventory", len(xs))
	}
}
