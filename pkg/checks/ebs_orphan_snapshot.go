package checks

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// copiedSnapshotVolume is the VolumeId AWS gives snapshots that have no
// source volume of their own (copies, and snapshots made from other
// snapshots); it names no volume that could exist.
const copiedSnapshotVolume = "vol-ffffffff"

// EBSOrphanSnapshot finds snapshots the account owns whose source volume no
// longer exists and which no AMI of the account uses. Their cost is an upper
// bound: it prices the source volume's full size, while a snapshot only
// stores the blocks that differ from the previous snapshot of the volume.
//
// Only AMIs the account owns are seen: a snapshot behind an AMI another
// account owns and shares with this one is reported.
var EBSOrphanSnapshot = Check{
	ID:           "ebs-orphan-snapshot",
	Service:      "ec2",
	ResourceType: "AWS::EC2::Snapshot",
	Category:     finding.Unused,
	Description:  "EBS snapshots older than the threshold whose source volume no longer exists and which no AMI of the account uses.",
	Params: []Param{
		{Name: "minAgeDays", Default: 90, Min: 0, Max: 3650, Unit: "days", Integer: true, Description: "minimum age of a reported snapshot",
			Source: "orgscan default (DESIGN.md §5): a quarter of grace for snapshots kept on purpose after their volume was deleted"},
	},
	Actions:     []string{"ec2:DescribeSnapshots", "ec2:DescribeVolumes", "ec2:DescribeImages"},
	MissingData: "no metrics: decided from DescribeSnapshots, DescribeVolumes and DescribeImages; a snapshot without a start time is not reported",
	Select:      selectOrphanSnapshots,
	Evaluate:    evaluateOrphanSnapshot,
}

func snapshotARN(env Env, id string) string {
	// Snapshot ARNs carry no account: a snapshot can be shared across accounts.
	return fmt.Sprintf("arn:%s:ec2:%s::snapshot/%s", partition(env.Region), env.Region, id)
}

func selectOrphanSnapshots(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	snaps, err := inv.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	var old []ec2types.Snapshot
	for _, s := range snaps {
		if s.State == ec2types.SnapshotStateCompleted && oldEnough(aws.ToTime(s.StartTime), env.Now, int(env.Params["minAgeDays"])) {
			old = append(old, s)
		}
	}
	if len(old) == 0 {
		return nil, nil // volumes and images are only read when a snapshot could be reported
	}
	vols, err := inv.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(vols))
	for _, v := range vols {
		live[aws.ToString(v.VolumeId)] = true
	}
	var gone []ec2types.Snapshot
	for _, s := range old {
		if v := aws.ToString(s.VolumeId); v == copiedSnapshotVolume || !live[v] {
			gone = append(gone, s)
		}
	}
	if len(gone) == 0 {
		return nil, nil
	}
	images, err := inv.Images(ctx)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, img := range images {
		for _, m := range img.BlockDeviceMappings {
			if m.Ebs != nil {
				used[aws.ToString(m.Ebs.SnapshotId)] = true
			}
		}
	}
	var out []Candidate
	for _, s := range gone {
		id := aws.ToString(s.SnapshotId)
		if used[id] {
			continue
		}
		tags := ec2Tags(s.Tags)
		out = append(out, Candidate{
			Resource: Resource{Type: "AWS::EC2::Snapshot", ID: id, ARN: snapshotARN(env, id), Name: nameTag(tags),
				State: string(s.State), Created: aws.ToTime(s.StartTime), Tags: tags},
			Data: s,
		})
	}
	return out, nil
}

func evaluateOrphanSnapshot(c Candidate, _ cwbatch.Results, env Env) (*Verdict, error) {
	s := c.Data.(ec2types.Snapshot)
	size := aws.ToInt32(s.VolumeSize)
	usd := cost(env.Prices.EBSSnapshot(env.Region, size))
	source := fmt.Sprintf("its source volume %s no longer exists", aws.ToString(s.VolumeId))
	if v := aws.ToString(s.VolumeId); v == copiedSnapshotVolume || v == "" {
		source = fmt.Sprintf("it was copied and has no source volume (%s)", copiedSnapshotVolume)
	}
	return &Verdict{
		Reason: fmt.Sprintf("snapshot of %d GiB created %s: %s and no AMI of the account uses it; cost is an upper bound (the full volume size, though snapshots are incremental)%s",
			size, c.Resource.Created.UTC().Format("2006-01-02"), source, unknownNote(usd, "EBS snapshot storage", env.Region)),
		Evidence:       map[string]float64{"volumeSizeGiB": float64(size)},
		MonthlyCostUSD: usd,
	}, nil
}
