package sim

import (
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
)

// The default lookback of elasticache-idle-cluster and
// dynamodb-idle-provisioned-table, for the exact-age boundary cases.
const dataLookback = 14 * day

const gib = int64(1) << 30

var (
	cacheNodeTypes = []string{"cache.t3.micro", "cache.t3.medium", "cache.m5.large", "cache.r5.large"}
	logRetention   = []int32{1, 7, 14, 30, 90, 365, 3653}
)

// genData generates this group's resources, metric series and ground truth.
func (g *gen) genData(n int) {
	g.genCacheClusters(g.dataCount(n, 3))
	g.genTables(g.dataCount(n, 3))
	g.genLogGroups(g.dataCount(n, 4))
}

// churnData deletes this group's resources for which del says so, and
// their ground truth.
func (g *gen) churnData(del func(id string) bool) {
	w := g.w
	w.cacheClusters = slices.DeleteFunc(w.cacheClusters, func(c ectypes.CacheCluster) bool { return del(aws.ToString(c.CacheClusterId)) })
	w.tables = slices.DeleteFunc(w.tables, func(t ddbtypes.TableDescription) bool { return del(aws.ToString(t.TableName)) })
	w.logGroups = slices.DeleteFunc(w.logGroups, func(l logstypes.LogGroup) bool { return del(aws.ToString(l.LogGroupName)) })
}

// dataCount is how many resources of a kind a pair of n resources gets:
// about per50 for every 50, the fraction drawn, so that a day's churn (a
// small n) still adds one now and then.
func (g *gen) dataCount(n int, per50 float64) int {
	x := float64(n) / 50 * per50 * (0.5 + g.rng.Float64())
	k := int(x)
	if g.rng.Float64() < x-float64(k) {
		k++
	}
	return k
}

// genCacheClusters plants ElastiCache clusters. Idle ones hold CurrConnections
// at ElastiCache's own monitoring connections, up to 6 (the default
// threshold, inclusive) every day.
func (g *gen) genCacheClusters(n int) {
	for i := range n {
		id := fmt.Sprintf("cache-%s-%d", g.hex(6), i)
		created := g.old()
		status := "available"
		conns := profile{base: 20, spread: 300}
		zero := profile{exact: true, base: float64(g.rng.IntN(7))} // monitoring connections only
		switch g.pick(0.5, 0.2, 0.08, 0.07, 0.06, 0.05, 0.04) {
		case 1: // idle
			conns = zero
			g.expect("elasticache-idle-cluster", id)
		case 2: // near miss: one client connection on one day
			conns = zero
			conns.spikeDay, conns.spike = g.spikeDay(), 7
		case 3: // exactly one lookback old: judged, and idle
			conns = zero
			created = g.now.Add(-dataLookback)
			g.expect("elasticache-idle-cluster", id)
		case 4: // idle since creation, inside the lookback
			conns = zero
			created = g.recent()
		case 5: // no datapoints at all: not enough evidence
			conns = profile{none: true}
		case 6: // idle but being modified
			conns = zero
			status = "modifying"
		}
		conns.from = created
		g.put("AWS/ElastiCache", "CurrConnections", id, conns)
		engine, nodes := "redis", int32(1)
		if g.rng.IntN(3) == 0 {
			engine, nodes = "memcached", int32(1+g.rng.IntN(3))
		}
		g.w.cacheClusters = append(g.w.cacheClusters, ectypes.CacheCluster{
			CacheClusterId:         aws.String(id),
			ARN:                    aws.String(fmt.Sprintf("arn:aws:elasticache:%s:%s:cluster:%s", g.region, g.account, id)),
			CacheClusterStatus:     aws.String(status),
			CacheClusterCreateTime: aws.Time(created),
			CacheNodeType:          aws.String(cacheNodeTypes[g.rng.IntN(len(cacheNodeTypes))]),
			Engine:                 aws.String(engine),
			NumCacheNodes:          aws.Int32(nodes),
		})
	}
}

