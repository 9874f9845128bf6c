package checks_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// The fixed clock of every test: mid-afternoon, so that "now" and the
// window's UTC-midnight end differ.
var (
	now      = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	midnight = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
)

const (
	account  = "111122223333"
	priced   = "us-east-1"
	unpriced = "sa-east-1"
)

// Operation names, as the Inventory and ScanResult.Calls spell them.
const (
	opDescribeInstances   = "ec2:DescribeInstances"
	opDescribeVolumes     = "ec2:DescribeVolumes"
	opDescribeAddresses   = "ec2:DescribeAddresses"
	opDescribeNatGateways = "ec2:DescribeNatGateways"
	opDescribeRouteTables = "ec2:DescribeRouteTables"
	opListFunctions       = "lambda:ListFunctions"
	opDescribeDBInstances = "rds:DescribeDBInstances"
	opGetMetricData       = "cloudwatch:GetMetricData"
	opDescribeSnapshots   = "ec2:DescribeSnapshots"
	opDescribeImages      = "ec2:DescribeImages"
	opDescribeSGs         = "ec2:DescribeSecurityGroups"
	opDescribeENIs        = "ec2:DescribeNetworkInterfaces"
	opDescribeEndpoints   = "ec2:DescribeVpcEndpoints"
	opDescribeLBs         = "elasticloadbalancing:DescribeLoadBalancers"
	opDescribeTGs         = "elasticloadbalancing:DescribeTargetGroups"
	opDescribeTH          = "elasticloadbalancing:DescribeTargetHealth"
	opDescribeCaches      = "elasticache:DescribeCacheClusters"
	opListTables          = "dynamodb:ListTables"
	opDescribeTable       = "dynamodb:DescribeTable"
	opDescribeLogGroups   = "logs:DescribeLogGroups"
)

// cwMaxDatapointsPerPage is how many datapoints GetMetricData returns per
// page at most.
const cwMaxDatapointsPerPage = 100800

// pageLimits are the MaxResults/MaxItems/MaxRecords bounds each paginated
// API accepts; the fake rejects a request outside them, as AWS does.
var pageLimits = map[string][2]int32{
	opDescribeInstances:   {5, 1000},
	opDescribeVolumes:     {5, 500},
	opDescribeNatGateways: {5, 1000},
	opDescribeRouteTables: {5, 100},
	opListFunctions:       {1, 10000},
	opDescribeDBInstances: {20, 100},
	opDescribeSnapshots:   {5, 1000},
	opDescribeImages:      {5, 1000},
	opDescribeSGs:         {5, 1000},
	opDescribeENIs:        {5, 1000},
	opDescribeEndpoints:   {1, 1000},
	opDescribeLBs:         {1, 400},
	opDescribeTGs:         {1, 400},
	opDescribeCaches:      {20, 100},
	opListTables:          {1, 100},
	opDescribeLogGroups:   {1, 50},
}

// point is one datapoint of a canned metric series.
type point struct {
	t time.Time
	v float64
}

// fakeAWS serves the EC2, Lambda, RDS and CloudWatch operations the checks
// use from canned slices. Describe/List operations page through the slices
// at min(requested page size, pageSize) items per page; GetMetricData serves
// per-query series keyed by cwbatch.Query.Key() and pages by datapoints the
// way CloudWatch does (PartialData on a query whose points continue on the
// next page). Every call is counted per operation; errs injects an error
// per operation. It is safe for concurrent use.
type fakeAWS struct {
	instances   []ec2types.Instance
	volumes     []ec2types.Volume
	addresses   []ec2types.Address
	natGateways []ec2types.NatGateway
	routeTables []ec2types.RouteTable
	functions   []lambdatypes.FunctionConfiguration
	dbInstances []rdstypes.DBInstance

	snapshots      []ec2types.Snapshot
	images         []ec2types.Image
	securityGroups []ec2types.SecurityGroup
	interfaces     []ec2types.NetworkInterface
	vpcEndpoints   []ec2types.VpcEndpoint
	loadBalancers  []elbtypes.LoadBalancer
	targetGroups   []elbtypes.TargetGroup
	targetHealth   map[string][]elbtypes.TargetHealthDescription // by target group ARN
	cacheClusters  []ectypes.CacheCluster
	tables         []ddbtypes.TableDescription
	logGroups      []logstypes.LogGroup

	series     map[string][]point            // by cwbatch.Query.Key()
	status     map[string]cwtypes.StatusCode // final status override by query key
	unanswered map[string]bool               // queries the fake leaves out of its answer

	pageSize       int // Describe/List items per page; 0: as many as requested
	metricPageSize int // GetMetricData datapoints per page; 0: cwMaxDatapointsPerPage

	errs     map[string]error // injected error per operation
	errAfter map[string]int   // the operation fails with errs[op] after this many good calls

	mu          sync.Mutex
	calls       map[string]int
	pageSizes   map[string][]int32 // page size asked for, per call
	gmdQueries  []int              // queries per GetMetricData call (pages included)
	gmdWindows  []cwbatch.Window   // window of each GetMetricData call
	gmdPeriods  []int32            // period of every query seen
	requested   map[string]int     // requests per query key (pages included)
	pagesServed map[string]int     // successful calls per operation
}

