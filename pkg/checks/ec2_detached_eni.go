package checks

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// EC2DetachedENI finds elastic network interfaces attached to nothing
// (status "available"). A detached interface is free unless it holds a
// public IPv4 address (an Elastic IP associated with it), which AWS bills by
// the hour; otherwise it is clutter that uses an address of its subnet.
//
// Interfaces that an AWS service created and manages (RequesterManaged, or
// managed by a service operator) are skipped: their owner cannot delete
// them. EC2 gives neither a creation nor a detach time, so there is no
// minimum age: an interface detached a minute ago is reported.
var EC2DetachedENI = Check{
	ID:           "ec2-detached-eni",
	Service:      "ec2",
	ResourceType: "AWS::EC2::NetworkInterface",
	Category:     finding.Hygiene,
	Description:  "Network interfaces attached to nothing (status available) that their owner can delete; billed only for the public IPv4 addresses they hold.",
	Actions:      []string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeNatGateways"},
	MissingData:  "no metrics: decided from DescribeNetworkInterfaces; EC2 gives no creation or detach time, so there is no minimum age",
	Select:       selectDetachedENIs,
	Evaluate:     evaluateDetachedENI,
}

var userInterfaceTypes = map[string]bool{"interface": true, "efa": true, "efa-only": true, "trunk": true, "branch": true}

func selectDetachedENIs(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	enis, err := inv.NetworkInterfaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	var natENIs map[string]bool
	for _, n := range enis {
		if n.Status != ec2types.NetworkInterfaceStatusAvailable || aws.ToBool(n.RequesterManaged) ||
			(n.Operator != nil && aws.ToBool(n.Operator.Managed)) {
			continue
		}
		// Interfaces of a managed type (nat_gateway, vpc_endpoint, lambda,
		// load balancers...) belong to the service that made them; users
		// create interface, efa, efa-only, trunk and branch ones.
		if t := string(n.InterfaceType); t != "" && !userInterfaceTypes[t] {
			continue
		}
		// A NAT gateway's interface is its own even where an endpoint
		// reports it as a plain, available interface (moto does): read the
		// gateways, once, only when there is a candidate.
		if natENIs == nil {
			gws, err := inv.NATGateways(ctx)
			if err != nil {
				return nil, err
			}
			natENIs = map[string]bool{}
			for _, g := range gws {
				for _, a := range g.NatGatewayAddresses {
					natENIs[aws.ToString(a.NetworkInterfaceId)] = true
				}
			}
		}
		if natENIs[aws.ToString(n.NetworkInterfaceId)] {
			continue
		}
		id := aws.ToString(n.NetworkInterfaceId)
		tags := ec2Tags(n.TagSet)
		out = append(out, Candidate{
			Resource: Resource{Type: "AWS::EC2::NetworkInterface", ID: id, ARN: ec2ARN(env, "network-interface", id), Name: nameTag(tags),
				State: string(n.Status), Tags: tags},
			Data: n,
		})
	}
	return out, nil
}

// publicIPv4s returns the distinct public IPv4 addresses of an interface,
// primary and secondary, sorted.
func publicIPv4s(n ec2types.NetworkInterface) []string {
	set := map[string]bool{}
	if n.Association != nil && aws.ToString(n.Association.PublicIp) != "" {
		set[aws.ToString(n.Association.PublicIp)] = true
	}
	for _, p := range n.PrivateIpAddresses {
		if p.Association != nil && aws.ToString(p.Association.PublicIp) != "" {
			set[aws.ToString(p.Association.PublicIp)] = true
		}
	}
	out := make([]string, 0, len(set))
	for ip := range set {
		out = append(out, ip)
	}
	sort.Strings(out)
	return out
}

func evaluateDetachedENI(c Candidate, _ cwbatch.Results, env Env) (*Verdict, error) {
	n := c.Data.(ec2types.NetworkInterface)
	ips := publicIPv4s(n)
	usd := new(float64) // free unless it holds public IPv4
	billed := "it holds no public IPv4 address and costs nothing"
	if len(ips) > 0 {
		per, ok := env.Prices.PublicIPv4(env.Region)
		usd = cost(per*float64(len(ips)), ok)
		billed = fmt.Sprintf("it holds public IPv4 %s, billed hourly%s", strings.Join(ips, ", "), unknownNote(usd, "public IPv4", env.Region))
	}
	what := "network interface"
	if d := aws.ToString(n.Description); d != "" {
		what = fmt.Sprintf("network interface %q", d)
	}
	typ := string(n.InterfaceType)
	if typ == "" {
		typ = string(ec2types.NetworkInterfaceTypeInterface)
	}
	return &Verdict{
		Reason: fmt.Sprintf("%s (type %s) in %s is attached to nothing; %s",
			what, typ, aws.ToString(n.SubnetId), billed),
		Evidence:       map[string]float64{"publicIPv4": float64(len(ips))},
		MonthlyCostUSD: usd,
	}, nil
}
