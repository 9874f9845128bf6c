package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
)

// Pair is one simulated account × region. Its methods have the SDK clients'
// signatures and answer from the generated world; they validate inputs the
// way AWS does (page-size ranges, ≤500 metric queries) so a caller that breaks
// an API limit fails here too. Safe for concurrent use.
type Pair struct {
	org     *Org
	account string
	region  string
	world   world
	calls   checks.Calls
	mu      sync.Mutex // guards rng and needed
	rng     *rand.Rand
	needed  map[string]bool // floor keys recorded
}

// needs records, once per pair and key, that serving what the scan asked
// for takes at least n requests of op: a listing's pages at the API's
// maximum page size, or one request for one item (a table, a target
// group's health). Org.Floor sums them.
func (p *Pair) needs(key, op string, n int) {
	p.mu.Lock()
	seen := p.needed[key]
	if p.needed == nil {
		p.needed = map[string]bool{}
	}
	p.needed[key] = true
	p.mu.Unlock()
	if !seen {
		p.org.floor.Add(op, n)
	}
}

var (
	_ checks.EC2API    = (*Pair)(nil)
	_ checks.LambdaAPI = (*Pair)(nil)
	_ checks.RDSAPI    = (*Pair)(nil)
	_ cwbatch.API      = (*Pair)(nil)
)

// Calls returns the requests this pair served, by "service:Operation".
func (p *Pair) Calls() map[string]int { return p.calls.Snapshot() }

// APIClients returns the pair itself as every client: raw, with no SDK
// retries in between.
func (p *Pair) APIClients() checks.Clients {
	return checks.Clients{EC2: p, Lambda: p, RDS: p, ELBv2: p, ElastiCache: p, DynamoDB: p, Logs: p, CloudWatch: p}
}

func (p *Pair) float() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.Float64()
}

// Error codes each service uses for throttling and for denial.
var (
	throttleCode = map[string]string{"ec2": "RequestLimitExceeded", "lambda": "TooManyRequestsException", "rds": "Throttling", "cloudwatch": "Throttling"}
	deniedCode   = map[string]string{"ec2": "UnauthorizedOperation", "lambda": "AccessDeniedException", "rds": "AccessDenied", "cloudwatch": "AccessDenied"}
)

// enter counts a request and applies the latency, denial and throttling
// knobs, in that order.
func (p *Pair) enter(ctx context.Context, op string) error {
	p.calls.Add(op, 1)
	p.org.calls.Add(op, 1)
	cfg := p.org.cfg
	if d := cfg.Latency; d > 0 {
		if cfg.Jitter > 0 {
			d += time.Duration((2*p.float() - 1) * float64(cfg.Jitter))
		}
		if err := wait(ctx, d); err != nil {
			return err
		}
	}
	svc := serviceOf(op)
	if p.org.denyOps[op] || p.org.denyOps[p.account+"/"+op] {
		return &smithy.GenericAPIError{Code: deniedCode[svc], Fault: smithy.FaultClient,
			Message: fmt.Sprintf("You are not authorized to perform: %s (simulated, account %s)", op, p.account)}
	}
	if cfg.ThrottleRate > 0 && p.float() < cfg.ThrottleRate {
		p.org.throttled.Add(1)
		return &smithy.GenericAPIError{Code: throttleCode[svc], Message: "Rate exceeded (simulated)", Fault: smithy.FaultClient}
	}
	return nil
}

// wait is a request's latency d, cut short when ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func validation(format string, args ...any) error {
	return &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient}
}

// page returns one page of items after token, at most maxResults (bounded
// to [lo, hi] like the API) and the simulator's PageLimit. A listing's first
// page records its floor: the pages it needs at the API's maximum size hi.
func page[T any](p *Pair, op string, items []T, token *string, maxResults *int32, lo, hi int) ([]T, *string, error) {
	size := hi
	if maxResults != nil {
		size = int(*maxResults)
		if size < lo || size > hi {
			return nil, nil, validation("page size %d is outside [%d, %d]", size, lo, hi)
		}
	}
	if l := p.org.cfg.PageLimit; l > 0 && l < size {
		size = l
	}
	if token == nil || *token == "" {
		p.needs(op, op, max(1, (len(items)+hi-1)/hi))
	}
	start := 0
	if token != nil && *token != "" {
		n, err := strconv.Atoi(*token)
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, validation("invalid pagination token %q", *token)
		}
		start = n
	}
	end := min(start+size, len(items))
	var next *string
	if end < len(items) {
		next = aws.String(strconv.Itoa(end))
	}
	return items[start:end], next, nil
}

