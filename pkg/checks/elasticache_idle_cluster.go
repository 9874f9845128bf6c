package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// ElastiCacheIdleCluster finds cache clusters no client connected to during
// the lookback.
//
// CurrConnections is published per cache node (dimensions CacheClusterId and
// CacheNodeId) and aggregated per cluster (CacheClusterId alone). The check
// asks for the cluster aggregate: one query per cluster however many nodes it
// has, and its daily Maximum is the busiest node's peak, so a cluster is
// idle only when every node is. A Valkey/Redis OSS replication group lists
// each of its nodes as a cluster of one node, so there the two are the same.
var ElastiCacheIdleCluster = Check{
	ID:           "elasticache-idle-cluster",
	Service:      "elasticache",
	ResourceType: "AWS::ElastiCache::CacheCluster",
	Category:     finding.Idle,
	Description:  "Available ElastiCache clusters whose highest CurrConnections over the lookback (the cluster-level series, dimension CacheClusterId: the busiest node's peak) is at or under the threshold (6 by default: ElastiCache's own monitoring connections).",
	Params: []Param{
		lookbackParam(14, "orgscan default: two weeks, like rds-idle-instance, so a weekly job still counts"),
		// Trusted Advisor has no ElastiCache idle check to borrow a threshold
		// from. CurrConnections counts ElastiCache's own monitoring
		// connections too (4 to 6 on Valkey/Redis OSS; 2 to 3 plus twice the
		// thread count on Memcached, per the ElastiCache metric reference),
		// so a cluster that clients ignore may never read 0.
		{Name: "maxConnections", Default: 6, Min: 0, Max: 1e6, Unit: "connections", Description: "highest CurrConnections tolerated (on the busiest node)",
			Source: "ElastiCache metric reference: CurrConnections includes ElastiCache's own monitoring connections (up to 6 on Valkey/Redis OSS), so a cluster no client uses reads up to 6; Trusted Advisor has no ElastiCache idle check"},
	},
	Actions:     []string{"elasticache:DescribeCacheClusters", "cloudwatch:GetMetricData"},
	Metrics:     []Metric{{"AWS/ElastiCache", "CurrConnections", "Maximum"}},
	MissingData: "no CurrConnections datapoint in the whole window is not enough evidence: the cluster is not reported; days without datapoints are ignored",
	Select:      selectIdleCacheClusters,
	Evaluate:    evaluateIdleCacheCluster,
}

func selectIdleCacheClusters(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	clusters, err := inv.CacheClusters(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, c := range clusters {
		if aws.ToString(c.CacheClusterStatus) != "available" {
			continue
		}
		created := aws.ToTime(c.CacheClusterCreateTime)
		if !oldEnough(created, env.Now, env.LookbackDays()) {
			continue
		}
		id := aws.ToString(c.CacheClusterId)
		out = append(out, Candidate{
			// DescribeCacheClusters returns no tags (ListTagsForResource
			// would cost a call per cluster).
			Resource: Resource{Type: "AWS::ElastiCache::CacheCluster", ID: id, ARN: aws.ToString(c.ARN), Name: id,
				State: "available", Created: created},
			Queries: map[string]cwbatch.Query{"connections": cwbatch.ElastiCache("CurrConnections", "Maximum", id)},
			Data:    c,
		})
	}
	return out, nil
}

func evaluateIdleCacheCluster(c Candidate, m cwbatch.Results, env Env) (*Verdict, error) {
	n := env.LookbackDays()
	d, err := lastDays(m, c.Queries["connections"], env.Now, n)
	if err != nil {
		return nil, err
	}
	if d.days() == 0 {
		return nil, nil
	}
	peak := d.max()
	if peak > env.Params["maxConnections"] {
		return nil, nil
	}
	cc := c.Data.(ectypes.CacheCluster)
	nodeType := aws.ToString(cc.CacheNodeType)
	nodes := aws.ToInt32(cc.NumCacheNodes)
	usd := cost(env.Prices.CacheNodes(env.Region, nodeType, nodes))
	return &Verdict{
		Reason: fmt.Sprintf("%s cluster of %d %s node(s): at most %g connections on any node in %s (threshold %g); created %s%s",
			aws.ToString(cc.Engine), nodes, nodeType, peak, days(n), env.Params["maxConnections"],
			c.Resource.Created.UTC().Format("2006-01-02"), unknownNote(usd, nodeType, env.Region)),
		Evidence:       map[string]float64{"maxConnections": peak, "daysWithData": float64(d.days()), "lookbackDays": float64(n), "cacheNodes": float64(nodes)},
		MonthlyCostUSD: usd,
	}, nil
}
