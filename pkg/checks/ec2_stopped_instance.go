package checks

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// EC2StoppedInstance finds instances stopped for a long time. A stopped
// instance bills no compute, but every EBS volume attached to it is still
// billed in full; the cost is those volumes.
//
// EC2 exposes no stop time of its own: the time of the last state change is
// only written into StateTransitionReason, as in "User initiated
// (2026-10-01 12:00:00 GMT)". An instance whose reason holds no such time is
// not reported, as AWS Config's ec2-stopped-instance rule cannot judge it
// either without its configuration history.
var EC2StoppedInstance = Check{
	ID:           "ec2-stopped-instance",
	Service:      "ec2",
	ResourceType: "AWS::EC2::Instance",
	Category:     finding.Unused,
	Description:  "Instances stopped for at least the threshold, still billed for their attached EBS volumes.",
	Params: []Param{
		{Name: "stoppedDays", Default: 30, Min: 0, Max: 3650, Unit: "days", Integer: true, Description: "minimum time since the instance stopped",
			Source: "AWS Config managed rule ec2-stopped-instance (AllowedDays, default 30) and Trusted Advisor, Amazon EC2 instances stopped: 30 days"},
	},
	Actions:     []string{"ec2:DescribeInstances", "ec2:DescribeVolumes"},
	MissingData: "no metrics: decided from DescribeInstances and DescribeVolumes; an instance whose StateTransitionReason holds no stop time is not reported",
	Select:      selectStoppedInstances,
	Evaluate:    evaluateStoppedInstance,
}

// stateTransitionTimeRE matches the time EC2 writes into
// StateTransitionReason ("2026-10-01 12:00:00 GMT"). The zone is required:
// EC2 always writes GMT, and a time without one is not trusted.
var stateTransitionTimeRE = regexp.MustCompile(`(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}) ?(GMT|UTC|Z)\b`)

// parseStateTransitionTime returns the time of an instance's last state
// change from its StateTransitionReason, and false when the reason holds no
// valid time (empty, "User initiated" alone, an impossible date). When the
// reason holds several times, the last one is the transition.
func parseStateTransitionTime(reason string) (time.Time, bool) {
	ms := stateTransitionTimeRE.FindAllStringSubmatch(reason, -1)
	if len(ms) == 0 {
		return time.Time{}, false
	}
	m := ms[len(ms)-1]
	t, err := time.Parse("2006-01-02 15:04:05", m[1]+" "+m[2])
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

type stoppedData struct {
	instanceType string
	stopped      time.Time
	volumes      []ec2types.Volume
}

func selectStoppedInstances(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	instances, err := inv.Instances(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, in := range instances {
		if in.State == nil || in.State.Name != ec2types.InstanceStateNameStopped {
			continue
		}
		stopped, ok := parseStateTransitionTime(aws.ToString(in.StateTransitionReason))
		if !ok || !oldEnough(stopped, env.Now, int(env.Params["stoppedDays"])) {
			continue
		}
		id := aws.ToString(in.InstanceId)
		tags := ec2Tags(in.Tags)
		out = append(out, Candidate{
			Resource: Resource{Type: "AWS::EC2::Instance", ID: id, ARN: ec2ARN(env, "instance", id), Name: nameTag(tags),
				State: string(in.State.Name), Created: aws.ToTime(in.LaunchTime), Tags: tags},
			Data: stoppedData{instanceType: string(in.InstanceType), stopped: stopped},
		})
	}
	if len(out) == 0 {
		return nil, nil // volumes are only read when an instance could be reported
	}
	vols, err := inv.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	byInstance := map[string][]ec2types.Volume{}
	for _, v := range vols {
		seen := map[string]bool{}
		for _, a := range v.Attachments {
			if id := aws.ToString(a.InstanceId); id != "" && !seen[id] {
				seen[id] = true
				byInstance[id] = append(byInstance[id], v)
			}
		}
	}
	for i := range out {
		d := out[i].Data.(stoppedData)
		d.volumes = byInstance[out[i].Resource.ID]
		sort.Slice(d.volumes, func(a, b int) bool { return aws.ToString(d.volumes[a].VolumeId) < aws.ToString(d.volumes[b].VolumeId) })
		out[i].Data = d
	}
	return out, nil
}

func evaluateStoppedInstance(c Candidate, _ cwbatch.Results, env Env) (*Verdict, error) {
	d := c.Data.(stoppedData)
	total, priced, unpriced := 0.0, true, ""
	var gib int32
	list := make([]string, len(d.volumes))
	for i, v := range d.volumes {
		typ, size := string(v.VolumeType), aws.ToInt32(v.Size)
		gib += size
		list[i] = fmt.Sprintf("%s (%s, %d GiB)", aws.ToString(v.VolumeId), typ, size)
		usd, ok := env.Prices.EBSVolume(env.Region, typ, size, aws.ToInt32(v.Iops), aws.ToInt32(v.Throughput))
		if !ok && priced {
			priced, unpriced = false, typ+" volume"
		}
		total += usd
	}
	usd := cost(total, priced)
	billed := "no EBS volume is attached"
	if len(list) > 0 {
		billed = fmt.Sprintf("its %d EBS volume(s) are still billed: %s", len(list), strings.Join(list, ", "))
	}
	return &Verdict{
		Reason: fmt.Sprintf("%s stopped since %s (threshold %s); %s%s",
			d.instanceType, d.stopped.Format("2006-01-02 15:04:05 MST"), days(int(env.Params["stoppedDays"])), billed, unknownNote(usd, unpriced, env.Region)),
		Evidence:       map[string]float64{"volumes": float64(len(d.volumes)), "volumeGiB": float64(gib)},
		MonthlyCostUSD: usd,
	}, nil
}