var (
	_ checks.EC2API         = (*fakeAWS)(nil)
	_ checks.LambdaAPI      = (*fakeAWS)(nil)
	_ checks.RDSAPI         = (*fakeAWS)(nil)
	_ checks.ELBv2API       = (*fakeAWS)(nil)
	_ checks.ElastiCacheAPI = (*fakeAWS)(nil)
	_ checks.DynamoDBAPI    = (*fakeAWS)(nil)
	_ checks.LogsAPI        = (*fakeAWS)(nil)
	_ cwbatch.API           = (*fakeAWS)(nil)
)

func (f *fakeAWS) clients() checks.Clients {
	return checks.Clients{EC2: f, Lambda: f, RDS: f, ELBv2: f, ElastiCache: f, DynamoDB: f, Logs: f, CloudWatch: f}
}

// set cans the series of q.
func (f *fakeAWS) set(q cwbatch.Query, pts []point) {
	if f.series == nil {
		f.series = map[string][]point{}
	}
	f.series[q.Key()] = pts
}

// Calls returns a copy of the call counts.
func (f *fakeAWS) Calls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.calls))
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

func (f *fakeAWS) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// requestedKeys returns the distinct query keys GetMetricData was asked for, sorted.
func (f *fakeAWS) requestedKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.requested {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (f *fakeAWS) askedPageSizes(op string) []int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int32(nil), f.pageSizes[op]...)
}

// begin counts a call of op and returns the error it must fail with, if any.
// The caller holds f.mu.
func (f *fakeAWS) begin(ctx context.Context, op string) error {
	if f.calls == nil {
		f.calls = map[string]int{}
		f.pagesServed = map[string]int{}
	}
	f.calls[op]++
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := f.errs[op]; ok && f.pagesServed[op] >= f.errAfter[op] {
		return err
	}
	f.pagesServed[op]++
	return nil
}

// pageOf returns the page of items that token and max select, and the next
// token. It validates the page size against the operation's limits.
func pageOf[T any](f *fakeAWS, op string, items []T, token *string, max *int32) ([]T, *string, error) {
	if f.pageSizes == nil {
		f.pageSizes = map[string][]int32{}
	}
	n := len(items)
	if max != nil {
		f.pageSizes[op] = append(f.pageSizes[op], *max)
		lim := pageLimits[op]
		if *max < lim[0] || *max > lim[1] {
			return nil, nil, fmt.Errorf("%s: page size %d outside [%d, %d]", op, *max, lim[0], lim[1])
		}
		n = int(*max)
	} else {
		f.pageSizes[op] = append(f.pageSizes[op], 0)
	}
	if f.pageSize > 0 && f.pageSize < n {
		n = f.pageSize
	}
	off := 0
	if t := aws.ToString(token); t != "" {
		var err error
		if off, err = strconv.Atoi(strings.TrimPrefix(t, op+"/")); err != nil || !strings.HasPrefix(t, op+"/") || off > len(items) {
			return nil, nil, fmt.Errorf("%s: invalid token %q", op, t)
		}
	}
	end := min(off+n, len(items))
	var next *string
	if end < len(items) {
		next = aws.String(op + "/" + strconv.Itoa(end))
	}
	return items[off:end], next, nil
}

