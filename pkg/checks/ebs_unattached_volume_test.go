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

func volume(id, typ string, state ec2types.VolumeState, created time.Time, size, iops, tput int32, tags ...string) ec2types.Volume {
	v := ec2types.Volume{
		VolumeId:   aws.String(id),
		VolumeType: ec2types.VolumeType(typ),
		State:      state,
		Size:       aws.Int32(size),
		Tags:       ec2Tags(tags...),
	}
	if !created.IsZero() {
		v.CreateTime = aws.Time(created)
	}
	if iops > 0 {
		v.Iops = aws.Int32(iops)
	}
	if tput > 0 {
		v.Throughput = aws.Int32(tput)
	}
	return v
}

func TestEBSUnattachedVolume(t *testing.T) {
	t.Parallel()
	const id = "vol-0a"
	avail := ec2types.VolumeStateAvailable
	gp3 := priceOf(pricing.Default().EBSVolume(priced, "gp3", 100, 4000, 250))
	if gp3 == nil || *gp3 != 18 { // 100 GB × 0.08 + 1000 extra IOPS × 0.005 + 125 extra MB/s × 0.04
		t.Fatalf("pricing fixture changed: gp3 = %v", fmtCost(gp3))
	}
	io1 := priceOf(pricing.Default().EBSVolume(priced, "io1", 50, 1000, 0))
	if io1 == nil || *io1 != 71.25 { // 50 × 0.125 + 1000 × 0.065
		t.Fatalf("pricing fixture changed: io1 = %v", fmtCost(io1))
	}
	one := func(v ec2types.Volume) func(f *fakeAWS) {
		return func(f *fakeAWS) { f.volumes = []ec2types.Volume{v} }
	}
	gp3At := func(created time.Time) ec2types.Volume { return volume(id, "gp3", avail, created, 100, 4000, 250) }
	runCheckCases(t, checks.EBSUnattachedVolume, []checkCase{
		{
			name:    "unattached gp3 volume reported with storage, IOPS and throughput cost",
			setup:   one(volume(id, "gp3", avail, daysAgo(30), 100, 4000, 250, "Name", "scratch")),
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "ebs-unattached-volume",
				Resource: checks.Resource{Type: "AWS::EC2::Volume", ID: id, ARN: "arn:aws:ec2:us-east-1:111122223333:volume/" + id,
					Name: "scratch", State: "available", Created: daysAgo(30), Tags: map[string]string{"Name": "scratch"}},
				Verdict: checks.Verdict{
					Reason:         "gp3 volume of 100 GiB, 4000 IOPS, 250 MB/s is attached to nothing; created " + daysAgo(30).Format("2006-01-02"),
					Evidence:       map[string]float64{"sizeGiB": 100, "iops": 4000, "throughputMBps": 250},
					MonthlyCostUSD: gp3,
				},
			}},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeVolumes: 1},
		},
		{
			name:       "io1 bills every provisioned IOPS",
			setup:      one(volume(id, "io1", avail, daysAgo(30), 50, 1000, 0)),
			wantIDs:    []string{id},
			wantReason: []string{"io1 volume of 50 GiB, 1000 IOPS is attached"},
			wantCost:   io1,
		},
		{
			name:       "gp2 IOPS are not billed",
			setup:      one(volume(id, "gp2", avail, daysAgo(30), 100, 300, 0)),
			wantIDs:    []string{id},
			wantCost:   usd(10),
			wantReason: []string{"gp2 volume of 100 GiB, 300 IOPS is attached"},
		},
		{
			name:       "magnetic volume without IOPS: size only",
			setup:      one(volume(id, "standard", avail, daysAgo(30), 10, 0, 0)),
			wantIDs:    []string{id},
			wantCost:   usd(0.5),
			wantReason: []string{"standard volume of 10 GiB is attached to nothing; created " + daysAgo(30).Format("2006-01-02")},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(gp3At(daysAgo(30))),
			wantIDs:     []string{id},
			wantReason:  []string{"attached to nothing", "(no price known for gp3 volume in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name: "attached, in-use, creating and deleting volumes are not reported",
			setup: func(f *fakeAWS) {
				inUse := volume("vol-inuse", "gp3", ec2types.VolumeStateInUse, daysAgo(30), 10, 0, 0)
				inUse.Attachments = []ec2types.VolumeAttachment{{InstanceId: aws.String("i-1"), State: ec2types.VolumeAttachmentStateAttached}}
				// Available yet listing an attachment (a detach in flight): not reported.
				detaching := volume("vol-detaching", "gp3", avail, daysAgo(30), 10, 0, 0)
				detaching.Attachments = []ec2types.VolumeAttachment{{InstanceId: aws.String("i-2"), State: ec2types.VolumeAttachmentStateDetaching}}
				f.volumes = []ec2types.Volume{inUse, detaching,
					volume("vol-creating", "gp3", ec2types.VolumeStateCreating, daysAgo(30), 10, 0, 0),
					volume("vol-deleting", "gp3", ec2types.VolumeStateDeleting, daysAgo(30), 10, 0, 0)}
			},
			wantNoFetch: true,
		},
		{
			name:  "younger than minAgeDays: not reported",
			setup: one(gp3At(daysAgo(6))),
		},
		{
			name:  "one second younger than minAgeDays: not reported",
			setup: one(gp3At(daysAgo(7).Add(time.Second))),
		},
		{
			name:       "exactly minAgeDays old: reported",
			setup:      one(gp3At(daysAgo(7))),
			wantIDs:    []string{id},
			wantReason: []string{"created " + daysAgo(7).Format("2006-01-02")},
		},
		{
			name:       "minAgeDays 0 reports a volume created an hour ago",
			params:     map[string]float64{"minAgeDays": 0},
			setup:      one(gp3At(ago(time.Hour))),
			wantIDs:    []string{id},
			wantReason: []string{"created " + ago(time.Hour).Format("2006-01-02")},
		},
		{
			name:       "the reason gives the creation date, which does not change from run to run",
			params:     map[string]float64{"minAgeDays": 1},
			setup:      one(gp3At(ago(36 * time.Hour))),
			wantIDs:    []string{id},
			wantReason: []string{"created " + ago(36*time.Hour).Format("2006-01-02")},
		},
		{
			name:   "raised minAgeDays skips a 20-day-old volume",
			params: map[string]float64{"minAgeDays": 30},
			setup:  one(gp3At(daysAgo(20))),
		},
		{
			name:  "unknown creation time: not reported",
			setup: one(gp3At(time.Time{})),
		},
		{
			name: "many volumes over many pages",
			setup: func(f *fakeAWS) {
				f.pageSize = 4
				for i := range 9 {
					st := avail
					if i%3 == 1 {
						st = ec2types.VolumeStateInUse
					}
					f.volumes = append(f.volumes, volume(fmt.Sprintf("vol-%d", i), "gp3", st, daysAgo(30), 100, 4000, 250))
				}
			},
			wantIDs:     []string{"vol-0", "vol-2", "vol-3", "vol-5", "vol-6", "vol-8"},
			wantCost:    gp3,
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeVolumes: 3},
		},
		{
			name: "DescribeVolumes denied",
			setup: func(f *fakeAWS) {
				f.volumes = []ec2types.Volume{gp3At(daysAgo(30))}
				f.errs = map[string]error{opDescribeVolumes: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "ebs-unattached-volume", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
	})
}
