package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// VPCIdleInterfaceEndpoint finds interface VPC endpoints (PrivateLink) that
// processed no bytes over the lookback. An interface endpoint is billed by
// the hour in every Availability Zone it has a network interface in, whether
// or not traffic flows. Gateway endpoints (S3, DynamoDB) are free and never
// judged; endpoints a service manages (RequesterManaged) cannot be deleted
// by their owner and are skipped.
var VPCIdleInterfaceEndpoint = Check{
	ID:           "vpc-idle-interface-endpoint",
	Service:      "ec2",
	ResourceType: "AWS::EC2::VPCEndpoint",
	Category:     finding.Idle,
	Description:  "Interface VPC endpoints that processed no bytes over the lookback, billed hourly in each of their Availability Zones.",
	Params: []Param{
		lookbackParam(14, "orgscan default (DESIGN.md §5): the 14 days Trusted Advisor's low-utilization checks judge"),
	},
	Actions: []string{"ec2:DescribeVpcEndpoints", "cloudwatch:GetMetricData"},
	Metrics: []Metric{
		{"AWS/PrivateLinkEndpoints", "BytesProcessed", "Sum"},
	},
	MissingData: "days without BytesProcessed datapoints count as zero bytes (PrivateLink publishes none for an endpoint without traffic)",
	Select:      selectIdleInterfaceEndpoints,
	Evaluate:    evaluateIdleInterfaceEndpoint,
}

type endpointData struct {
	service string
	azs     int
}

func selectIdleInterfaceEndpoints(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	eps, err := inv.VPCEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, e := range eps {
		// DescribeVpcEndpoints spells states in lower case ("available"),
		// the SDK's enum in title case ("Available").
		if e.VpcEndpointType != ec2types.VpcEndpointTypeInterface || !strings.EqualFold(string(e.State), string(ec2types.StateAvailable)) ||
			aws.ToBool(e.RequesterManaged) {
			continue
		}
		created := aws.ToTime(e.CreationTimestamp)
		if !oldEnough(created, env.Now, env.LookbackDays()) {
			continue
		}
		id, service := aws.ToString(e.VpcEndpointId), aws.ToString(e.ServiceName)
		tags := ec2Tags(e.Tags)
		out = append(out, Candidate{
			Resource: Resource{Type: "AWS::EC2::VPCEndpoint", ID: id, ARN: ec2ARN(env, "vpc-endpoint", id), Name: nameTag(tags),
				State: strings.ToLower(string(e.State)), Created: created, Tags: tags},
			Queries: map[string]cwbatch.Query{
				"bytes": cwbatch.PrivateLinkEndpoint("BytesProcessed", "Sum", id, string(e.VpcEndpointType), service, aws.ToString(e.VpcId)),
			},
			// One network interface per subnet, one subnet per Availability Zone.
			Data: endpointData{service: service, azs: max(len(e.SubnetIds), len(e.NetworkInterfaceIds))},
		})
	}
	return out, nil
}

func evaluateIdleInterfaceEndpoint(c Candidate, m cwbatch.Results, env Env) (*Verdict, error) {
	n := env.LookbackDays()
	bytes, err := lastDays(m, c.Queries["bytes"], env.Now, n)
	if err != nil {
		return nil, err
	}
	if bytes.sum() > 0 {
		return nil, nil
	}
	d := c.Data.(endpointData)
	usd := cost(env.Prices.InterfaceEndpoint(env.Region, d.azs))
	return &Verdict{
		Reason: fmt.Sprintf("interface endpoint for %s processed no bytes in %s; billed hourly in %d Availability Zone(s)%s",
			d.service, days(n), d.azs, unknownNote(usd, "interface endpoint", env.Region)),
		Evidence:       map[string]float64{"bytesProcessed": 0, "availabilityZones": float64(d.azs), "lookbackDays": float64(n)},
		MonthlyCostUSD: usd,
	}, nil
}
