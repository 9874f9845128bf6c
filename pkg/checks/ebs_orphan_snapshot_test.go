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

// ebsSnapshot is a completed snapshot of volumeID (size GiB) started at
// started (zero: no StartTime).
func ebsSnapshot(id, volumeID string, size int32, started time.Time, tags ...string) ec2types.Snapshot {
	s := ec2types.Snapshot{SnapshotId: aws.String(id), VolumeId: aws.String(volumeID), VolumeSize: aws.Int32(size),
		State: ec2types.SnapshotStateCompleted, OwnerId: aws.String(account), Tags: ec2Tags(tags...)}
	if !started.IsZero() {
		s.StartTime = aws.Time(started)
	}
	return s
}

// amiImage is an AMI with one EBS mapping per snapshot and an instance-store
// mapping, which has no snapshot.
func amiImage(id string, snapshots ...string) ec2types.Image {
	img := ec2types.Image{ImageId: aws.String(id), State: ec2types.ImageStateAvailable,
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: aws.String("/dev/sdb"), VirtualName: aws.String("ephemeral0")}}}
	for i, s := range snapshots {
		img.BlockDeviceMappings = append(img.BlockDeviceMappings, ec2types.BlockDeviceMapping{
			DeviceName: aws.String(fmt.Sprintf("/dev/xvd%c", 'a'+i)), Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String(s)}})
	}
	return img
}

