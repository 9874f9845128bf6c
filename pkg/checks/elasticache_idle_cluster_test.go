package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

func ecCluster(id, engine, nodeType, status string, nodes int32, created time.Time) ectypes.CacheCluster {
	c := ectypes.CacheCluster{
		CacheClusterId:     aws.String(id),
		ARN:                aws.String("arn:aws:elasticache:us-east-1:111122223333:cluster:" + id),
		Engine:             aws.String(engine),
		CacheNodeType:      aws.String(nodeType),
		CacheClusterStatus: aws.String(status),
		NumCacheNodes:      aws.Int32(nodes),
	}
	if !created.IsZero() {
		c.CacheClusterCreateTime = aws.Time(created)
	}
	return c
}

func currConnections(f *fakeAWS, id string, pts []point) {
	f.set(cwbatch.ElastiCache("CurrConnections", "Maximum", id), pts)
}

// idleCache adds an old, available one-node Redis cluster with 14 days of
// zero connections.
func idleCache(f *fakeAWS, id string) {
	f.cacheClusters = append(f.cacheClusters, ecCluster(id, "redis", "cache.t3.micro", "available", 1, daysAgo(300)))
	currConnections(f, id, flat(14, 0))
}

func TestElastiCacheIdleCluster(t *testing.T) {
	t.Parallel()
	const id = "sessions-001"
	micro := priceOf(pricing.Default().CacheNodes(priced, "cache.t3.micro", 1))
	if micro == nil || *micro != 12.41 { // 0.017 $/h × 730 h
		t.Fatalf("pricing fixture changed: cache.t3.micro = %v", fmtCost(micro))
	}
	three := priceOf(pricing.Default().CacheNodes(priced, "cache.m5.large", 3))
	if three == nil || *three != 341.64 { // 3 × 0.156 $/h × 730 h
		t.Fatalf("pricing fixture changed: 3 × cache.m5.large = %v", fmtCost(three))
	}
	one := func(pts []point) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.cacheClusters = []ectypes.CacheCluster{ecCluster(id, "redis", "cache.t3.micro", "available", 1, daysAgo(300))}
			currConnections(f, id, pts)
		}
	}
	createdAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.cacheClusters = []ectypes.CacheCluster{ecCluster(id, "redis", "cache.t3.micro", "available", 1, at)}
			currConnections(f, id, flat(14, 0))
		}
	}
	runCheckCases(t, checks.ElastiCacheIdleCluster, []checkCase{
		{
			name:    "idle cluster reported with its node cost",
			setup:   one(flat(14, 0)),
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "elasticache-idle-cluster",
				Resource: checks.Resource{Type: "AWS::ElastiCache::CacheCluster", ID: id, ARN: "arn:aws:elasticache:us-east-1:111122223333:cluster:" + id,
					Name: id, State: "available", Created: daysAgo(300)},
				Verdict: checks.Verdict{
					Reason:         "redis cluster of 1 cache.t3.micro node(s): at most 0 connections on any node in 14 days (threshold 6); created 2026-01-24",
					Evidence:       map[string]float64{"maxConnections": 0, "daysWithData": 14, "lookbackDays": 14, "cacheNodes": 1},
					MonthlyCostUSD: micro,
				},
			}},
			wantCalls: map[string]int{opDescribeCaches: 1, opGetMetricData: 1},
		},
		{
			name: "every node is billed",
			setup: func(f *fakeAWS) {
				f.cacheClusters = []ectypes.CacheCluster{ecCluster(id, "memcached", "cache.m5.large", "available", 3, daysAgo(300))}
				currConnections(f, id, flat(14, 0))
			},
			wantIDs:    []string{id},
			wantReason: []string{"memcached cluster of 3 cache.m5.large node(s)"},
			wantCost:   three,
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(flat(14, 0)),
			wantIDs:     []string{id},
			wantReason:  []string{"at most 0 connections", "(no price known for cache.t3.micro in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name: "unknown node type in a priced region: nil cost",
			setup: func(f *fakeAWS) {
				f.cacheClusters = []ectypes.CacheCluster{ecCluster(id, "redis", "cache.x9.huge", "available", 1, daysAgo(300))}
				currConnections(f, id, flat(14, 0))
			},
			wantIDs:     []string{id},
			wantReason:  []string{"(no price known for cache.x9.huge in us-east-1)"},
			wantNilCost: true,
		},
		{
			name:  "busy cluster: not reported",
			setup: one(flat(14, 40)),
		},
		{
			name:  "seven connections on one day (one over the default threshold): not reported",
			setup: one(with(14, 0, 9, 7)),
		},
		{
			name:  "seven connections on the oldest day of the window: not reported",
			setup: one(with(14, 0, 0, 7)),
		},
		{
			name:       "peak exactly at a raised threshold: reported",
			params:     map[string]float64{"maxConnections": 10},
			setup:      one(with(14, 4, 5, 10)),
			wantIDs:    []string{id},
			wantReason: []string{"at most 10 connections on any node in 14 days (threshold 10)"},
			wantEvidence: map[string]float64{"maxConnections": 10, "daysWithData": 14, "lookbackDays": 14,
				"cacheNodes": 1},
		},
		{
			name:   "peak one over a raised threshold: not reported",
			params: map[string]float64{"maxConnections": 10},
			setup:  one(with(14, 4, 5, 11)),
		},
		{
			name:      "no datapoints in the whole window: not enough evidence, no error",
			setup:     one(nil),
			wantCalls: map[string]int{opDescribeCaches: 1, opGetMetricData: 1},
		},
		{
			name:         "a single zero datapoint is enough evidence",
			setup:        one(daily(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0, nan, nan, nan)),
			wantIDs:      []string{id},
			wantEvidence: map[string]float64{"maxConnections": 0, "daysWithData": 1, "lookbackDays": 14, "cacheNodes": 1},
		},
		{
			name:        "younger than the window: never a candidate",
			setup:       createdAt(daysAgo(13)),
			wantNoFetch: true,
		},
		{
			name:        "created one second too late for the window",
			setup:       createdAt(daysAgo(14).Add(time.Second)),
			wantNoFetch: true,
		},
		{
			name:       "created exactly one window ago: judged",
			setup:      createdAt(daysAgo(14)),
			wantIDs:    []string{id},
			wantReason: []string{"created 2026-11-06"},
		},
		{
			name:        "unknown creation time: never a candidate",
			setup:       createdAt(time.Time{}),
			wantNoFetch: true,
		},
		{
			name:       "shorter lookback judges a younger cluster",
			params:     map[string]float64{"lookbackDays": 7},
			setup:      createdAt(daysAgo(10)),
			wantIDs:    []string{id},
			wantReason: []string{"in 7 days"},
		},
		{
			name: "clusters not available are no candidates",
			setup: func(f *fakeAWS) {
				for _, s := range []string{"creating", "modifying", "deleting", "snapshotting", "rebooting cache cluster nodes", "incompatible-network"} {
					f.cacheClusters = append(f.cacheClusters, ecCluster("cc-"+s, "redis", "cache.t3.micro", s, 1, daysAgo(300)))
					currConnections(f, "cc-"+s, flat(14, 0))
				}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeCaches: 1},
		},
		{
			name: "clusters over many pages (Marker)",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 5 {
					idleCache(f, fmt.Sprintf("cc-%d", i))
				}
				currConnections(f, "cc-2", flat(14, 30))
			},
			wantIDs:   []string{"cc-0", "cc-1", "cc-3", "cc-4"},
			wantCost:  micro,
			wantCalls: map[string]int{opDescribeCaches: 3, opGetMetricData: 1},
		},
		{
			name: "DescribeCacheClusters denied",
			setup: func(f *fakeAWS) {
				idleCache(f, id)
				f.errs = map[string]error{opDescribeCaches: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "elasticache-idle-cluster", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
	})
}

func TestElastiCacheIdleClusterMetricsUnavailable(t *testing.T) {
	t.Parallel()
	testMetricsUnavailable(t, checks.ElastiCacheIdleCluster, func(f *fakeAWS) { idleCache(f, "cc-1") },
		cwbatch.ElastiCache("CurrConnections", "Maximum", "cc-1"))
}
