package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

const day = 24 * time.Hour

// Expected is one finding the simulator planted: the check that should report
// it and the resource. Ground truth holds for the checks' default parameters.
type Expected struct {
	CheckID    string
	ResourceID string
}

// world is everything one account × region holds.
type world struct {
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

	series map[string]profile // seriesKey(namespace, metric, dimension value)
	truth  []Expected
}

func seriesKey(namespace, metric, dim string) string { return namespace + "|" + metric + "|" + dim }

// profile draws one metric's daily values. No datapoint exists before from;
// none means no datapoint at all; exact repeats base; else base + spread·u
// with u uniform from a hash of the series and the day, so any window of any
// run sees the same value for the same day.
type profile struct {
	from     time.Time
	none     bool
	exact    bool
	base     float64
	spread   float64
	spikeDay time.Time
	spike    float64
	seed     uint64
}

func (p profile) at(d time.Time) (float64, bool) {
	if p.none || d.Before(p.from.Truncate(day)) {
		return 0, false
	}
	if !p.spikeDay.IsZero() && d.Equal(p.spikeDay) {
		return p.spike, true
	}
	if p.exact {
		return p.base, true
	}
	return p.base + p.spread*unit(p.seed^uint64(d.Unix())), true
}

// unit maps x to [0, 1) with splitmix64's finaliser.
func unit(x uint64) float64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

type gen struct {
	rng     *rand.Rand
	now     time.Time
	account string
	region  string
	w       *world
}