func (f *fakeAWS) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeInstances); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeInstances, f.instances, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	// Two instances per reservation, so that flattening is exercised.
	out := &ec2.DescribeInstancesOutput{NextToken: next}
	for i := 0; i < len(page); i += 2 {
		out.Reservations = append(out.Reservations, ec2types.Reservation{
			ReservationId: aws.String(fmt.Sprintf("r-%d", i)),
			Instances:     append([]ec2types.Instance(nil), page[i:min(i+2, len(page))]...),
		})
	}
	return out, nil
}

func (f *fakeAWS) DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, _ ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeVolumes); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeVolumes, f.volumes, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVolumesOutput{Volumes: append([]ec2types.Volume(nil), page...), NextToken: next}, nil
}

func (f *fakeAWS) DescribeAddresses(ctx context.Context, _ *ec2.DescribeAddressesInput, _ ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeAddresses); err != nil {
		return nil, err
	}
	return &ec2.DescribeAddressesOutput{Addresses: append([]ec2types.Address(nil), f.addresses...)}, nil
}

func (f *fakeAWS) DescribeNatGateways(ctx context.Context, in *ec2.DescribeNatGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeNatGateways); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeNatGateways, f.natGateways, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNatGatewaysOutput{NatGateways: append([]ec2types.NatGateway(nil), page...), NextToken: next}, nil
}

func (f *fakeAWS) DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeRouteTables); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeRouteTables, f.routeTables, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeRouteTablesOutput{RouteTables: append([]ec2types.RouteTable(nil), page...), NextToken: next}, nil
}

func (f *fakeAWS) ListFunctions(ctx context.Context, in *lambda.ListFunctionsInput, _ ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opListFunctions); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opListFunctions, f.functions, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &lambda.ListFunctionsOutput{Functions: append([]lambdatypes.FunctionConfiguration(nil), page...), NextMarker: next}, nil
}

func (f *fakeAWS) DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, _ ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeDBInstances); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeDBInstances, f.dbInstances, in.Marker, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	return &rds.DescribeDBInstancesOutput{DBInstances: append([]rdstypes.DBInstance(nil), page...), Marker: next}, nil
}

// gmdItem is one slot of a GetMetricData answer: datapoint p of query q, or
// p == -1 for a query without datapoints (answered with an empty series).
type gmdItem struct{ q, p int }