func TestEBSOrphanSnapshot(t *testing.T) {
	t.Parallel()
	const id = "snap-0orphan"
	snapPrice := priceOf(pricing.Default().EBSSnapshot(priced, 100))
	if snapPrice == nil || *snapPrice != 5 { // 100 GiB × 0.05 $/GB-month
		t.Fatalf("pricing fixture changed: 100 GiB snapshot = %v", fmtCost(snapPrice))
	}
	// one snapshot of a deleted volume, started at `at`, with a live volume and an unrelated AMI around
	startedAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.snapshots = []ec2types.Snapshot{ebsSnapshot(id, "vol-gone", 100, at)}
			f.volumes = []ec2types.Volume{attachedVolume("vol-live", "gp3", "i-1", 100, 0, 0)}
			f.images = []ec2types.Image{amiImage("ami-1", "snap-other")}
		}
	}
	one := func(s ec2types.Snapshot) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.snapshots = []ec2types.Snapshot{s}
			f.volumes = []ec2types.Volume{attachedVolume("vol-live", "gp3", "i-1", 100, 0, 0)}
		}
	}
	runCheckCases(t, checks.EBSOrphanSnapshot, []checkCase{
		{
			name: "snapshot of a deleted volume used by no AMI, priced at the full volume size",
			setup: func(f *fakeAWS) {
				f.snapshots = []ec2types.Snapshot{ebsSnapshot(id, "vol-gone", 100, daysAgo(200), "Name", "pre-migration")}
				f.volumes = []ec2types.Volume{attachedVolume("vol-live", "gp3", "i-1", 100, 0, 0)}
				f.images = []ec2types.Image{amiImage("ami-1", "snap-other")}
			},
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "ebs-orphan-snapshot",
				Resource: checks.Resource{Type: "AWS::EC2::Snapshot", ID: id, ARN: "arn:aws:ec2:us-east-1::snapshot/" + id,
					Name: "pre-migration", State: "completed", Created: daysAgo(200), Tags: map[string]string{"Name": "pre-migration"}},
				Verdict: checks.Verdict{
					Reason: "snapshot of 100 GiB created " + daysAgo(200).Format("2006-01-02") + ": its source volume vol-gone no longer exists " +
						"and no AMI of the account uses it; cost is an upper bound (the full volume size, though snapshots are incremental)",
					Evidence:       map[string]float64{"volumeSizeGiB": 100},
					MonthlyCostUSD: snapPrice,
				},
			}},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeSnapshots: 1, opDescribeVolumes: 1, opDescribeImages: 1},
		},
		{
			name:       "copied snapshot (vol-ffffffff) has no source volume: reported",
			setup:      one(ebsSnapshot(id, "vol-ffffffff", 100, daysAgo(200))),
			wantIDs:    []string{id},
			wantReason: []string{"it was copied and has no source volume (vol-ffffffff) and no AMI"},
			wantCost:   snapPrice,
		},
		{
			name: "vol-ffffffff is treated as gone even if a volume had that ID",
			setup: func(f *fakeAWS) {
				one(ebsSnapshot(id, "vol-ffffffff", 100, daysAgo(200)))(f)
				f.volumes = append(f.volumes, attachedVolume("vol-ffffffff", "gp3", "i-1", 100, 0, 0))
			},
			wantIDs: []string{id},
		},
		{
			name: "snapshot without a VolumeId: reported as a copy",
			setup: func(f *fakeAWS) {
				s := ebsSnapshot(id, "", 100, daysAgo(200))
				s.VolumeId = nil
				one(s)(f)
			},
			wantIDs:    []string{id},
			wantReason: []string{"it was copied and has no source volume"},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       startedAt(daysAgo(200)),
			wantIDs:     []string{id},
			wantReason:  []string{"its source volume vol-gone no longer exists", "(no price known for EBS snapshot storage in sa-east-1)"},
			wantNilCost: true,
		},
		{
			name:        "source volume still exists: not reported, images not read",
			setup:       one(ebsSnapshot(id, "vol-live", 100, daysAgo(200))),
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeSnapshots: 1, opDescribeVolumes: 1},
		},
		{
			name: "source volume exists but is unattached: still a live volume",
			setup: func(f *fakeAWS) {
				f.snapshots = []ec2types.Snapshot{ebsSnapshot(id, "vol-free", 100, daysAgo(200))}
				f.volumes = []ec2types.Volume{volume("vol-free", "gp3", ec2types.VolumeStateAvailable, daysAgo(300), 100, 0, 0)}
			},
		},
		{
			name: "used by an AMI of the account: not reported",
			setup: func(f *fakeAWS) {
				startedAt(daysAgo(200))(f)
				f.images = append(f.images, amiImage("ami-2", "snap-data", id))
			},
			wantCalls: map[string]int{opDescribeSnapshots: 1, opDescribeVolumes: 1, opDescribeImages: 1},
		},
		{
			name:      "younger than minAgeDays: not reported, volumes and images not read",
			setup:     startedAt(daysAgo(89)),
			wantCalls: map[string]int{opDescribeSnapshots: 1},
		},
		{
			name:      "one second younger than minAgeDays: not reported",
			setup:     startedAt(daysAgo(90).Add(time.Second)),
			wantCalls: map[string]int{opDescribeSnapshots: 1},
		},
		{
			name:       "exactly minAgeDays old: reported",
			setup:      startedAt(daysAgo(90)),
			wantIDs:    []string{id},
			wantReason: []string{"created " + daysAgo(90).Format("2006-01-02")},
		},
		{
			name:       "minAgeDays 0 reports a snapshot started an hour ago",
			params:     map[string]float64{"minAgeDays": 0},
			setup:      startedAt(ago(time.Hour)),
			wantIDs:    []string{id},
			wantReason: []string{"created " + ago(time.Hour).Format("2006-01-02")},
		},
		{
			name:   "raised minAgeDays skips a 200-day-old snapshot",
			params: map[string]float64{"minAgeDays": 365},
			setup:  startedAt(daysAgo(200)),
		},
		{
			name:      "no StartTime: age unknown, not reported",
			setup:     startedAt(time.Time{}),
			wantCalls: map[string]int{opDescribeSnapshots: 1},
		},
		{
			name: "pending, error and recoverable snapshots are not reported",
			setup: func(f *fakeAWS) {
				for _, s := range []ec2types.SnapshotState{"pending", "error", "recoverable", "recovering"} {
					snap := ebsSnapshot("snap-"+string(s), "vol-gone", 100, daysAgo(200))
					snap.State = s
					f.snapshots = append(f.snapshots, snap)
				}
			},
			wantCalls: map[string]int{opDescribeSnapshots: 1},
		},
		{
			name: "the cost follows the source volume size",
			setup: func(f *fakeAWS) {
				f.snapshots = []ec2types.Snapshot{ebsSnapshot(id, "vol-gone", 8, daysAgo(200))}
			},
			wantIDs:      []string{id},
			wantEvidence: map[string]float64{"volumeSizeGiB": 8},
			wantCost:     usd(0.4),
			wantReason:   []string{"snapshot of 8 GiB"},
		},
		{
			name: "many snapshots, volumes and images over many pages",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 7 {
					f.snapshots = append(f.snapshots, ebsSnapshot(fmt.Sprintf("snap-%d", i), fmt.Sprintf("vol-%d", i), 100, daysAgo(200)))
				}
				f.volumes = []ec2types.Volume{attachedVolume("vol-1", "gp3", "i-1", 100, 0, 0), attachedVolume("vol-x", "gp3", "i-1", 100, 0, 0),
					attachedVolume("vol-y", "gp3", "i-1", 100, 0, 0)}
				f.images = []ec2types.Image{amiImage("ami-1", "snap-3"), amiImage("ami-2"), amiImage("ami-3", "snap-5", "snap-x")}
			},
			wantIDs:   []string{"snap-0", "snap-2", "snap-4", "snap-6"},
			wantCost:  snapPrice,
			wantCalls: map[string]int{opDescribeSnapshots: 4, opDescribeVolumes: 2, opDescribeImages: 2},
		},
		{
			name: "DescribeImages denied fails the check",
			setup: func(f *fakeAWS) {
				startedAt(daysAgo(200))(f)
				f.errs = map[string]error{opDescribeImages: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "ebs-orphan-snapshot", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
		{
			name: "DescribeVolumes denied fails the check",
			setup: func(f *fakeAWS) {
				startedAt(daysAgo(200))(f)
				f.errs = map[string]error{opDescribeVolumes: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "ebs-orphan-snapshot", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opDescribeSnapshots: 1, opDescribeVolumes: 1},
		},
		{
			name: "DescribeSnapshots denied",
			setup: func(f *fakeAWS) {
				startedAt(daysAgo(200))(f)
				f.errs = map[string]error{opDescribeSnapshots: accessDenied()}
			},
			wantErrs:  []checks.CheckError{{Check: "ebs-orphan-snapshot", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
			wantCalls: map[string]int{opDescribeSnapshots: 1},
		},
	})
}