// DescribeInstances serves instances, one reservation each.
func (p *Pair) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeInstances"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeInstances", p.world.instances, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	out := &ec2.DescribeInstancesOutput{NextToken: next}
	for _, i := range items {
		out.Reservations = append(out.Reservations, ec2types.Reservation{Instances: []ec2types.Instance{i}, OwnerId: aws.String(p.account)})
	}
	return out, nil
}

// DescribeVolumes serves volumes.
func (p *Pair) DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, _ ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeVolumes"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeVolumes", p.world.volumes, in.NextToken, in.MaxResults, 5, 500)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVolumesOutput{Volumes: items, NextToken: next}, nil
}

// DescribeAddresses serves every Elastic IP (the API has no pagination).
func (p *Pair) DescribeAddresses(ctx context.Context, _ *ec2.DescribeAddressesInput, _ ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeAddresses"); err != nil {
		return nil, err
	}
	p.needs("ec2:DescribeAddresses", "ec2:DescribeAddresses", 1)
	return &ec2.DescribeAddressesOutput{Addresses: p.world.addresses}, nil
}

// DescribeNatGateways serves NAT gateways.
func (p *Pair) DescribeNatGateways(ctx context.Context, in *ec2.DescribeNatGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeNatGateways"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeNatGateways", p.world.natGateways, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNatGatewaysOutput{NatGateways: items, NextToken: next}, nil
}

// DescribeRouteTables serves route tables.
func (p *Pair) DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeRouteTables"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeRouteTables", p.world.routeTables, in.NextToken, in.MaxResults, 5, 100)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeRouteTablesOutput{RouteTables: items, NextToken: next}, nil
}

// ListFunctions serves functions (Marker/NextMarker pagination), each with
// its environment variables as Lambda returns them: in clear, a secret
// among them (FunctionSecret). The page is a copy, as a decoded answer
// would be, so a caller may change it (the collector drops the secrets
// from each page it receives).
func (p *Pair) ListFunctions(ctx context.Context, in *lambda.ListFunctionsInput, _ ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error) {
	if err := p.enter(ctx, "lambda:ListFunctions"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "lambda:ListFunctions", p.world.functions, in.Marker, in.MaxItems, 1, 50)
	if err != nil {
		return nil, err
	}
	return &lambda.ListFunctionsOutput{Functions: slices.Clone(items), NextMarker: next}, nil
}

// DescribeDBInstances serves DB instances (Marker pagination).
func (p *Pair) DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, _ ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error) {
	if err := p.enter(ctx, "rds:DescribeDBInstances"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "rds:DescribeDBInstances", p.world.dbInstances, in.Marker, in.MaxRecords, 20, 100)
	if err != nil {
		return nil, err
	}
	return &rds.DescribeDBInstancesOutput{DBInstances: items, Marker: next}, nil
}

// defaultMaxDatapoints is GetMetricData's page size in datapoints.
const defaultMaxDatapoints = 100800

