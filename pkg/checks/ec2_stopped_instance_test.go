package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// stoppedInstance is an instance stopped at `at` (written into its
// StateTransitionReason the way EC2 does) and launched ten days earlier.
func stoppedInstance(id, typ string, at time.Time, tags ...string) ec2types.Instance {
	in := instance(id, typ, ec2types.InstanceStateNameStopped, at.AddDate(0, 0, -10), tags...)
	in.StateTransitionReason = aws.String("User initiated (" + at.UTC().Format("2006-01-02 15:04:05") + " GMT)")
	return in
}

// attachedVolume is an in-use volume attached to instanceID.
func attachedVolume(id, typ, instanceID string, size, iops, tput int32) ec2types.Volume {
	v := volume(id, typ, ec2types.VolumeStateInUse, daysAgo(400), size, iops, tput)
	v.Attachments = []ec2types.VolumeAttachment{{InstanceId: aws.String(instanceID), VolumeId: aws.String(id), State: ec2types.VolumeAttachmentStateAttached}}
	return v
}

func TestEC2StoppedInstance(t *testing.T) {
	t.Parallel()
	const id = "i-0stopped"
	gp3 := priceOf(pricing.Default().EBSVolume(priced, "gp3", 100, 4000, 250))
	gp2 := priceOf(pricing.Default().EBSVolume(priced, "gp2", 8, 0, 0))
	if gp3 == nil || *gp3 != 18 || gp2 == nil || *gp2 != 0.8 { // 100×0.08 + 1000×0.005 + 125×0.04; 8×0.1
		t.Fatalf("pricing fixture changed: gp3 = %v, gp2 = %v", fmtCost(gp3), fmtCost(gp2))
	}
	both := usd(18.8)
	// one instance stopped at `at` with a gp2 volume
	stoppedAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.instances = []ec2types.Instance{stoppedInstance(id, "t3.micro", at)}
			f.volumes = []ec2types.Volume{attachedVolume("vol-a", "gp2", id, 8, 0, 0)}
		}
	}
	// one old stopped instance whose StateTransitionReason is reason (nil: absent)
	withReason := func(reason *string) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			in := stoppedInstance(id, "t3.micro", daysAgo(100))
			in.StateTransitionReason = reason
			f.instances = []ec2types.Instance{in}
			f.volumes = []ec2types.Volume{attachedVolume("vol-a", "gp2", id, 8, 0, 0)}
		}
	}
	stoppedDate := daysAgo(40).Format("2006-01-02 15:04:05")
	runCheckCases(t, checks.EC2StoppedInstance, []checkCase{
		{
			name: "stopped instance reported with the cost of its volumes",
			setup: func(f *fakeAWS) {
				f.instances = []ec2types.Instance{stoppedInstance(id, "t3.micro", daysAgo(40), "Name", "batch"),
					instance("i-other", "m5.large", ec2types.InstanceStateNameRunning, daysAgo(100))}
				f.volumes = []ec2types.Volume{
					attachedVolume("vol-b", "gp2", id, 8, 0, 0),
					attachedVolume("vol-other", "io1", "i-other", 500, 5000, 0),
					volume("vol-free", "gp3", ec2types.VolumeStateAvailable, daysAgo(400), 1000, 0, 0),
					attachedVolume("vol-a", "gp3", id, 100, 4000, 250),
				}
			},
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "ec2-stopped-instance",
				Resource: checks.Resource{Type: "AWS::EC2::Instance", ID: id, ARN: "arn:aws:ec2:us-east-1:111122223333:instance/" + id,
					Name: "batch", State: "stopped", Created: daysAgo(50), Tags: map[string]string{"Name": "batch"}},
				Verdict: checks.Verdict{
					Reason: "t3.micro stopped since " + stoppedDate + " UTC (threshold 30 days); its 2 EBS volume(s) are still billed: " +
						"vol-a (gp3, 100 GiB), vol-b (gp2, 8 GiB)",
					Evidence:       map[string]float64{"volumes": 2, "volumeGiB": 108},
					MonthlyCostUSD: both,
				},
			}},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeInstances: 1, opDescribeVolumes: 1},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       stoppedAt(daysAgo(40)),
			wantIDs:     []string{id},
			wantReason:  []string{"vol-a (gp2, 8 GiB)", "(no price known for gp2 volume in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name: "one volume of an unknown type makes the whole cost unknown",
			setup: func(f *fakeAWS) {
				f.instances = []ec2types.Instance{stoppedInstance(id, "t3.micro", daysAgo(40))}
				f.volumes = []ec2types.Volume{attachedVolume("vol-a", "gp2", id, 8, 0, 0), attachedVolume("vol-b", "gp9", id, 8, 0, 0)}
			},
			wantIDs:     []string{id},
			wantReason:  []string{"its 2 EBS volume(s)", "(no price known for gp9 volume in us-east-1)"},
			wantNilCost: true,
		},
		{
			name: "no volume attached: known zero cost",
			setup: func(f *fakeAWS) {
				f.instances = []ec2types.Instance{stoppedInstance(id, "t3.micro", daysAgo(40))}
				f.volumes = []ec2types.Volume{attachedVolume("vol-x", "gp2", "i-else", 8, 0, 0)}
			},
			wantIDs:      []string{id},
			wantReason:   []string{"t3.micro stopped since " + stoppedDate + " UTC (threshold 30 days); no EBS volume is attached"},
			wantNoReason: []string{"no price known"},
			wantEvidence: map[string]float64{"volumes": 0, "volumeGiB": 0},
			wantCost:     usd(0),
		},
		{
			name: "a volume listing the instance twice counts once",
			setup: func(f *fakeAWS) {
				f.instances = []ec2types.Instance{stoppedInstance(id, "t3.micro", daysAgo(40))}
				v := attachedVolume("vol-a", "gp2", id, 8, 0, 0)
				v.Attachments = append(v.Attachments, v.Attachments[0])
				f.volumes = []ec2types.Volume{v}
			},
			wantIDs:      []string{id},
			wantEvidence: map[string]float64{"volumes": 1, "volumeGiB": 8},
			wantCost:     gp2,
		},
		{
			name: "instances not stopped are no candidates, and volumes are not read",
			setup: func(f *fakeAWS) {
				for i, s := range []ec2types.InstanceStateName{"running", "stopping", "pending", "terminated", "shutting-down"} {
					in := stoppedInstance(fmt.Sprintf("i-%d", i), "t3.micro", daysAgo(100))
					in.State.Name = s
					f.instances = append(f.instances, in)
				}
				in := stoppedInstance("i-nostate", "t3.micro", daysAgo(100))
				in.State = nil
				f.instances = append(f.instances, in)
				f.volumes = []ec2types.Volume{attachedVolume("vol-a", "gp2", "i-0", 8, 0, 0)}
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeInstances: 1},
		},
		{
			name:      "stopped for less than stoppedDays: not reported, volumes not read",
			setup:     stoppedAt(daysAgo(29)),
			wantCalls: map[string]int{opDescribeInstances: 1},
		},
		{
			name:      "stopped one second less than stoppedDays: not reported",
			setup:     stoppedAt(daysAgo(30).Add(time.Second)),
			wantCalls: map[string]int{opDescribeInstances: 1},
		},
		{
			name:       "stopped exactly stoppedDays ago: reported",
			setup:      stoppedAt(daysAgo(30)),
			wantIDs:    []string{id},
			wantReason: []string{"stopped since " + daysAgo(30).Format("2006-01-02 15:04:05") + " UTC (threshold 30 days)"},
			wantCost:   gp2,
		},
		{
			name:       "lowered stoppedDays reports a week-old stop",
			params:     map[string]float64{"stoppedDays": 7},
			setup:      stoppedAt(daysAgo(10)),
			wantIDs:    []string{id},
			wantReason: []string{"(threshold 7 days)"},
		},
		{
			name:       "stoppedDays 0 reports an instance stopped an hour ago",
			params:     map[string]float64{"stoppedDays": 0},
			setup:      stoppedAt(ago(time.Hour)),
			wantIDs:    []string{id},
			wantReason: []string{"(threshold 0 days)"},
		},
		{
			name:   "raised stoppedDays skips a 40-day stop",
			params: map[string]float64{"stoppedDays": 60},
			setup:  stoppedAt(daysAgo(40)),
		},
		{
			name:      "a stop time in the future is not a long stop",
			setup:     stoppedAt(now.Add(time.Hour)),
			wantCalls: map[string]int{opDescribeInstances: 1},
		},
		{
			name:      "no StateTransitionReason: stop time unknown, not reported",
			setup:     withReason(nil),
			wantCalls: map[string]int{opDescribeInstances: 1},
		},
		{
			name:      "empty StateTransitionReason: not reported",
			setup:     withReason(aws.String("")),
			wantCalls: map[string]int{opDescribeInstances: 1},
		},
		{
			name:      "StateTransitionReason without a time: not reported",
			setup:     withReason(aws.String("User initiated")),
			wantCalls: map[string]int{opDescribeInstances: 1},
		},
		{
			name:      "StateTransitionReason with an impossible date: not reported",
			setup:     withReason(aws.String("User initiated (2026-02-30 12:00:00 GMT)")),
			wantCalls: map[string]int{opDescribeInstances: 1},
		},
		{
			name:       "the reason gives the stop time, which does not change from run to run",
			setup:      withReason(aws.String("User initiated (2025-01-02 03:04:05 GMT)")),
			wantIDs:    []string{id},
			wantReason: []string{"t3.micro stopped since 2025-01-02 03:04:05 UTC (threshold 30 days)"},
		},
		{
			name: "many instances over many pages, in inventory order",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 7 {
					at := daysAgo(40)
					if i%3 == 1 {
						at = daysAgo(5)
					}
					iid := fmt.Sprintf("i-%02d", i)
					f.instances = append(f.instances, stoppedInstance(iid, "t3.micro", at))
					f.volumes = append(f.volumes, attachedVolume("vol-"+iid, "gp2", iid, 8, 0, 0))
				}
			},
			wantIDs:   []string{"i-00", "i-02", "i-03", "i-05", "i-06"},
			wantCost:  gp2,
			wantCalls: map[string]int{opDescribeInstances: 4, opDescribeVolumes: 4},
		},
		{
			name: "DescribeVolumes denied fails the check",
			setup: func(f *fakeAWS) {
				stoppedAt(daysAgo(40))(f)
				f.errs = map[string]error{opDescribeVolumes: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "ec2-stopped-instance", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
		{
			name: "DescribeInstances denied",
			setup: func(f *fakeAWS) {
				stoppedAt(daysAgo(40))(f)
				f.errs = map[string]error{opDescribeInstances: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "ec2-stopped-instance", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opDescribeInstances: 1},
		},
	})
}
