package checks_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/checks"
)

// secGroup is a security group in vpc-1 allowing HTTPS in from 10.0.0.0/8
// and everything out.
func secGroup(id, name string, tags ...string) ec2types.SecurityGroup {
	return ec2types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String(name), VpcId: aws.String("vpc-1"), Tags: ec2Tags(tags...),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}},
		IpPermissionsEgress: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}},
	}
}

// referring adds a rule to g allowing traffic from (or, egress, to) group ref.
func referring(g ec2types.SecurityGroup, ref string, egress bool) ec2types.SecurityGroup {
	rule := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(ref), UserId: aws.String(account)}}}
	if egress {
		g.IpPermissionsEgress = append(g.IpPermissionsEgress, rule)
	} else {
		g.IpPermissions = append(g.IpPermissions, rule)
	}
	return g
}

// netIface is a network interface in subnet-1 with the given status and
// security groups.
func netIface(id string, status ec2types.NetworkInterfaceStatus, groups ...string) ec2types.NetworkInterface {
	n := ec2types.NetworkInterface{NetworkInterfaceId: aws.String(id), Status: status, SubnetId: aws.String("subnet-1"), VpcId: aws.String("vpc-1"),
		InterfaceType: ec2types.NetworkInterfaceTypeInterface, RequesterManaged: aws.Bool(false)}
	for _, g := range groups {
		n.Groups = append(n.Groups, ec2types.GroupIdentifier{GroupId: aws.String(g)})
	}
	return n
}