// genTables plants DynamoDB tables. DynamoDB publishes no consumed-capacity
// datapoint for a table without traffic, so most idle tables have none;
// some have explicit zeros.
func (g *gen) genTables(n int) {
	for i := range n {
		name := fmt.Sprintf("tbl-%s-%d", g.hex(6), i)
		created := g.old()
		mode := ddbtypes.BillingModeProvisioned
		reads, writes := profile{base: 5, spread: 5000}, profile{base: 1, spread: 800}
		none, zero := profile{none: true}, profile{exact: true}
		switch g.pick(0.45, 0.15, 0.06, 0.08, 0.08, 0.06, 0.06, 0.06) {
		case 1: // idle: no datapoints
			reads, writes = none, none
			g.expect("dynamodb-idle-provisioned-table", name)
		case 2: // idle: zero-valued datapoints, exactly the threshold
			reads, writes = zero, zero
			g.expect("dynamodb-idle-provisioned-table", name)
		case 3: // near miss: one read unit on one day
			reads, writes = zero, none
			reads.spikeDay, reads.spike = g.spikeDay(), 1
		case 4: // near miss: half a write unit on one day
			reads, writes = none, zero
			writes.spikeDay, writes.spike = g.spikeDay(), 0.5
		case 5: // idle, but on demand: nothing billed for idleness
			reads, writes = none, none
			mode = ddbtypes.BillingModePayPerRequest
		case 6: // idle since creation, inside the lookback
			reads, writes = none, none
			created = g.recent()
		case 7: // exactly one lookback old and idle
			reads, writes = none, none
			created = g.now.Add(-dataLookback)
			g.expect("dynamodb-idle-provisioned-table", name)
		}
		reads.from, writes.from = created, created
		g.put("AWS/DynamoDB", "ConsumedReadCapacityUnits", name, reads)
		g.put("AWS/DynamoDB", "ConsumedWriteCapacityUnits", name, writes)
		t := ddbtypes.TableDescription{
			TableName:        aws.String(name),
			TableArn:         aws.String(fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", g.region, g.account, name)),
			TableStatus:      ddbtypes.TableStatusActive,
			CreationDateTime: aws.Time(created),
			TableSizeBytes:   aws.Int64(g.rng.Int64N(5 * gib)),
		}
		if mode == ddbtypes.BillingModePayPerRequest {
			t.BillingModeSummary = &ddbtypes.BillingModeSummary{BillingMode: mode}
			t.ProvisionedThroughput = &ddbtypes.ProvisionedThroughputDescription{ReadCapacityUnits: aws.Int64(0), WriteCapacityUnits: aws.Int64(0)}
		} else {
			if g.rng.IntN(2) == 0 { // older tables carry no BillingModeSummary
				t.BillingModeSummary = &ddbtypes.BillingModeSummary{BillingMode: mode}
			}
			t.ProvisionedThroughput = g.throughput()
			if g.rng.IntN(3) == 0 {
				t.GlobalSecondaryIndexes = []ddbtypes.GlobalSecondaryIndexDescription{{
					IndexName: aws.String("by-" + g.hex(4)), IndexStatus: ddbtypes.IndexStatusActive, ProvisionedThroughput: g.throughput(),
				}}
			}
		}
		g.w.tables = append(g.w.tables, t)
	}
}

func (g *gen) throughput() *ddbtypes.ProvisionedThroughputDescription {
	units := []int64{1, 5, 10, 25, 100}
	return &ddbtypes.ProvisionedThroughputDescription{
		ReadCapacityUnits: aws.Int64(units[g.rng.IntN(len(units))]), WriteCapacityUnits: aws.Int64(units[g.rng.IntN(len(units))])}
}

// genLogGroups plants log groups. The age of a group does not matter to
// logs-no-retention; only its retention policy and stored bytes do.
func (g *gen) genLogGroups(n int) {
	for i := range n {
		name := fmt.Sprintf("/aws/lambda/svc-%s-%d", g.hex(6), i)
		if g.rng.IntN(2) == 0 {
			name = fmt.Sprintf("/app/%s/%d", g.hex(6), i)
		}
		var retention *int32
		stored := int64((1 + 200*g.rng.Float64()) * float64(gib))
		switch g.pick(0.4, 0.2, 0.06, 0.12, 0.22) {
		case 0: // a retention policy: fine at any size
			retention = aws.Int32(logRetention[g.rng.IntN(len(logRetention))])
		case 1: // never expires, and large
			g.expect("logs-no-retention", name)
		case 2: // never expires, exactly the minimum size
			stored = gib
			g.expect("logs-no-retention", name)
		case 3: // near miss: never expires, just under the minimum size
			stored = gib - 1 - g.rng.Int64N(1<<20)
		case 4: // never expires, but small
			stored = g.rng.Int64N(200 << 20)
		}
		created := g.old()
		if g.rng.IntN(4) == 0 {
			created = g.recent()
		}
		arn := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", g.region, g.account, name)
		g.w.logGroups = append(g.w.logGroups, logstypes.LogGroup{
			LogGroupName:    aws.String(name),
			Arn:             aws.String(arn + ":*"),
			LogGroupArn:     aws.String(arn),
			CreationTime:    aws.Int64(created.UnixMilli()),
			RetentionInDays: retention,
			StoredBytes:     aws.Int64(stored),
			LogGroupClass:   logstypes.LogGroupClassStandard,
		})
	}
}