// GetMetricData serves daily series. Like CloudWatch it answers every query
// (a metric with no data gets an empty Complete result), pages by datapoints
// with NextToken and marks a query PartialData when its points continue on
// the next page. Only whole-day periods are simulated.
func (p *Pair) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	if err := p.enter(ctx, "cloudwatch:GetMetricData"); err != nil {
		return nil, err
	}
	qs := in.MetricDataQueries
	if len(qs) == 0 || len(qs) > cwbatch.MaxQueriesPerCall {
		return nil, validation("MetricDataQueries must hold 1..500 queries, got %d", len(qs))
	}
	p.org.metricQueries.Add(int64(len(qs)))
	if in.StartTime == nil || in.EndTime == nil || !in.StartTime.Before(*in.EndTime) {
		return nil, validation("StartTime must be before EndTime")
	}
	pageSize := defaultMaxDatapoints
	if l := p.org.cfg.MaxDatapoints; l > 0 {
		pageSize = l
	}
	if in.MaxDatapoints != nil && int(*in.MaxDatapoints) < pageSize {
		pageSize = int(*in.MaxDatapoints)
	}
	type point struct {
		q  int
		ts time.Time
		v  float64
	}
	// Sized once: the simulator's allocations are most of a simulated
	// scan's garbage, and collecting it is CPU the scan then waits for.
	days := int(in.EndTime.Sub(in.StartTime.UTC().Truncate(day))/day) + 1
	points := make([]point, 0, len(qs)*max(days, 0))
	var tsBuf []time.Time
	ids := make(map[string]bool, len(qs))
	for i, q := range qs {
		id := aws.ToString(q.Id)
		if ids[id] {
			return nil, validation("duplicate query id %q", id)
		}
		ids[id] = true
		ms := q.MetricStat
		if ms == nil || ms.Metric == nil || ms.Period == nil {
			return nil, validation("query %q: only MetricStat queries are simulated", id)
		}
		period := time.Duration(*ms.Period) * time.Second
		if period%day != 0 {
			return nil, validation("query %q: the simulator serves whole-day periods, got %s", id, period)
		}
		dim := ""
		if len(ms.Metric.Dimensions) > 0 {
			dim = aws.ToString(ms.Metric.Dimensions[0].Value)
		}
		prof, ok := p.world.series[seriesKey(aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName), dim)]
		if !ok {
			continue
		}
		ts := tsBuf[:0] // one buffer for every query of the call
		for d := in.StartTime.UTC().Truncate(day); d.Before(*in.EndTime); d = d.Add(period) {
			ts = append(ts, d)
		}
		tsBuf = ts
		if in.ScanBy != cwtypes.ScanByTimestampAscending { // CloudWatch's default is newest first
			for a, b := 0, len(ts)-1; a < b; a, b = a+1, b-1 {
				ts[a], ts[b] = ts[b], ts[a]
			}
		}
		for _, d := range ts {
			if v, ok := prof.at(d); ok {
				points = append(points, point{i, d, v})
			}
		}
	}
	offset := 0
	if in.NextToken != nil {
		n, err := strconv.Atoi(*in.NextToken)
		if err != nil || n < 0 || n > len(points) {
			return nil, validation("invalid NextToken %q", *in.NextToken)
		}
		offset = n
	}
	end := min(offset+pageSize, len(points))
	results := make([]cwtypes.MetricDataResult, len(qs))
	for i, q := range qs {
		results[i] = cwtypes.MetricDataResult{Id: q.Id, Label: q.Id, StatusCode: cwtypes.StatusCodeComplete}
	}
	perQuery := make([]int, len(qs))
	for _, pt := range points[offset:end] {
		perQuery[pt.q]++
	}
	for i, n := range perQuery {
		if n > 0 {
			results[i].Timestamps, results[i].Values = make([]time.Time, 0, n), make([]float64, 0, n)
		}
	}
	for _, pt := range points[offset:end] {
		r := &results[pt.q]
		r.Timestamps = append(r.Timestamps, pt.ts)
		r.Values = append(r.Values, pt.v)
	}
	out := &cloudwatch.GetMetricDataOutput{}
	if end < len(points) {
		out.NextToken = aws.String(strconv.Itoa(end))
		// Queries with points on later pages are incomplete here.
		for _, pt := range points[end:] {
			results[pt.q].StatusCode = cwtypes.StatusCodePartialData
		}
	}
	if offset > 0 {
		// Later pages repeat only the queries that still have points, as
		// CloudWatch does; queries finished earlier are not answered again.
		var keep []cwtypes.MetricDataResult
		started := map[int]bool{}
		for _, pt := range points[offset:] {
			started[pt.q] = true
		}
		for i, r := range results {
			if started[i] {
				keep = append(keep, r)
			}
		}
		results = keep
	}
	out.MetricDataResults = results
	return out, nil
}
