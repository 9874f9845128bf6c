// Package cwbatch fetches CloudWatch metrics for many resources in as few
// GetMetricData calls as the API allows: at most MaxQueriesPerCall queries per
// call, continued with NextToken through the SDK paginator, over a window of
// whole UTC days. Callers describe what they need as Query values; Fetch maps
// the API's query IDs back to those values so no caller ever sees an ID.
package cwbatch

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// MaxQueriesPerCall is GetMetricData's limit on MetricDataQueries per request.
const MaxQueriesPerCall = 500

// API is the one CloudWatch operation cwbatch needs.
type API = cloudwatch.GetMetricDataAPIClient

var _ API = (*cloudwatch.Client)(nil)

// Dimension is one CloudWatch dimension.
type Dimension struct{ Name, Value string }

// Query asks for one statistic of one metric of one resource over the window.
// Two Query values with the same Key are the same metric to CloudWatch and are
// fetched (and paid for) once.
type Query struct {
	Namespace  string
	Metric     string
	Stat       string
	Dimensions []Dimension
}

// Key is the canonical identity of a query: namespace, metric, statistic and
// the dimensions sorted by name.
func (q Query) Key() string {
	dims := q.Dimensions
	if len(dims) > 1 && !sort.SliceIsSorted(dims, func(i, j int) bool { return dims[i].Name < dims[j].Name }) {
		dims = append([]Dimension(nil), dims...)
		sort.Slice(dims, func(i, j int) bool { return dims[i].Name < dims[j].Name })
	}
	// One allocation: keys are built for every query of every pair.
	n := len(q.Namespace) + len(q.Metric) + len(q.Stat) + 2
	for _, d := range dims {
		n += len(d.Name) + len(d.Value) + 2
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(q.Namespace)
	b.WriteByte('|')
	b.WriteString(q.Metric)
	b.WriteByte('|')
	b.WriteString(q.Stat)
	for _, d := range dims {
		b.WriteByte('|')
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Value)
	}
	return b.String()
}

func single(ns, metric, stat, dim, value string) Query {
	return Query{Namespace: ns, Metric: metric, Stat: stat, Dimensions: []Dimension{{dim, value}}}
}

// EC2 builds a query on an instance metric (AWS/EC2, dimension InstanceId).
func EC2(metric, stat, instanceID string) Query {
	return single("AWS/EC2", metric, stat, "InstanceId", instanceID)
}

// Lambda builds a query on a function metric (AWS/Lambda, dimension FunctionName).
func Lambda(metric, stat, functionName string) Query {
	return single("AWS/Lambda", metric, stat, "FunctionName", functionName)
}

// RDS builds a query on a DB instance metric (AWS/RDS, dimension DBInstanceIdentifier).
func RDS(metric, stat, dbInstanceID string) Query {
	return single("AWS/RDS", metric, stat, "DBInstanceIdentifier", dbInstanceID)
}

// ElastiCache builds a query on a cache cluster metric (AWS/ElastiCache, dimension CacheClusterId).
func ElastiCache(metric, stat, cacheClusterID string) Query {
	return single("AWS/ElastiCache", metric, stat, "CacheClusterId", cacheClusterID)
}

// NATGateway builds a query on a NAT gateway metric (AWS/NATGateway, dimension NatGatewayId).
func NATGateway(metric, stat, natGatewayID string) Query {
	return single("AWS/NATGateway", metric, stat, "NatGatewayId", natGatewayID)
}

// ApplicationELB builds a query on an Application Load Balancer metric
// (AWS/ApplicationELB, dimension LoadBalancer = "app/<name>/<id>", the tail
// of the load balancer's ARN).
func ApplicationELB(metric, stat, lbDimension string) Query {
	return single("AWS/ApplicationELB", metric, stat, "LoadBalancer", lbDimension)
}

// NetworkELB builds a query on a Network Load Balancer metric (AWS/NetworkELB,
// dimension LoadBalancer = "net/<name>/<id>").
func NetworkELB(metric, stat, lbDimension string) Query {
	return single("AWS/NetworkELB", metric, stat, "LoadBalancer", lbDimension)
}

// DynamoDB builds a query on a table metric (AWS/DynamoDB, dimension TableName).
func DynamoDB(metric, stat, table string) Query {
	return single("AWS/DynamoDB", metric, stat, "TableName", table)
}

// PrivateLinkEndpoint builds a query on an interface endpoint metric
// (AWS/PrivateLinkEndpoints) with its full dimension set, which is how the
// metric is published.
func PrivateLinkEndpoint(metric, stat, endpointID, endpointType, serviceName, vpcID string) Query {
	return Query{Namespace: "AWS/PrivateLinkEndpoints", Metric: metric, Stat: stat, Dimensions: []Dimension{
		{"VPC Endpoint Id", endpointID}, {"Endpoint Type", endpointType}, {"Service Name", serviceName}, {"VPC Id", vpcID}}}
}

// Series is what CloudWatch returned for one query, oldest datapoint first.
// Complete is false when CloudWatch reported PartialData, InternalError or
// Forbidden for the query after its last page: such a series must not be read
// as "no activity".
type Series struct {
	Timestamps []time.Time
	Values     []float64
	Complete   bool
	Status     string
	Messages   []string
}

// Results maps queries to their series. The zero value holds nothing.
type Results struct{ m map[string]*Series }

