package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// EC2UnusedSecurityGroup finds security groups that protect nothing: no
// network interface carries them and no other group's rules refer to them.
// Security groups are free; an unused one is clutter that makes rule reviews
// harder and can be attached to something by mistake.
//
// Every VPC's "default" group is skipped: AWS does not let it be deleted.
// A rule of a group that refers to the group itself is not a use. AWS gives
// no creation time for a security group, so there is no minimum age: a group
// created for a resource not yet launched is reported until it is attached.
// Launch templates and launch configurations refer to groups without any
// network interface; a group used only by them is reported too.
var EC2UnusedSecurityGroup = Check{
	ID:           "ec2-unused-security-group",
	Service:      "ec2",
	ResourceType: "AWS::EC2::SecurityGroup",
	Category:     finding.Hygiene,
	Description:  "Non-default security groups attached to no network interface and referenced by no other security group's rules.",
	Actions:      []string{"ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces"},
	MissingData:  "no metrics: decided from DescribeSecurityGroups and DescribeNetworkInterfaces; AWS gives no creation time, so there is no minimum age",
	Select:       selectUnusedSecurityGroups,
	Evaluate:     evaluateUnusedSecurityGroup,
}

func selectUnusedSecurityGroups(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	groups, err := inv.SecurityGroups(ctx)
	if err != nil {
		return nil, err
	}
	referenced := map[string]bool{}
	for _, g := range groups {
		self := aws.ToString(g.GroupId)
		for _, rules := range [][]ec2types.IpPermission{g.IpPermissions, g.IpPermissionsEgress} {
			for _, r := range rules {
				for _, p := range r.UserIdGroupPairs {
					if id := aws.ToString(p.GroupId); id != self {
						referenced[id] = true
					}
				}
			}
		}
	}
	var unreferenced []ec2types.SecurityGroup
	for _, g := range groups {
		if aws.ToString(g.GroupName) != "default" && !referenced[aws.ToString(g.GroupId)] {
			unreferenced = append(unreferenced, g)
		}
	}
	if len(unreferenced) == 0 {
		return nil, nil // network interfaces are only read when a group could be reported
	}
	enis, err := inv.NetworkInterfaces(ctx)
	if err != nil {
		return nil, err
	}
	attached := map[string]bool{}
	for _, n := range enis {
		for _, g := range n.Groups {
			attached[aws.ToString(g.GroupId)] = true
		}
	}
	var out []Candidate
	for _, g := range unreferenced {
		id := aws.ToString(g.GroupId)
		if attached[id] {
			continue
		}
		tags := ec2Tags(g.Tags)
		name := nameTag(tags)
		if name == "" {
			name = aws.ToString(g.GroupName)
		}
		out = append(out, Candidate{
			Resource: Resource{Type: "AWS::EC2::SecurityGroup", ID: id, ARN: ec2ARN(env, "security-group", id), Name: name,
				State: "unused", Tags: tags},
			Data: g,
		})
	}
	return out, nil
}

func evaluateUnusedSecurityGroup(c Candidate, _ cwbatch.Results, _ Env) (*Verdict, error) {
	g := c.Data.(ec2types.SecurityGroup)
	zero := 0.0
	vpc := aws.ToString(g.VpcId)
	if vpc == "" {
		vpc = "no VPC"
	}
	return &Verdict{
		Reason: fmt.Sprintf("security group %q in %s is attached to no network interface and referenced by no other security group (%d inbound, %d outbound rule(s)); security groups are free, this is clutter",
			aws.ToString(g.GroupName), vpc, len(g.IpPermissions), len(g.IpPermissionsEgress)),
		Evidence:       map[string]float64{"inboundRules": float64(len(g.IpPermissions)), "outboundRules": float64(len(g.IpPermissionsEgress))},
		MonthlyCostUSD: &zero,
	}, nil
}