func (f *fakeAWS) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opGetMetricData); err != nil {
		return nil, err
	}
	n := len(in.MetricDataQueries)
	if n == 0 || n > cwbatch.MaxQueriesPerCall {
		return nil, fmt.Errorf("GetMetricData: %d queries, want 1..%d", n, cwbatch.MaxQueriesPerCall)
	}
	if in.StartTime == nil || in.EndTime == nil || !in.StartTime.Before(*in.EndTime) {
		return nil, errors.New("GetMetricData: bad window")
	}
	start, end := *in.StartTime, *in.EndTime
	if !start.Equal(start.UTC().Truncate(cwbatch.Day)) || !end.Equal(end.UTC().Truncate(cwbatch.Day)) {
		return nil, fmt.Errorf("GetMetricData: window %s..%s not aligned to UTC days", start, end)
	}
	f.gmdQueries = append(f.gmdQueries, n)
	f.gmdWindows = append(f.gmdWindows, cwbatch.Window{Start: start, End: end, Period: cwbatch.Day})
	keys := make([]string, n)
	pts := make([][]point, n)
	var items []gmdItem
	ids := map[string]bool{}
	for i, mdq := range in.MetricDataQueries {
		id := aws.ToString(mdq.Id)
		if id == "" || ids[id] {
			return nil, fmt.Errorf("GetMetricData: missing or duplicate query ID %q", id)
		}
		ids[id] = true
		ms := mdq.MetricStat
		if ms == nil || ms.Metric == nil || ms.Period == nil {
			return nil, fmt.Errorf("GetMetricData: query %s lacks a MetricStat", id)
		}
		f.gmdPeriods = append(f.gmdPeriods, *ms.Period)
		q := cwbatch.Query{Namespace: aws.ToString(ms.Metric.Namespace), Metric: aws.ToString(ms.Metric.MetricName), Stat: aws.ToString(ms.Stat)}
		for _, d := range ms.Metric.Dimensions {
			q.Dimensions = append(q.Dimensions, cwbatch.Dimension{Name: aws.ToString(d.Name), Value: aws.ToString(d.Value)})
		}
		keys[i] = q.Key()
		if f.requested == nil {
			f.requested = map[string]int{}
		}
		f.requested[keys[i]]++
		if f.unanswered[keys[i]] {
			continue
		}
		for _, p := range f.series[keys[i]] {
			if !p.t.Before(start) && p.t.Before(end) {
				pts[i] = append(pts[i], p)
			}
		}
		sort.Slice(pts[i], func(a, b int) bool { return pts[i][a].t.Before(pts[i][b].t) })
		if len(pts[i]) == 0 {
			items = append(items, gmdItem{i, -1})
		}
		for p := range pts[i] {
			items = append(items, gmdItem{i, p})
		}
	}
	off := 0
	if t := aws.ToString(in.NextToken); t != "" {
		var err error
		if off, err = strconv.Atoi(t); err != nil || off <= 0 || off >= len(items) {
			return nil, fmt.Errorf("GetMetricData: invalid token %q", t)
		}
	}
	size := f.metricPageSize
	if size <= 0 {
		size = cwMaxDatapointsPerPage
	}
	stop := min(off+size, len(items))
	out := &cloudwatch.GetMetricDataOutput{}
	byQuery := map[int]*cwtypes.MetricDataResult{}
	var order []int
	for _, it := range items[off:stop] {
		r := byQuery[it.q]
		if r == nil {
			r = &cwtypes.MetricDataResult{Id: in.MetricDataQueries[it.q].Id, Label: aws.String(keys[it.q]), StatusCode: cwtypes.StatusCodePartialData}
			byQuery[it.q] = r
			order = append(order, it.q)
		}
		if it.p >= 0 {
			r.Timestamps = append(r.Timestamps, pts[it.q][it.p].t)
			r.Values = append(r.Values, pts[it.q][it.p].v)
		}
		if it.p == -1 || it.p == len(pts[it.q])-1 {
			r.StatusCode = cwtypes.StatusCodeComplete
			if s, ok := f.status[keys[it.q]]; ok {
				r.StatusCode = s
			}
		}
	}
	for _, q := range order {
		out.MetricDataResults = append(out.MetricDataResults, *byQuery[q])
	}
	if stop < len(items) {
		out.NextToken = aws.String(strconv.Itoa(stop))
	}
	return out, nil
}

// daily returns one datapoint per UTC day for the len(vals) days before
// now's midnight, oldest first; a NaN value leaves its day without a
// datapoint.
func daily(vals ...float64) []point {
	var out []point
	for i, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		out = append(out, point{t: midnight.AddDate(0, 0, i-len(vals)), v: v})
	}
	return out
}

// flat is n days of the same value.
func flat(n int, v float64) []point {
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = v
	}
	return daily(vals...)
}

// with returns n days of base with day i (0 = oldest) set to v.
func with(n int, base float64, i int, v float64) []point {
	vals := make([]float64, n)
	for d := range vals {
		vals[d] = base
	}
	vals[i] = v
	return daily(vals...)
}

var nan = math.NaN()

// accessDenied is the error AWS returns for an action the role may not call.
func accessDenied() error {
	return &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}
}

func ago(d time.Duration) time.Time { return now.Add(-d) }

func daysAgo(n int) time.Time { return now.AddDate(0, 0, -n) }

func usd(v float64) *float64 { return &v }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// priceOf turns a pricing lookup into the cost a verdict must carry.
func priceOf(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return usd(round2(v))
}

