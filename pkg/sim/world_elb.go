package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Average load balancers, and target groups attached to none, per 50
// resources of a pair.
const (
	loadBalancersPer50 = 2.0
	spareGroupsPer50   = 1.0
)

// genELB generates this group's resources, metric series and ground truth:
// Application, Network and a few Gateway Load Balancers with their target
// groups and targets, RequestCount / NewFlowCount series, and target groups
// attached to nothing. Ground truth is for elb-no-targets (minAgeDays 7),
// elb-idle (14 days, no traffic) and elb-unused-target-group.
//
// Ages on the boundaries are drawn so that the truth holds on the day of
// generation and on the next simulated day (churn keeps gen.now fixed while
// the collector's clock moves on).
func (g *gen) genELB(n int) {
	for range g.scaled(n, loadBalancersPer50) {
		g.loadBalancer()
	}
	for range g.scaled(n, spareGroupsPer50) {
		// Left behind by a deleted load balancer, or made ahead of one.
		tg := g.targetGroup("spare-"+g.hex(4), elbtypes.LoadBalancerTypeEnumApplication, nil)
		if g.rng.IntN(3) == 0 {
			g.registerTargets(tg, 1+g.rng.IntN(2), false)
		}
		g.expect("elb-unused-target-group", elbID(tg))
	}
}

// scaled draws a count averaging perFifty·n/50 (±50%), rounded at random so
// that a small n still yields one now and then.
func (g *gen) scaled(n int, perFifty float64) int {
	x := float64(n) / 50 * perFifty * (0.5 + g.rng.Float64())
	k := int(x)
	if g.rng.Float64() < x-float64(k) {
		k++
	}
	return k
}

// elbID is what the checks use as a load balancer's or target group's ID:
// its ARN's resource part without "loadbalancer/" ("app/web-1a2b/…",
// "targetgroup/web-1a2b-0/…").
func elbID[T elbtypes.LoadBalancer | elbtypes.TargetGroup](r T) string {
	var arn string
	switch v := any(r).(type) {
	case elbtypes.LoadBalancer:
		arn = aws.ToString(v.LoadBalancerArn)
	case elbtypes.TargetGroup:
		arn = aws.ToString(v.TargetGroupArn)
	}
	return strings.TrimPrefix(strings.SplitN(arn, ":", 6)[5], "loadbalancer/")
}

func (g *gen) elbARN(resource string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s/%s", g.region, g.account, resource, g.hex(16))
}