// Get returns the series of q and whether it was fetched at all. A query that
// was not fetched (its call failed, or it was never asked for) reports false;
// callers must not treat that as a metric of zero.
func (r Results) Get(q Query) (Series, bool) {
	s, ok := r.m[q.Key()]
	if !ok {
		return Series{}, false
	}
	return *s, true
}

// Len is the number of distinct queries with a series.
func (r Results) Len() int { return len(r.m) }

// Stats counts what a Fetch cost.
type Stats struct {
	// Calls is the number of GetMetricData requests (pages included).
	Calls int
	// Queries is the number of distinct metrics requested: what CloudWatch bills.
	Queries int
	// Datapoints is the number of values returned.
	Datapoints int
	// Incomplete is the number of series that did not end Complete.
	Incomplete int
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	s.Calls += o.Calls
	s.Queries += o.Queries
	s.Datapoints += o.Datapoints
	s.Incomplete += o.Incomplete
}

// Calls returns the number of GetMetricData requests needed for n distinct
// queries when every response fits in one page: ⌈n/500⌉.
func Calls(n int) int { return (n + MaxQueriesPerCall - 1) / MaxQueriesPerCall }

// Fetch fetches every query over w, merging duplicates, at most
// MaxQueriesPerCall per request and following NextToken until each batch is
// done. Empty qs makes no call. It does not retry: throttling is the SDK
// retryer's job. On error it returns the series of the batches that finished;
// the queries of the failed and later batches are absent from Results.
func Fetch(ctx context.Context, api API, w Window, qs []Query) (Results, Stats, error) {
	res := Results{m: make(map[string]*Series)}
	var st Stats
	if err := w.Validate(); err != nil {
		return res, st, err
	}
	uniq := make([]Query, 0, len(qs))
	seen := make(map[string]struct{}, len(qs))
	for _, q := range qs {
		k := q.Key()
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		uniq = append(uniq, q)
	}
	st.Queries = len(uniq)
	period := int32(w.Period / time.Second)
	for start := 0; start < len(uniq); start += MaxQueriesPerCall {
		batch := uniq[start:min(start+MaxQueriesPerCall, len(uniq))]
		ids := make(map[string]string, len(batch)) // query ID -> key
		mdq := make([]cwtypes.MetricDataQuery, len(batch))
		for i, q := range batch {
			id := "q" + strconv.Itoa(i)
			ids[id] = q.Key()
			dims := make([]cwtypes.Dimension, len(q.Dimensions))
			for j, d := range q.Dimensions {
				dims[j] = cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)}
			}
			mdq[i] = cwtypes.MetricDataQuery{
				Id: aws.String(id),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(q.Namespace), MetricName: aws.String(q.Metric), Dimensions: dims},
					Period: aws.Int32(period),
					Stat:   aws.String(q.Stat),
				},
				ReturnData: aws.Bool(true),
			}
		}
		batchSeries := make(map[string]*Series, len(batch))
		p := cloudwatch.NewGetMetricDataPaginator(api, &cloudwatch.GetMetricDataInput{
			MetricDataQueries: mdq,
			StartTime:         aws.Time(w.Start),
			EndTime:           aws.Time(w.End),
			ScanBy:            cwtypes.ScanByTimestampAscending,
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			st.Calls++ // a failed request is a request too
			if err != nil {
				return res, st, fmt.Errorf("GetMetricData (queries %d-%d of %d): %w", start+1, start+len(batch), len(uniq), err)
			}
			for _, r := range out.MetricDataResults {
				k, ok := ids[aws.ToString(r.Id)]
				if !ok {
					continue
				}
				s := batchSeries[k]
				if s == nil {
					s = &Series{}
					batchSeries[k] = s
				}
				if s.Timestamps == nil && s.Values == nil {
					// The first page's slices are the series' own: the
					// response is not used after this.
					s.Timestamps, s.Values = r.Timestamps, r.Values
				} else {
					s.Timestamps = append(s.Timestamps, r.Timestamps...)
					s.Values = append(s.Values, r.Values...)
				}
				s.Status = string(r.StatusCode)
				for _, m := range r.Messages {
					s.Messages = append(s.Messages, aws.ToString(m.Value))
				}
				st.Datapoints += len(r.Values)
			}
		}
		for _, q := range batch {
			k := q.Key()
			s := batchSeries[k]
			if s == nil {
				// CloudWatch answers every query, even one without data; a
				// missing answer is not evidence of zero.
				s = &Series{Status: "Missing"}
			}
			s.Complete = s.Status == string(cwtypes.StatusCodeComplete)
			if !s.Complete {
				st.Incomplete++
			}
			sortSeries(s)
			res.m[k] = s
		}
	}
	return res, st, nil
}

func sortSeries(s *Series) {
	if sort.SliceIsSorted(s.Timestamps, func(i, j int) bool { return s.Timestamps[i].Before(s.Timestamps[j]) }) {
		return
	}
	idx := make([]int, len(s.Timestamps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.Timestamps[idx[a]].Before(s.Timestamps[idx[b]]) })
	ts := make([]time.Time, len(idx))
	vs := make([]float64, len(idx))
	for i, j := range idx {
		ts[i], vs[i] = s.Timestamps[j], s.Values[j]
	}
	s.Timestamps, s.Values = ts, vs
}