func ec2Tags(kv ...string) []ec2types.Tag {
	var out []ec2types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// scanInput configures cs and returns a ScanInput over f at the fixed clock.
func scanInput(t *testing.T, f *fakeAWS, region string, cs []checks.Check, overrides map[string]map[string]float64) checks.ScanInput {
	t.Helper()
	cfg, err := checks.Configure(cs, overrides, 0)
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return checks.ScanInput{AccountID: account, Region: region, Now: now, Clients: f.clients(), Checks: cfg, Prices: pricing.Default()}
}

// scan runs cs on f through checks.Scan.
func scan(t *testing.T, f *fakeAWS, region string, cs []checks.Check, overrides map[string]map[string]float64) checks.ScanResult {
	t.Helper()
	return checks.Scan(context.Background(), scanInput(t, f, region, cs, overrides))
}

// checkCase is one table case of a check run alone through Scan.
type checkCase struct {
	name   string
	region string             // default priced
	params map[string]float64 // overrides of the check's params
	setup  func(f *fakeAWS)

	wantIDs      []string           // IDs judged, in order
	wantJudged   []checks.Judged    // compared in full when set
	wantReason   []string           // substrings of every judged reason
	wantNoReason []string           // substrings no judged reason may contain
	wantEvidence map[string]float64 // evidence of every judged, when set
	wantCost     *float64           // cost of every judged, when set
	wantNilCost  bool               // every judged has a nil cost
	wantErrs     []checks.CheckError
	wantNoFetch  bool // no GetMetricData call at all
	wantCalls    map[string]int
}

func runCheckCases(t *testing.T, c checks.Check, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeAWS{}
			tc.setup(f)
			region := tc.region
			if region == "" {
				region = priced
			}
			var ov map[string]map[string]float64
			if tc.params != nil {
				ov = map[string]map[string]float64{c.ID: tc.params}
			}
			res := scan(t, f, region, []checks.Check{c}, ov)
			if diff := cmp.Diff(tc.wantErrs, res.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var ids []string
			for _, j := range res.Judged {
				ids = append(ids, j.Resource.ID)
				if j.CheckID != c.ID {
					t.Errorf("judged by %q, want %q", j.CheckID, c.ID)
				}
				for _, s := range tc.wantReason {
					if !strings.Contains(j.Verdict.Reason, s) {
						t.Errorf("%s: reason %q lacks %q", j.Resource.ID, j.Verdict.Reason, s)
					}
				}
				for _, s := range tc.wantNoReason {
					if strings.Contains(j.Verdict.Reason, s) {
						t.Errorf("%s: reason %q contains %q", j.Resource.ID, j.Verdict.Reason, s)
					}
				}
				if tc.wantEvidence != nil {
					if diff := cmp.Diff(tc.wantEvidence, j.Verdict.Evidence); diff != "" {
						t.Errorf("%s: evidence (-want +got):\n%s", j.Resource.ID, diff)
					}
				}
				if tc.wantCost != nil && (j.Verdict.MonthlyCostUSD == nil || *j.Verdict.MonthlyCostUSD != *tc.wantCost) {
					t.Errorf("%s: cost %v, want %v", j.Resource.ID, fmtCost(j.Verdict.MonthlyCostUSD), *tc.wantCost)
				}
				if tc.wantNilCost && j.Verdict.MonthlyCostUSD != nil {
					t.Errorf("%s: cost %v, want nil (unknown)", j.Resource.ID, *j.Verdict.MonthlyCostUSD)
				}
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("judged IDs (-want +got):\n%s", diff)
			}
			if tc.wantJudged != nil {
				if diff := cmp.Diff(tc.wantJudged, res.Judged); diff != "" {
					t.Errorf("judged (-want +got):\n%s", diff)
				}
			}
			if tc.wantNoFetch && f.count(opGetMetricData) != 0 {
				t.Errorf("GetMetricData called %d times, want none", f.count(opGetMetricData))
			}
			if tc.wantCalls != nil {
				if diff := cmp.Diff(tc.wantCalls, f.Calls()); diff != "" {
					t.Errorf("fake calls (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(f.Calls(), res.Calls, cmpNonZero); diff != "" {
				t.Errorf("ScanResult.Calls disagrees with the fake (-fake +scan):\n%s", diff)
			}
		})
	}
}

// cmpNonZero treats a nil and an empty map alike.
var cmpNonZero = cmp.Comparer(func(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
})

func fmtCost(c *float64) string {
	if c == nil {
		return "nil"
	}
	return strconv.FormatFloat(*c, 'f', -1, 64)
}

// selectAndFetch runs c's describe phase and a metric fetch over c's own
// window, as Scan does for a single check, and returns what Evaluate needs.
func selectAndFetch(t *testing.T, c checks.Check, f *fakeAWS, region string) (checks.Env, []checks.Candidate, cwbatch.Results) {
	t.Helper()
	p, err := c.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	env := checks.Env{Now: now, AccountID: account, Region: region, Params: p, Prices: pricing.Default()}
	cands, err := c.Select(context.Background(), checks.NewInventory(f.clients()), env)
	if err != nil {
		t.Fatalf("Select: %v", err)
	}
	var qs []cwbatch.Query
	for _, cand := range cands {
		for _, q := range cand.Queries {
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return env, cands, cwbatch.Results{}
	}
	w, err := cwbatch.DailyWindow(now, env.LookbackDays())
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := cwbatch.Fetch(context.Background(), f, w, qs)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return env, cands, m
}

// testMetricsUnavailable checks that Evaluate refuses to judge a candidate
// whose query q came back incomplete, unanswered or was never fetched: it
// returns a *checks.MetricsUnavailableError and no verdict, and Scan records
// MetricsUnavailable with no finding. setup must make exactly one
// candidate that would otherwise be reported.
func testMetricsUnavailable(t *testing.T, c checks.Check, setup func(f *fakeAWS), q cwbatch.Query) {
	t.Helper()
	for _, tc := range []struct {
		name       string
		mutate     func(f *fakeAWS)
		notFetched bool
		wantStatus string
	}{
		{name: "final page PartialData", mutate: func(f *fakeAWS) {
			f.status = map[string]cwtypes.StatusCode{q.Key(): cwtypes.StatusCodePartialData}
		}, wantStatus: "PartialData"},
		{name: "final page PartialData on a multi-page answer", mutate: func(f *fakeAWS) {
			f.metricPageSize = 3
			f.status = map[string]cwtypes.StatusCode{q.Key(): cwtypes.StatusCodePartialData}
		}, wantStatus: "PartialData"},
		{name: "Forbidden", mutate: func(f *fakeAWS) {
			f.status = map[string]cwtypes.StatusCode{q.Key(): cwtypes.StatusCodeForbidden}
		}, wantStatus: "Forbidden"},
		{name: "query left unanswered", mutate: func(f *fakeAWS) {
			f.unanswered = map[string]bool{q.Key(): true}
		}, wantStatus: "Missing"},
		{name: "query not fetched", notFetched: true, wantStatus: "not fetched"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Baseline: the candidate is reported when its metrics are complete.
			base := &fakeAWS{}
			setup(base)
			env, cands, m := selectAndFetch(t, c, base, priced)
			if len(cands) != 1 {
				t.Fatalf("setup made %d candidates, want 1", len(cands))
			}
			if v, err := c.Evaluate(cands[0], m, env); err != nil || v == nil {
				t.Fatalf("baseline: verdict %v, err %v; want a finding", v, err)
			}

			f := &fakeAWS{}
			setup(f)
			if tc.mutate != nil {
				tc.mutate(f)
			}
			env, cands, m = selectAndFetch(t, c, f, priced)
			if tc.notFetched {
				// Fetch every query of the candidate but q.
				var qs []cwbatch.Query
				for _, other := range cands[0].Queries {
					if other.Key() != q.Key() {
						qs = append(qs, other)
					}
				}
				m = cwbatch.Results{}
				if len(qs) > 0 {
					w, err := cwbatch.DailyWindow(now, env.LookbackDays())
					if err != nil {
						t.Fatal(err)
					}
					if m, _, err = cwbatch.Fetch(context.Background(), f, w, qs); err != nil {
						t.Fatal(err)
					}
				}
			}
			v, err := c.Evaluate(cands[0], m, env)
			var mu *checks.MetricsUnavailableError
			if !errors.As(err, &mu) {
				t.Fatalf("Evaluate: verdict %+v, err %v; want *MetricsUnavailableError", v, err)
			}
			if v != nil {
				t.Errorf("verdict %+v alongside an error", v)
			}
			if mu.Query != q.Key() || mu.Status != tc.wantStatus {
				t.Errorf("error %+v, want query %s status %s", mu, q.Key(), tc.wantStatus)
			}
			if checks.Code(err) != "MetricsUnavailable" {
				t.Errorf("Code = %q", checks.Code(err))
			}
			if tc.notFetched {
				return
			}

			// Through Scan: an error for the check, never a finding.
			g := &fakeAWS{}
			setup(g)
			tc.mutate(g)
			res := scan(t, g, priced, []checks.Check{c}, nil)
			if len(res.Judged) != 0 {
				t.Errorf("Scan judged %+v from incomplete metrics", res.Judged)
			}
			want := []checks.CheckError{{Check: c.ID, Code: "MetricsUnavailable", Message: mu.Error(), Count: 1}}
			if diff := cmp.Diff(want, res.Errors); diff != "" {
				t.Errorf("Scan errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFakeGetMetricData pins the fake's CloudWatch behaviour the other
// tests rely on.
func TestFakeGetMetricData(t *testing.T) {
	t.Parallel()
	mdq := func(ids ...string) []cwtypes.MetricDataQuery {
		out := make([]cwtypes.MetricDataQuery, len(ids))
		for i, id := range ids {
			q := cwbatch.EC2("CPUUtilization", "Average", id)
			out[i] = cwtypes.MetricDataQuery{Id: aws.String(fmt.Sprintf("q%d", i)), MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(q.Namespace), MetricName: aws.String(q.Metric),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(id)}}},
				Period: aws.Int32(86400), Stat: aws.String(q.Stat)}}
		}
		return out
	}
	in := func(qs []cwtypes.MetricDataQuery, token *string) *cloudwatch.GetMetricDataInput {
		return &cloudwatch.GetMetricDataInput{MetricDataQueries: qs, StartTime: aws.Time(midnight.AddDate(0, 0, -3)), EndTime: aws.Time(midnight), NextToken: token}
	}

	t.Run("more than 500 queries rejected", func(t *testing.T) {
		t.Parallel()
		f := &fakeAWS{}
		qs := make([]string, 501)
		for i := range qs {
			qs[i] = fmt.Sprintf("i-%d", i)
		}
		if _, err := f.GetMetricData(context.Background(), in(mdq(qs...), nil)); err == nil {
			t.Fatal("501 queries accepted")
		}
		if _, err := f.GetMetricData(context.Background(), in(mdq(qs[:500]...), nil)); err != nil {
			t.Fatalf("500 queries: %v", err)
		}
		if diff := cmp.Diff([]int{500}, f.gmdQueries); diff != "" {
			t.Errorf("queries per call (-want +got):\n%s", diff)
		}
		if f.count(opGetMetricData) != 2 {
			t.Errorf("calls = %d, want 2", f.count(opGetMetricData))
		}
	})

	t.Run("pages by datapoints with PartialData until a query's last point", func(t *testing.T) {
		t.Parallel()
		// a: 3 points in the window (one older point is outside); b: none.
		f := &fakeAWS{metricPageSize: 2}
		f.set(cwbatch.EC2("CPUUtilization", "Average", "a"), daily(9, 1, 2, 3))
		type page struct {
			ids      []string
			statuses []cwtypes.StatusCode
			values   [][]float64
			next     bool
		}
		var got []page
		var token *string
		for range 10 {
			out, err := f.GetMetricData(context.Background(), in(mdq("a", "b"), token))
			if err != nil {
				t.Fatal(err)
			}
			var p page
			for _, r := range out.MetricDataResults {
				p.ids = append(p.ids, aws.ToString(r.Id))
				p.statuses = append(p.statuses, r.StatusCode)
				p.values = append(p.values, r.Values)
			}
			p.next = out.NextToken != nil
			got = append(got, p)
			if token = out.NextToken; token == nil {
				break
			}
		}
		want := []page{
			{ids: []string{"q0"}, statuses: []cwtypes.StatusCode{"PartialData"}, values: [][]float64{{1, 2}}, next: true},
			{ids: []string{"q0", "q1"}, statuses: []cwtypes.StatusCode{"Complete", "Complete"}, values: [][]float64{{3}, nil}, next: false},
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(page{})); diff != "" {
			t.Errorf("pages (-want +got):\n%s", diff)
		}
	})

	t.Run("injected error and cancelled context", func(t *testing.T) {
		t.Parallel()
		f := &fakeAWS{errs: map[string]error{opGetMetricData: accessDenied()}, errAfter: map[string]int{opGetMetricData: 1}}
		if _, err := f.GetMetricData(context.Background(), in(mdq("a"), nil)); err != nil {
			t.Fatalf("first call: %v", err)
		}
		if _, err := f.GetMetricData(context.Background(), in(mdq("a"), nil)); checks.Code(err) != "AccessDenied" {
			t.Fatalf("second call: %v, want AccessDenied", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := (&fakeAWS{}).GetMetricData(ctx, in(mdq("a"), nil)); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: %v", err)
		}
	})
}