// loadBalancer adds one load balancer of a randomly drawn case, its target
// groups, its traffic series and its expected findings.
func (g *gen) loadBalancer() {
	typ := elbtypes.LoadBalancerTypeEnumApplication
	if g.rng.IntN(10) < 3 {
		typ = elbtypes.LoadBalancerTypeEnumNetwork
	}
	state := elbtypes.LoadBalancerStateEnumActive
	created := g.old()
	groups, targets := 1+g.rng.IntN(2), true
	busy := profile{base: 50, spread: 50000}
	zero := profile{exact: true}
	if g.rng.IntN(2) == 0 {
		zero = profile{none: true} // no traffic, no datapoints: ELB publishes none
	}
	traffic := busy
	var noTargets, idle bool
	draining := false // near miss: the last group holds one target, draining
	switch g.pick(0.39, 0.10, 0.08, 0.06, 0.05, 0.07, 0.04, 0.05, 0.05, 0.03, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01) {
	case 1: // serving nobody, targets registered
		traffic, idle = zero, true
	case 2: // never used: empty target groups, no traffic
		targets, traffic, noTargets, idle = false, zero, true, true
	case 3: // empty target groups, yet requests arrive (answered 503)
		typ, targets, noTargets = elbtypes.LoadBalancerTypeEnumApplication, false, true
	case 4: // no target group: an ALB that only redirects, or a bare NLB
		groups, noTargets = 0, true
		if typ == elbtypes.LoadBalancerTypeEnumNetwork || g.rng.IntN(2) == 0 {
			traffic, idle = zero, true
		}
	case 5: // near miss: three requests on one day
		traffic = profile{exact: true, spikeDay: g.spikeDay(), spike: 3}
	case 6: // last traffic long before the window
		traffic, idle = profile{exact: true, spikeDay: g.now.UTC().Truncate(day).Add(-20 * day), spike: 5000}, true
	case 7: // near miss: an empty group, and one whose only target is draining
		groups, targets, draining = 2, false, true
	case 8: // new: too young for either check
		created, targets, traffic = g.recent(), false, zero
	case 9: // old enough for elb-no-targets, too young for elb-idle
		created, targets, traffic, noTargets = g.now.Add(-time.Duration(8+g.rng.IntN(5))*day), false, zero, true
	case 10: // exactly one window old
		created, traffic, idle = g.now.Add(-14*day), zero, true
	case 11: // exactly the minimum age
		created, targets, traffic, noTargets = g.now.Add(-7*day), false, zero, true
	case 12: // a second under the window on the next simulated day
		created, traffic = g.now.Add(-13*day+time.Second), zero
	case 13: // a second under the minimum age on the next simulated day
		created, targets, traffic = g.now.Add(-6*day+time.Second), false, zero
	case 14: // Gateway Load Balancers are not judged
		typ, targets, traffic = elbtypes.LoadBalancerTypeEnumGateway, false, zero
	case 15: // not active: not judged while it is so
		state, targets, traffic = []elbtypes.LoadBalancerStateEnum{"provisioning", "failed", "active_impaired"}[g.rng.IntN(3)], false, zero
	}
	prefix := map[elbtypes.LoadBalancerTypeEnum]string{"application": "app", "network": "net", "gateway": "gwy"}[typ]
	name := fmt.Sprintf("%s-%s", []string{"web", "api", "edge", "internal"}[g.rng.IntN(4)], g.hex(4))
	lb := elbtypes.LoadBalancer{
		LoadBalancerArn: aws.String(g.elbARN("loadbalancer/" + prefix + "/" + name)), LoadBalancerName: aws.String(name),
		Type: typ, State: &elbtypes.LoadBalancerState{Code: state}, CreatedTime: aws.Time(created),
		Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, VpcId: aws.String("vpc-" + g.hex(17)),
		DNSName: aws.String(fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", name, g.hex(8), g.region)),
	}
	g.w.loadBalancers = append(g.w.loadBalancers, lb)
	id := elbID(lb)
	for i := range groups {
		tg := g.targetGroup(fmt.Sprintf("%s-%d", name, i), typ, lb.LoadBalancerArn)
		switch {
		case draining && i == groups-1:
			g.registerTargets(tg, 1, true)
		case targets:
			g.registerTargets(tg, 1+g.rng.IntN(3), false)
		}
	}
	traffic.from = created
	switch typ {
	case elbtypes.LoadBalancerTypeEnumApplication:
		g.put("AWS/ApplicationELB", "RequestCount", id, traffic)
	case elbtypes.LoadBalancerTypeEnumNetwork:
		g.put("AWS/NetworkELB", "NewFlowCount", id, traffic)
	}
	if noTargets {
		g.expect("elb-no-targets", id)
	}
	if idle {
		g.expect("elb-idle", id)
	}
}

// targetGroup adds a target group for a load balancer of type lbType,
// attached to lbARN when it is not nil.
func (g *gen) targetGroup(name string, lbType elbtypes.LoadBalancerTypeEnum, lbARN *string) elbtypes.TargetGroup {
	tg := elbtypes.TargetGroup{TargetGroupArn: aws.String(g.elbARN("targetgroup/" + name)), TargetGroupName: aws.String(name),
		TargetType: elbtypes.TargetTypeEnumInstance, VpcId: aws.String("vpc-" + g.hex(17))}
	switch lbType {
	case elbtypes.LoadBalancerTypeEnumNetwork:
		tg.Protocol, tg.Port = elbtypes.ProtocolEnumTcp, aws.Int32(443)
	case elbtypes.LoadBalancerTypeEnumGateway:
		tg.Protocol, tg.Port = elbtypes.ProtocolEnumGeneve, aws.Int32(6081)
	default:
		tg.Protocol, tg.Port = elbtypes.ProtocolEnumHttp, aws.Int32(80)
		if g.rng.IntN(3) == 0 {
			tg.TargetType = elbtypes.TargetTypeEnumIp
		}
	}
	if lbARN != nil {
		tg.LoadBalancerArns = []string{*lbARN}
	}
	g.w.targetGroups = append(g.w.targetGroups, tg)
	return tg
}

// registerTargets registers n instances in tg, healthy (or now and then
// unhealthy), or draining.
func (g *gen) registerTargets(tg elbtypes.TargetGroup, n int, draining bool) {
	arn := aws.ToString(tg.TargetGroupArn)
	for range n {
		s := elbtypes.TargetHealthStateEnumHealthy
		switch {
		case draining:
			s = elbtypes.TargetHealthStateEnumDraining
		case g.rng.IntN(5) == 0:
			s = elbtypes.TargetHealthStateEnumUnhealthy
		}
		g.w.targetHealth[arn] = append(g.w.targetHealth[arn], elbtypes.TargetHealthDescription{
			Target:       &elbtypes.TargetDescription{Id: aws.String("i-" + g.hex(17)), Port: tg.Port},
			TargetHealth: &elbtypes.TargetHealth{State: s},
		})
	}
}

// scaleToZeroShare is the daily chance that a load balancer with targets
// loses them all (its service scaled to zero, its instances terminated).
const scaleToZeroShare = 0.05

// churnELB deletes this group's resources for which del says so, and
// their ground truth. Deleting a load balancer leaves its target groups
// behind, attached to nothing: they become elb-unused-target-group
// findings. ELB refuses to delete a target group a listener forwards to, so
// only groups attached to nothing are deleted. Now and then every target of
// a load balancer is deregistered, a new elb-no-targets finding (its
// requests, answered 503, go on).
func (g *gen) churnELB(del func(id string) bool) {
	w := g.w
	gone := map[string]bool{} // ARNs of deleted load balancers
	w.loadBalancers = slices.DeleteFunc(w.loadBalancers, func(lb elbtypes.LoadBalancer) bool {
		if del(elbID(lb)) {
			gone[aws.ToString(lb.LoadBalancerArn)] = true
			return true
		}
		return false
	})
	w.targetGroups = slices.DeleteFunc(w.targetGroups, func(tg elbtypes.TargetGroup) bool {
		if len(tg.LoadBalancerArns) == 0 && del(elbID(tg)) {
			delete(w.targetHealth, aws.ToString(tg.TargetGroupArn))
			return true
		}
		return false
	})
	for i := range w.targetGroups {
		tg := &w.targetGroups[i]
		if len(tg.LoadBalancerArns) == 0 {
			continue
		}
		tg.LoadBalancerArns = slices.DeleteFunc(slices.Clone(tg.LoadBalancerArns), func(arn string) bool { return gone[arn] })
		if len(tg.LoadBalancerArns) == 0 {
			g.expect("elb-unused-target-group", elbID(*tg))
		}
	}
	groups := map[string][]string{} // load balancer ARN -> its target group ARNs
	for _, tg := range w.targetGroups {
		for _, lb := range tg.LoadBalancerArns {
			groups[lb] = append(groups[lb], aws.ToString(tg.TargetGroupArn))
		}
	}
	for _, lb := range w.loadBalancers {
		tgs := groups[aws.ToString(lb.LoadBalancerArn)]
		registered := slices.ContainsFunc(tgs, func(arn string) bool { return len(w.targetHealth[arn]) > 0 })
		// Judged by elb-no-targets (old enough by gen.now, so by every later clock too).
		judged := lb.State.Code == elbtypes.LoadBalancerStateEnumActive && lb.Type != elbtypes.LoadBalancerTypeEnumGateway &&
			!aws.ToTime(lb.CreatedTime).After(g.now.Add(-7*day))
		if !registered || !judged || g.rng.Float64() >= scaleToZeroShare {
			continue
		}
		for _, arn := range tgs {
			delete(w.targetHealth, arn)
		}
		g.expect("elb-no-targets", elbID(lb))
	}
}