func TestEC2UnusedSecurityGroup(t *testing.T) {
	t.Parallel()
	const id = "sg-0unused"
	inUse := ec2types.NetworkInterfaceStatusInUse
	zero := usd(0)
	groups := func(gs ...ec2types.SecurityGroup) func(f *fakeAWS) {
		return func(f *fakeAWS) { f.securityGroups = gs }
	}
	runCheckCases(t, checks.EC2UnusedSecurityGroup, []checkCase{
		{
			name: "group on no interface and in no rule reported at a known zero cost",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup(id, "old-web", "Name", "legacy web", "team", "web"),
					secGroup("sg-used", "app"), secGroup("sg-default", "default")}
				f.interfaces = []ec2types.NetworkInterface{netIface("eni-1", inUse, "sg-used", "sg-default")}
			},
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "ec2-unused-security-group",
				Resource: checks.Resource{Type: "AWS::EC2::SecurityGroup", ID: id, ARN: "arn:aws:ec2:us-east-1:111122223333:security-group/" + id,
					Name: "legacy web", State: "unused", Tags: map[string]string{"Name": "legacy web", "team": "web"}},
				Verdict: checks.Verdict{
					Reason: `security group "old-web" in vpc-1 is attached to no network interface and referenced by no other security group ` +
						"(1 inbound, 1 outbound rule(s)); security groups are free, this is clutter",
					Evidence:       map[string]float64{"inboundRules": 1, "outboundRules": 1},
					MonthlyCostUSD: zero,
				},
			}},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeSGs: 1, opDescribeENIs: 1},
		},
		{
			name:         "unpriced region: the cost is still a known zero",
			region:       unpriced,
			setup:        groups(secGroup(id, "old-web")),
			wantIDs:      []string{id},
			wantCost:     zero,
			wantNoReason: []string{"no price known"},
		},
		{
			name:       "without a Name tag the group name names it",
			setup:      groups(secGroup(id, "old-web")),
			wantIDs:    []string{id},
			wantReason: []string{`security group "old-web" in vpc-1`},
		},
		{
			name: "the default group is never reported, and interfaces are not read",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup("sg-default", "default")}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeSGs: 1},
		},
		{
			name:    "only the name \"default\" is the default group",
			setup:   groups(secGroup("sg-a", "Default"), secGroup("sg-b", "default-web"), secGroup("sg-c", "default ")),
			wantIDs: []string{"sg-a", "sg-b", "sg-c"},
		},
		{
			name: "attached to an in-use interface: not reported",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup(id, "app")}
				f.interfaces = []ec2types.NetworkInterface{netIface("eni-1", inUse, "sg-x", id)}
			},
			wantCalls: map[string]int{opDescribeSGs: 1, opDescribeENIs: 1},
		},
		{
			name: "attached to a detached interface is still attached: not reported",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup(id, "app")}
				f.interfaces = []ec2types.NetworkInterface{netIface("eni-1", ec2types.NetworkInterfaceStatusAvailable, id)}
			},
		},
		{
			name: "referenced by another group's inbound rule: not reported",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup(id, "db-clients"), referring(secGroup("sg-db", "db"), id, false)}
				f.interfaces = []ec2types.NetworkInterface{netIface("eni-db", inUse, "sg-db")}
			},
			wantCalls: map[string]int{opDescribeSGs: 1, opDescribeENIs: 1},
		},
		{
			name: "referenced by another group's outbound rule: not reported",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{referring(secGroup("sg-app", "app"), id, true), secGroup(id, "db")}
				f.interfaces = []ec2types.NetworkInterface{netIface("eni-app", inUse, "sg-app")}
			},
			wantCalls: map[string]int{opDescribeSGs: 1, opDescribeENIs: 1},
		},
		{
			name: "groups referring to each other are both referenced: interfaces not read",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{referring(secGroup("sg-a", "a"), "sg-b", false), referring(secGroup("sg-b", "b"), "sg-a", true)}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeSGs: 1},
		},
		{
			name: "a referring group that is itself unused is reported; the group it refers to is not",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup("sg-target", "target"), referring(secGroup("sg-source", "source"), "sg-target", false)}
			},
			wantIDs:    []string{"sg-source"},
			wantReason: []string{"(2 inbound, 1 outbound rule(s))"},
		},
		{
			name:       "a rule referring to the group itself is no use",
			setup:      groups(referring(referring(secGroup(id, "cluster"), id, false), id, true)),
			wantIDs:    []string{id},
			wantReason: []string{"(2 inbound, 2 outbound rule(s))"},
		},
		{
			name: "a group without any rule is reported",
			setup: func(f *fakeAWS) {
				g := secGroup(id, "empty")
				g.IpPermissions, g.IpPermissionsEgress = nil, nil
				f.securityGroups = []ec2types.SecurityGroup{g}
			},
			wantIDs:      []string{id},
			wantEvidence: map[string]float64{"inboundRules": 0, "outboundRules": 0},
		},
		{
			name: "interfaces without groups attach none",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup(id, "app")}
				f.interfaces = []ec2types.NetworkInterface{netIface("eni-1", inUse)}
			},
			wantIDs: []string{id},
		},
		{
			name: "a group outside any VPC says so",
			setup: func(f *fakeAWS) {
				g := secGroup(id, "classic")
				g.VpcId = nil
				f.securityGroups = []ec2types.SecurityGroup{g}
			},
			wantIDs:    []string{id},
			wantReason: []string{`security group "classic" in no VPC`},
		},
		{
			name: "many groups and interfaces over many pages",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 7 {
					f.securityGroups = append(f.securityGroups, secGroup(fmt.Sprintf("sg-%d", i), fmt.Sprintf("g%d", i)))
				}
				f.securityGroups[4] = referring(f.securityGroups[4], "sg-5", false)
				f.interfaces = []ec2types.NetworkInterface{netIface("eni-1", inUse, "sg-1"), netIface("eni-2", inUse), netIface("eni-3", inUse, "sg-3", "sg-4")}
			},
			wantIDs:   []string{"sg-0", "sg-2", "sg-6"},
			wantCost:  zero,
			wantCalls: map[string]int{opDescribeSGs: 4, opDescribeENIs: 2},
		},
		{
			name: "DescribeNetworkInterfaces denied fails the check",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup(id, "app")}
				f.errs = map[string]error{opDescribeENIs: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "ec2-unused-security-group", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
		{
			name: "DescribeSecurityGroups denied",
			setup: func(f *fakeAWS) {
				f.securityGroups = []ec2types.SecurityGroup{secGroup(id, "app")}
				f.errs = map[string]error{opDescribeSGs: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "ec2-unused-security-group", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opDescribeSGs: 1},
		},
	})
}