// pick returns an index into weights, drawn in proportion to them.
func (g *gen) pick(weights ...float64) int {
	x := g.rng.Float64()
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

// old is a creation time well before every default lookback (≥ 40 days).
func (g *gen) old() time.Time {
	return g.now.Add(-time.Duration(40+g.rng.IntN(400))*day - time.Duration(g.rng.IntN(24*60))*time.Minute)
}

// recent is a creation time inside every default lookback (1..5 days ago).
func (g *gen) recent() time.Time {
	return g.now.Add(-time.Duration(1+g.rng.IntN(5))*day - time.Duration(g.rng.IntN(12*60))*time.Minute)
}

func (g *gen) count(n int, share float64) int {
	return int(math.Round(float64(n) * share * (0.5 + g.rng.Float64())))
}

func (g *gen) put(namespace, metric, dim string, p profile) {
	k := seriesKey(namespace, metric, dim)
	p.seed = hash64(g.account, g.region, k)
	g.w.series[k] = p
}

func (g *gen) expect(check, id string) { g.w.truth = append(g.w.truth, Expected{check, id}) }

// ignoreShare of some wasteful resources carry an orgscan:ignore tag, as
// teams tag what they keep on purpose. Drawn from the ID's hash, not the
// generator's stream, so the rest of the world does not move.
const ignoreShare = 0.1

func (g *gen) ignoreTag(id, checks string) []ec2types.Tag {
	if unit(hash64("ignore", id)) >= ignoreShare {
		return nil
	}
	return []ec2types.Tag{{Key: aws.String("orgscan:ignore"), Value: aws.String(checks)}}
}

// spikeDay is inside every lookback of 3 days or more: near-miss resources
// do their one bit of work there.
func (g *gen) spikeDay() time.Time { return g.now.UTC().Truncate(day).Add(-3 * day) }

func (g *gen) tags(kind string) []ec2types.Tag {
	teams := []string{"payments", "search", "data", "platform", "web"}
	return []ec2types.Tag{
		{Key: aws.String("Name"), Value: aws.String(fmt.Sprintf("%s-%s", kind, g.hex(4)))},
		{Key: aws.String("team"), Value: aws.String(teams[g.rng.IntN(len(teams))])},
	}
}

var (
	instanceTypes = []ec2types.InstanceType{"t3.micro", "t3.medium", "m5.large", "m5.xlarge", "c5.large", "r5.large"}
	volumeTypes   = []ec2types.VolumeType{"gp3", "gp3", "gp2", "io1", "st1"}
	dbClasses     = []string{"db.t3.micro", "db.t3.medium", "db.m5.large", "db.r5.large"}
)

// generate builds the world of one pair from the seed alone.
func generate(cfg Config, account, region string) world {
	w := world{series: map[string]profile{}, targetHealth: map[string][]elbtypes.TargetHealthDescription{}}
	g := &gen{rng: rand.New(rand.NewPCG(cfg.Seed, hash64("world", account, region))), now: cfg.Now, account: account, region: region, w: &w}
	n := cfg.Resources
	g.instances(g.count(n, 0.30))
	g.volumes(g.count(n, 0.30))
	g.addresses(g.count(n, 0.08))
	g.natGateways(g.count(n, 0.04))
	g.functions(g.count(n, 0.20))
	g.dbInstances(g.count(n, 0.08))
	g.genEC2More(n)
	g.genELB(n)
	g.genData(n)
	for d := 1; d <= cfg.Day; d++ {
		g.churn(cfg, d)
	}
	return w
}

// Daily churn: each day a share of resources is deleted and a few new ones
// appear (idle or not, like the rest), so consecutive simulated days have
// findings that resolve and findings that are new.
const (
	deleteShare = 0.04
	addShare    = 0.03
)

// churn applies day d's deletions and additions. New resources are drawn
// from the day's own random stream, so day d's world is the same whatever
// day is asked for.
func (g *gen) churn(cfg Config, d int) {
	g.rng = rand.New(rand.NewPCG(cfg.Seed, hash64("day", g.account, g.region, fmt.Sprint(d))))
	gone := map[string]bool{}
	del := func(id string) bool {
		if g.rng.Float64() < deleteShare {
			gone[id] = true
			return true
		}
		return false
	}
	w := g.w
	w.instances = slices.DeleteFunc(w.instances, func(i ec2types.Instance) bool { return del(aws.ToString(i.InstanceId)) })
	w.volumes = slices.DeleteFunc(w.volumes, func(v ec2types.Volume) bool { return del(aws.ToString(v.VolumeId)) })
	w.addresses = slices.DeleteFunc(w.addresses, func(a ec2types.Address) bool { return del(aws.ToString(a.AllocationId)) })
	w.natGateways = slices.DeleteFunc(w.natGateways, func(n ec2types.NatGateway) bool { return del(aws.ToString(n.NatGatewayId)) })
	w.routeTables = slices.DeleteFunc(w.routeTables, func(t ec2types.RouteTable) bool {
		return len(t.Routes) > 0 && gone[aws.ToString(t.Routes[0].NatGatewayId)]
	})
	w.functions = slices.DeleteFunc(w.functions, func(f lambdatypes.FunctionConfiguration) bool { return del(aws.ToString(f.FunctionName)) })
	w.dbInstances = slices.DeleteFunc(w.dbInstances, func(db rdstypes.DBInstance) bool { return del(aws.ToString(db.DBInstanceIdentifier)) })
	g.churnEC2More(del)
	g.churnELB(del)
	g.churnData(del)
	w.truth = slices.DeleteFunc(w.truth, func(e Expected) bool { return gone[e.ResourceID] })
	n := cfg.Resources
	g.instances(g.count(n, 0.30*addShare))
	g.volumes(g.count(n, 0.30*addShare))
	g.addresses(g.count(n, 0.08*addShare))
	g.natGateways(g.count(n, 0.04*addShare))
	g.functions(g.count(n, 0.20*addShare))
	g.dbInstances(g.count(n, 0.08*addShare))
	// New resources of the other groups come from their generators too,
	// at the day's small share.
	m := max(1, int(float64(n)*addShare))
	g.genEC2More(m)
	g.genELB(m)
	g.genData(m)
}

func (g *gen) instances(n int) {
	for range n {
		id := "i-" + g.hex(17)
		typ := instanceTypes[g.rng.IntN(len(instanceTypes))]
		state := ec2types.InstanceStateNameRunning
		launched := g.old()
		busyCPU := profile{base: 15, spread: 55}
		busyNet := profile{base: 5e7, spread: 5e9}
		idleCPU := profile{base: 0.2, spread: 2.8}
		idleNet := profile{base: 1e4, spread: 1e6}
		cpu, netIn, netOut := busyCPU, busyNet, busyNet
		var ignored []ec2types.Tag
		switch g.pick(0.62, 0.15, 0.08, 0.03, 0.05, 0.07) {
		case 1: // idle
			cpu, netIn, netOut = idleCPU, idleNet, idleNet
			g.expect("ec2-idle-instance", id)
			ignored = g.ignoreTag(id, "ec2-idle-instance")
		case 2: // near miss: idle but for one day over a threshold
			cpu, netIn, netOut = idleCPU, idleNet, idleNet
			if g.rng.IntN(2) == 0 {
				cpu.spikeDay, cpu.spike = g.spikeDay(), 5.3
			} else {
				netIn.spikeDay, netIn.spike = g.spikeDay(), 2.6e6
				netOut.spikeDay, netOut.spike = g.spikeDay(), 2.6e6
			}
		case 3: // exactly at the thresholds (≤ is idle)
			cpu = profile{exact: true, base: 5}
			netIn = profile{exact: true, base: 2.5e6}
			netOut = profile{exact: true, base: 2.5e6}
			g.expect("ec2-idle-instance", id)
		case 4: // idle, but launched inside the lookback
			launched = g.recent()
			cpu, netIn, netOut = idleCPU, idleNet, idleNet
		case 5:
			state = ec2types.InstanceStateNameStopped
			cpu, netIn, netOut = profile{none: true}, profile{none: true}, profile{none: true}
		}
		cpu.from, netIn.from, netOut.from = launched, launched, launched
		g.put("AWS/EC2", "CPUUtilization", id, cpu)
		g.put("AWS/EC2", "NetworkIn", id, netIn)
		g.put("AWS/EC2", "NetworkOut", id, netOut)
		g.w.instances = append(g.w.instances, ec2types.Instance{
			InstanceId: aws.String(id), InstanceType: typ, LaunchTime: aws.Time(launched),
			State: &ec2types.InstanceState{Name: state}, Tags: append(g.tags("app"), ignored...),
		})
	}
}

func (g *gen) volumes(n int) {
	for range n {
		id := "vol-" + g.hex(17)
		typ := volumeTypes[g.rng.IntN(len(volumeTypes))]
		v := ec2types.Volume{VolumeId: aws.String(id), VolumeType: typ, Size: aws.Int32(int32(8 << g.rng.IntN(7))),
			CreateTime: aws.Time(g.old()), State: ec2types.VolumeStateInUse, Tags: g.tags("data")}
		switch typ {
		case "gp3":
			v.Iops, v.Throughput = aws.Int32(3000+int32(g.rng.IntN(3))*1000), aws.Int32(125)
		case "io1":
			v.Iops = aws.Int32(1000 + int32(g.rng.IntN(4))*500)
		}
		switch g.pick(0.75, 0.15, 0.03, 0.07) {
		case 0:
			inst := "i-" + g.hex(17)
			if len(g.w.instances) > 0 {
				inst = aws.ToString(g.w.instances[g.rng.IntN(len(g.w.instances))].InstanceId)
			}
			v.Attachments = []ec2types.VolumeAttachment{{InstanceId: aws.String(inst), VolumeId: aws.String(id), State: ec2types.VolumeAttachmentStateAttached}}
		case 1:
			v.State = ec2types.VolumeStateAvailable
			g.expect("ebs-unattached-volume", id)
			// A tag that names another check suppresses nothing here.
			v.Tags = append(v.Tags, g.ignoreTag(id, "ec2-idle-instance")...)
		case 2: // exactly the minimum age
			v.State = ec2types.VolumeStateAvailable
			v.CreateTime = aws.Time(g.now.Add(-7 * day))
			g.expect("ebs-unattached-volume", id)
		case 3: // unattached but new
			v.State = ec2types.VolumeStateAvailable
			v.CreateTime = aws.Time(g.recent())
		}
		g.w.volumes = append(g.w.volumes, v)
	}
}

func (g *gen) addresses(n int) {
	for range n {
		id := "eipalloc-" + g.hex(17)
		a := ec2types.Address{AllocationId: aws.String(id), Domain: ec2types.DomainTypeVpc, Tags: g.tags("ip"),
			PublicIp: aws.String(fmt.Sprintf("198.51.%d.%d", g.rng.IntN(256), 1+g.rng.IntN(254)))}
		if g.pick(0.7, 0.3) == 0 {
			a.AssociationId = aws.String("eipassoc-" + g.hex(17))
			a.InstanceId = aws.String("i-" + g.hex(17))
		} else {
			g.expect("ec2-unassociated-eip", id)
		}
		g.w.addresses = append(g.w.addresses, a)
	}
}

func (g *gen) natGateways(n int) {
	g.w.routeTables = append(g.w.routeTables, ec2types.RouteTable{RouteTableId: aws.String("rtb-" + g.hex(17)),
		Routes: []ec2types.Route{{DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String("local")}}})
	for range n {
		id := "nat-" + g.hex(17)
		created := g.old()
		conns, src, dst := profile{base: 5, spread: 500}, profile{base: 1e4, spread: 1e7}, profile{base: 1e4, spread: 1e7}
		zero := profile{exact: true}
		routed := true
		switch g.pick(0.5, 0.2, 0.1, 0.1, 0.1) {
		case 1:
			conns, src, dst = zero, zero, zero
			g.expect("vpc-idle-nat-gateway", id)
		case 2: // idle and in no route table: "unused"
			conns, src, dst = zero, zero, zero
			routed = false
			g.expect("vpc-idle-nat-gateway", id)
		case 3: // near miss: three packets on one day
			conns, src, dst = zero, zero, zero
			src.spikeDay, src.spike = g.spikeDay(), 3
		case 4: // idle but created inside the 32-day window
			conns, src, dst = zero, zero, zero
			created = g.now.Add(-time.Duration(10+g.rng.IntN(15)) * day)
		}
		conns.from, src.from, dst.from = created, created, created
		g.put("AWS/NATGateway", "ActiveConnectionCount", id, conns)
		g.put("AWS/NATGateway", "PacketsInFromSource", id, src)
		g.put("AWS/NATGateway", "PacketsInFromDestination", id, dst)
		g.w.natGateways = append(g.w.natGateways, ec2types.NatGateway{NatGatewayId: aws.String(id), CreateTime: aws.Time(created),
			State: ec2types.NatGatewayStateAvailable, VpcId: aws.String("vpc-" + g.hex(17)), Tags: g.tags("egress")})
		if routed {
			g.w.routeTables = append(g.w.routeTables, ec2types.RouteTable{RouteTableId: aws.String("rtb-" + g.hex(17)),
				Routes: []ec2types.Route{{DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(id)}}})
		}
	}
}

// FunctionSecretPrefix begins every secret the simulated functions hold in
// their environment (DB_PASSWORD): a string that must never appear in
// anything orgscan keeps.
const FunctionSecretPrefix = "sim-secret-db-password-"

// FunctionSecret is the value of the simulated function's DB_PASSWORD
// environment variable. It is derived from the name, not drawn from the
// seed's generator, so adding it changed no other value of any world.
func FunctionSecret(name string) string { return FunctionSecretPrefix + name }

func (g *gen) functions(n int) {
	for i := range n {
		name := fmt.Sprintf("fn-%s-%d", g.hex(6), i)
		modified := g.old()
		inv := profile{base: 10, spread: 10000}
		switch g.pick(0.6, 0.2, 0.1, 0.1) {
		case 1: // never invoked: Lambda publishes no datapoints
			inv = profile{none: true}
			g.expect("lambda-unused-function", name)
		case 2: // near miss: one invocation in the whole window
			inv = profile{from: modified, exact: true, spikeDay: g.spikeDay(), spike: 1}
		case 3: // unused but changed inside the lookback
			inv = profile{none: true}
			modified = g.now.Add(-time.Duration(5+g.rng.IntN(20)) * day)
		}
		inv.from = modified
		g.put("AWS/Lambda", "Invocations", name, inv)
		g.w.functions = append(g.w.functions, lambdatypes.FunctionConfiguration{
			FunctionName: aws.String(name),
			FunctionArn:  aws.String(fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", g.region, g.account, name)),
			LastModified: aws.String(modified.UTC().Format("2006-01-02T15:04:05.000-0700")),
			Runtime:      lambdatypes.RuntimeProvidedal2023, MemorySize: aws.Int32(128), State: lambdatypes.StateActive,
			Environment: &lambdatypes.EnvironmentResponse{Variables: map[string]string{
				"DB_PASSWORD": FunctionSecret(name), "LOG_LEVEL": "info",
			}},
		})
	}
}

func (g *gen) dbInstances(n int) {
	for i := range n {
		id := fmt.Sprintf("db-%s-%d", g.hex(6), i)
		created := g.old()
		conns := profile{base: 2, spread: 60}
		switch g.pick(0.6, 0.2, 0.1, 0.1) {
		case 1:
			conns = profile{exact: true}
			g.expect("rds-idle-instance", id)
		case 2: // near miss: one connection on one day
			conns = profile{exact: true}
			conns.spikeDay, conns.spike = g.spikeDay(), 1
		case 3: // idle since creation, inside the lookback
			conns = profile{exact: true}
			created = g.recent()
		}
		conns.from = created
		g.put("AWS/RDS", "DatabaseConnections", id, conns)
		g.w.dbInstances = append(g.w.dbInstances, rdstypes.DBInstance{
			DBInstanceIdentifier: aws.String(id),
			DBInstanceArn:        aws.String(fmt.Sprintf("arn:aws:rds:%s:%s:db:%s", g.region, g.account, id)),
			DBInstanceClass:      aws.String(dbClasses[g.rng.IntN(len(dbClasses))]),
			DBInstanceStatus:     aws.String("available"), Engine: aws.String("mysql"),
			InstanceCreateTime: aws.Time(created), MultiAZ: aws.Bool(g.rng.IntN(4) == 0),
			AllocatedStorage: aws.Int32(int32(20 * (1 + g.rng.IntN(10)))),
			TagList:          []rdstypes.Tag{{Key: aws.String("team"), Value: aws.String("data")}},
		})
	}
}

// Truth returns the findings planted in a pair, for the checks' default
// parameters. Resources of an account whose role is denied are still listed:
// they exist, the scan just cannot see them.
func (o *Org) Truth(accountID, region string) []Expected {
	return generate(o.cfg, accountID, region).truth
}
