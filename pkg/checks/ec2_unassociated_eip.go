package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// EC2UnassociatedEIP finds Elastic IPs associated with nothing. Since
// February 2024 AWS bills every public IPv4 address by the hour, so an idle
// address costs the same as one in use.
var EC2UnassociatedEIP = Check{
	ID:           "ec2-unassociated-eip",
	Service:      "ec2",
	ResourceType: "AWS::EC2::EIP",
	Category:     finding.Unused,
	Description:  "Elastic IP addresses associated with no instance or network interface; public IPv4 is billed hourly either way.",
	Actions:      []string{"ec2:DescribeAddresses"},
	MissingData:  "no metrics: decided from DescribeAddresses",
	Select:       selectUnassociatedEIPs,
	Evaluate:     evaluateUnassociatedEIP,
}

func selectUnassociatedEIPs(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	addrs, err := inv.Addresses(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, a := range addrs {
		// An empty element is no association (some endpoints send
		// <instanceId/>); addressResource says "unassociated" only when all
		// three are empty.
		r := addressResource(env, a)
		if r.State != "unassociated" {
			continue
		}
		out = append(out, Candidate{Resource: r, Data: aws.ToString(a.PublicIp)})
	}
	return out, nil
}

func evaluateUnassociatedEIP(c Candidate, _ cwbatch.Results, env Env) (*Verdict, error) {
	usd := cost(env.Prices.PublicIPv4(env.Region))
	return &Verdict{
		Reason:         fmt.Sprintf("Elastic IP %s is associated with no instance or network interface and is billed hourly%s", c.Data.(string), unknownNote(usd, "public IPv4", env.Region)),
		MonthlyCostUSD: usd,
	}, nil
}
