package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// EBSUnattachedVolume finds volumes in state "available": attached to
// nothing, still billed for every provisioned GB, IOPS and MB/s.
var EBSUnattachedVolume = Check{
	ID:           "ebs-unattached-volume",
	Service:      "ec2",
	ResourceType: "AWS::EC2::Volume",
	Category:     finding.Unused,
	Description:  "EBS volumes attached to no instance (state available), billed for their provisioned storage, IOPS and throughput.",
	Params: []Param{
		// EBS does not say when a volume was detached; a minimum age keeps
		// volumes created moments ago (mid-deployment) out of the report.
		{Name: "minAgeDays", Default: 7, Min: 0, Max: 3650, Unit: "days", Integer: true, Description: "minimum age of a reported volume",
			Source: "orgscan default: skips volumes created in the last week (EBS exposes no detach time)"},
	},
	Actions:     []string{"ec2:DescribeVolumes"},
	MissingData: "no metrics: decided from DescribeVolumes",
	Select:      selectUnattachedVolumes,
	Evaluate:    evaluateUnattachedVolume,
}

func selectUnattachedVolumes(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	vols, err := inv.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, v := range vols {
		if v.State != ec2types.VolumeStateAvailable || len(v.Attachments) > 0 {
			continue
		}
		created := aws.ToTime(v.CreateTime)
		if !oldEnough(created, env.Now, int(env.Params["minAgeDays"])) {
			continue
		}
		out = append(out, Candidate{
			Resource: volumeResource(env, v),
			Data:     v,
		})
	}
	return out, nil
}

func evaluateUnattachedVolume(c Candidate, _ cwbatch.Results, env Env) (*Verdict, error) {
	v := c.Data.(ec2types.Volume)
	size, iops, tput := aws.ToInt32(v.Size), aws.ToInt32(v.Iops), aws.ToInt32(v.Throughput)
	typ := string(v.VolumeType)
	usd := cost(env.Prices.EBSVolume(env.Region, typ, size, iops, tput))
	provisioned := ""
	switch {
	case iops > 0 && tput > 0:
		provisioned = fmt.Sprintf(", %d IOPS, %d MB/s", iops, tput)
	case iops > 0:
		provisioned = fmt.Sprintf(", %d IOPS", iops)
	}
	return &Verdict{
		Reason: fmt.Sprintf("%s volume of %d GiB%s is attached to nothing; created %s%s",
			typ, size, provisioned, c.Resource.Created.UTC().Format("2006-01-02"), unknownNote(usd, typ+" volume", env.Region)),
		Evidence:       map[string]float64{"sizeGiB": float64(size), "iops": float64(iops), "throughputMBps": float64(tput)},
		MonthlyCostUSD: usd,
	}, nil
}
