package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Thresholds of this group's checks at their defaults, for the exact-age
// boundary cases.
const (
	stoppedThreshold = 30 * day // ec2-stopped-instance stoppedDays
	snapshotMinAge   = 90 * day // ebs-orphan-snapshot minAgeDays
	endpointLookback = 14 * day // vpc-idle-interface-endpoint lookbackDays
)

// copiedSnapshotVol is the VolumeId AWS gives a copied snapshot.
const copiedSnapshotVol = "vol-ffffffff"

var (
	endpointServices = []string{"ssm", "ssmmessages", "ec2messages", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts", "kms"}
	groupPurposes    = []string{"web", "api", "db-clients", "bastion", "batch", "legacy", "migration"}
)

// genEC2More generates stopped instances, snapshots and AMIs, security
// groups, network interfaces and VPC endpoints, with their metric series and
// ground truth. Each kind gets a few resources for every 50 of the pair;
// every case names whether the check's default parameters report it.
func (g *gen) genEC2More(n int) {
	stopped := g.moreCount(n, 2)
	snapshots := g.moreCount(n, 3)
	groups := g.moreCount(n, 2)
	enis := g.moreCount(n, 2)
	endpoints := g.moreCount(n, 2)
	g.stoppedInstances(stopped)
	g.snapshotsAndImages(snapshots)
	if groups+enis > 0 {
		// One VPC with its default group holds this call's groups and interfaces.
		vpc := "vpc-" + g.hex(17)
		def := g.defaultGroup(vpc)
		g.securityGroups(groups, vpc)
		g.networkInterfaces(enis, vpc, def)
	}
	g.interfaceEndpoints(endpoints)
}

// moreCount is how many resources of a kind a pair of n resources gets:
// about per50 for every 50, the fraction drawn, so that a day's churn (a
// small n) adds one now and then.
func (g *gen) moreCount(n int, per50 float64) int {
	x := float64(n) / 50 * per50 * (0.5 + g.rng.Float64())
	k := int(x)
	if g.rng.Float64() < x-float64(k) {
		k++
	}
	return k
}

// agoMinutes is the time d before now, less up to a day of minutes so that ages
// are not all whole days; the result stays strictly inside (d, d+1 day].
func (g *gen) agoMinutes(d time.Duration) time.Time {
	return g.now.Add(-d - time.Duration(g.rng.IntN(24*60-1))*time.Minute)
}

// attachTo picks an instance of the pair to attach something to (a random
// ID when there is none yet, as volumes do).
func (g *gen) attachTo() string {
	if len(g.w.instances) > 0 {
		return aws.ToString(g.w.instances[g.rng.IntN(len(g.w.instances))].InstanceId)
	}
	return "i-" + g.hex(17)
}

func (g *gen) stoppedInstances(n int) {
	for range n {
		id := "i-" + g.hex(17)
		typ := instanceTypes[g.rng.IntN(len(instanceTypes))]
		state := ec2types.InstanceStateNameStopped
		var stop time.Time
		reason := ""
		switch g.pick(0.45, 0.15, 0.2, 0.1, 0.1) {
		case 0: // stopped for months
			stop = g.agoMinutes(stoppedThreshold + time.Duration(1+g.rng.IntN(300))*day)
			g.expect("ec2-stopped-instance", id)
		case 1: // stopped exactly the threshold ago (≥ is reported)
			stop = g.now.Add(-stoppedThreshold)
			g.expect("ec2-stopped-instance", id)
		case 2: // near miss: stopped a week or two ago
			stop = g.agoMinutes(time.Duration(5+g.rng.IntN(15)) * day)
		case 3: // stopped long ago, but the reason holds no time: unknown, not reported
			stop = g.old()
			reason = "User initiated"
		case 4: // terminated long ago: not stopped
			stop = g.old()
			state = ec2types.InstanceStateNameTerminated
		}
		if reason == "" {
			reason = fmt.Sprintf("User initiated (%s GMT)", stop.UTC().Format("2006-01-02 15:04:05"))
		}
		launched := stop.Add(-time.Duration(1+g.rng.IntN(300)) * day)
		g.w.instances = append(g.w.instances, ec2types.Instance{
			InstanceId: aws.String(id), InstanceType: typ, LaunchTime: aws.Time(launched),
			State: &ec2types.InstanceState{Name: state}, StateTransitionReason: aws.String(reason), Tags: g.tags("app"),
		})
		if state == ec2types.InstanceStateNameTerminated {
			continue // its volumes went with it
		}
		// A root volume, and now and then a data volume: what a stopped instance still pays for.
		for v := range 1 + g.rng.IntN(2) {
			vid := "vol-" + g.hex(17)
			size := int32(8 << g.rng.IntN(3))
			if v > 0 {
				size = int32(50 << g.rng.IntN(4))
			}
			g.w.volumes = append(g.w.volumes, ec2types.Volume{VolumeId: aws.String(vid), VolumeType: "gp3", Size: aws.Int32(size),
				Iops: aws.Int32(3000), Throughput: aws.Int32(125), CreateTime: aws.Time(launched), State: ec2types.VolumeStateInUse, Tags: g.tags("data"),
				Attachments: []ec2types.VolumeAttachment{{InstanceId: aws.String(id), VolumeId: aws.String(vid), State: ec2types.VolumeAttachmentStateAttached}}})
		}
	}
}

// snapshotsAndImages plants snapshots and the AMIs that use some of them. A
// snapshot of a live volume is named after it ("snap-X" of "vol-X"), so that
// churn can tell it from an orphan when the volume is deleted.
func (g *gen) snapshotsAndImages(n int) {
	for range n {
		h := g.hex(17)
		id := "snap-" + h
		size := int32(8 << g.rng.IntN(6))
		s := ec2types.Snapshot{SnapshotId: aws.String(id), VolumeId: aws.String("vol-" + g.hex(17)), VolumeSize: aws.Int32(size),
			State: ec2types.SnapshotStateCompleted, Progress: aws.String("100%"), OwnerId: aws.String(g.account),
			StartTime: aws.Time(g.agoMinutes(snapshotMinAge + time.Duration(1+g.rng.IntN(600))*day)), Tags: g.tags("backup")}
		switch g.pick(0.3, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1) {
		case 0: // its volume was deleted long ago
			s.Description = aws.String("before resize")
			g.expect("ebs-orphan-snapshot", id)
		case 1: // a copy: AWS records no source volume
			s.VolumeId = aws.String(copiedSnapshotVol)
			s.Description = aws.String("Copied for DestinationAmi from " + g.region)
			g.expect("ebs-orphan-snapshot", id)
		case 2: // orphan exactly the minimum age (≥ is reported)
			s.StartTime = aws.Time(g.now.Add(-snapshotMinAge))
			g.expect("ebs-orphan-snapshot", id)
		case 3: // a backup of a volume that still exists
			vid := "vol-" + h
			s.VolumeId = aws.String(vid)
			s.Description = aws.String("nightly backup")
			g.w.volumes = append(g.w.volumes, ec2types.Volume{VolumeId: aws.String(vid), VolumeType: "gp3", Size: aws.Int32(size),
				Iops: aws.Int32(3000), Throughput: aws.Int32(125), CreateTime: aws.Time(aws.ToTime(s.StartTime).Add(-time.Duration(1+g.rng.IntN(100)) * day)), State: ec2types.VolumeStateInUse,
				Tags: g.tags("data"), Attachments: []ec2types.VolumeAttachment{{InstanceId: aws.String(g.attachTo()), VolumeId: aws.String(vid),
					State: ec2types.VolumeAttachmentStateAttached}}})
		case 4: // the root snapshot of an AMI of the account
			ami := "ami-" + g.hex(17)
			s.Description = aws.String(fmt.Sprintf("Created by CreateImage(i-%s) for %s", g.hex(17), ami))
			g.w.images = append(g.w.images, ec2types.Image{ImageId: aws.String(ami), Name: aws.String("golden-" + g.hex(6)),
				State: ec2types.ImageStateAvailable, OwnerId: aws.String(g.account), RootDeviceName: aws.String("/dev/xvda"),
				CreationDate: aws.String(aws.ToTime(s.StartTime).UTC().Format("2006-01-02T15:04:05.000Z")),
				BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsBlockDevice{
					SnapshotId: aws.String(id), VolumeSize: aws.Int32(size), VolumeType: "gp3", DeleteOnTermination: aws.Bool(true)}}}})
		case 5: // near miss: an orphan younger than the minimum age
			s.StartTime = aws.Time(g.agoMinutes(time.Duration(20+g.rng.IntN(50)) * day))
		case 6: // an orphan still being taken
			s.State, s.Progress = ec2types.SnapshotStatePending, aws.String("42%")
		}
		g.w.snapshots = append(g.w.snapshots, s)
	}
}

// defaultGroup adds the default security group of vpc, which every VPC has
// and which can never be deleted, and returns its ID.
func (g *gen) defaultGroup(vpc string) string {
	id := "sg-" + g.hex(17)
	g.w.securityGroups = append(g.w.securityGroups, ec2types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String("default"),
		Description: aws.String("default VPC security group"), VpcId: aws.String(vpc), OwnerId: aws.String(g.account),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(id), UserId: aws.String(g.account)}}}},
		IpPermissionsEgress: allEgress(),
	})
	return id
}

func allEgress() []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
}

func (g *gen) group(vpc string) ec2types.SecurityGroup {
	id := "sg-" + g.hex(17)
	name := fmt.Sprintf("%s-%s", groupPurposes[g.rng.IntN(len(groupPurposes))], g.hex(4))
	return ec2types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String(name), Description: aws.String("managed by team " + name),
		VpcId: aws.String(vpc), OwnerId: aws.String(g.account), Tags: g.tags("sg"),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}},
		IpPermissionsEgress: allEgress(),
	}
}

// refer adds to g a rule allowing traffic from (egress: to) the group ref.
func refer(g *ec2types.SecurityGroup, ref, account string, egress bool) {
	r := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(ref), UserId: aws.String(account)}}}
	if egress {
		g.IpPermissionsEgress = append(g.IpPermissionsEgress, r)
	} else {
		g.IpPermissions = append(g.IpPermissions, r)
	}
}

// inUseENI adds an interface attached to an instance and carrying groups.
func (g *gen) inUseENI(vpc string, groups ...string) {
	id := "eni-" + g.hex(17)
	n := ec2types.NetworkInterface{NetworkInterfaceId: aws.String(id), Status: ec2types.NetworkInterfaceStatusInUse,
		InterfaceType: ec2types.NetworkInterfaceTypeInterface, VpcId: aws.String(vpc), SubnetId: aws.String("subnet-" + g.hex(17)),
		OwnerId: aws.String(g.account), RequesterManaged: aws.Bool(false), PrivateIpAddress: aws.String(fmt.Sprintf("10.0.%d.%d", g.rng.IntN(256), 1+g.rng.IntN(254))),
		Attachment: &ec2types.NetworkInterfaceAttachment{AttachmentId: aws.String("eni-attach-" + g.hex(17)), InstanceId: aws.String(g.attachTo()),
			Status: ec2types.AttachmentStatusAttached, DeviceIndex: aws.Int32(0)}}
	for _, gr := range groups {
		n.Groups = append(n.Groups, ec2types.GroupIdentifier{GroupId: aws.String(gr)})
	}
	g.w.interfaces = append(g.w.interfaces, n)
}

// securityGroups plants groups in vpc: unused ones, and ones in use through
// an interface or another group's rules. Only interfaces and groups
// generated here refer to them.
func (g *gen) securityGroups(n int, vpc string) {
	for range n {
		sg := g.group(vpc)
		id := aws.ToString(sg.GroupId)
		switch g.pick(0.3, 0.15, 0.25, 0.15, 0.15) {
		case 0: // attached to nothing, referenced by nothing
			g.expect("ec2-unused-security-group", id)
		case 1: // near miss: it refers to itself, which is no use
			refer(&sg, id, g.account, false)
			g.expect("ec2-unused-security-group", id)
		case 2: // carried by an interface
			g.inUseENI(vpc, id)
		case 3: // allowed in by another group, which is itself unused or on an interface
			src := g.group(vpc)
			refer(&src, id, g.account, false)
			if g.rng.IntN(2) == 0 {
				g.expect("ec2-unused-security-group", aws.ToString(src.GroupId))
			} else {
				g.inUseENI(vpc, aws.ToString(src.GroupId))
			}
			g.w.securityGroups = append(g.w.securityGroups, src)
		case 4: // allowed out to by another group on an interface
			src := g.group(vpc)
			refer(&src, id, g.account, true)
			g.inUseENI(vpc, aws.ToString(src.GroupId))
			g.w.securityGroups = append(g.w.securityGroups, src)
		}
		g.w.securityGroups = append(g.w.securityGroups, sg)
	}
}

// networkInterfaces plants interfaces in vpc, all in its default group.
func (g *gen) networkInterfaces(n int, vpc, defaultGroup string) {
	for range n {
		id := "eni-" + g.hex(17)
		e := ec2types.NetworkInterface{NetworkInterfaceId: aws.String(id), Status: ec2types.NetworkInterfaceStatusAvailable,
			InterfaceType: ec2types.NetworkInterfaceTypeInterface, VpcId: aws.String(vpc), SubnetId: aws.String("subnet-" + g.hex(17)),
			OwnerId: aws.String(g.account), RequesterManaged: aws.Bool(false), Groups: []ec2types.GroupIdentifier{{GroupId: aws.String(defaultGroup)}},
			PrivateIpAddress: aws.String(fmt.Sprintf("10.1.%d.%d", g.rng.IntN(256), 1+g.rng.IntN(254))), TagSet: g.tags("eni")}
		switch g.pick(0.4, 0.2, 0.2, 0.2) {
		case 0: // detached, free but clutter
			e.Description = aws.String("secondary interface")
			g.expect("ec2-detached-eni", id)
		case 1: // detached and holding an Elastic IP: billed
			e.Association = &ec2types.NetworkInterfaceAssociation{PublicIp: aws.String(fmt.Sprintf("203.0.%d.%d", g.rng.IntN(256), 1+g.rng.IntN(254))),
				AllocationId: aws.String("eipalloc-" + g.hex(17)), AssociationId: aws.String("eipassoc-" + g.hex(17)), IpOwnerId: aws.String(g.account)}
			g.expect("ec2-detached-eni", id)
		case 2: // detached, but a service manages it: its owner cannot delete it
			e.RequesterManaged, e.InterfaceType = aws.Bool(true), ec2types.NetworkInterfaceTypeLambda
			e.Description = aws.String("AWS Lambda VPC ENI-worker-" + g.hex(8))
			e.RequesterId = aws.String("AROA" + strings.ToUpper(g.hex(17)))
		case 3: // attached
			e.Status = ec2types.NetworkInterfaceStatusInUse
			e.Attachment = &ec2types.NetworkInterfaceAttachment{AttachmentId: aws.String("eni-attach-" + g.hex(17)), InstanceId: aws.String(g.attachTo()),
				Status: ec2types.AttachmentStatusAttached, DeviceIndex: aws.Int32(1)}
		}
		g.w.interfaces = append(g.w.interfaces, e)
	}
}

func (g *gen) interfaceEndpoints(n int) {
	for range n {
		id := "vpce-" + g.hex(17)
		created := g.old()
		typ, state := ec2types.VpcEndpointTypeInterface, "available"
		service := fmt.Sprintf("com.amazonaws.%s.%s", g.region, endpointServices[g.rng.IntN(len(endpointServices))])
		bytes := profile{none: true} // PrivateLink publishes nothing for an endpoint without traffic
		switch g.pick(0.3, 0.1, 0.1, 0.15, 0.15, 0.1, 0.05, 0.05) {
		case 0: // no traffic, no datapoints
			g.expect("vpc-idle-interface-endpoint", id)
		case 1: // zero bytes every day
			bytes = profile{exact: true}
			g.expect("vpc-idle-interface-endpoint", id)
		case 2: // idle, created exactly one lookback ago (judged)
			created = g.now.Add(-endpointLookback)
			g.expect("vpc-idle-interface-endpoint", id)
		case 3: // near miss: a few kilobytes on one day
			bytes = profile{exact: true, spikeDay: g.spikeDay(), spike: 4096}
		case 4: // in use
			bytes = profile{base: 1e6, spread: 1e9}
		case 5: // idle, but created inside the lookback
			created = g.recent()
		case 6: // a gateway endpoint: free, never judged
			typ, service = ec2types.VpcEndpointTypeGateway, fmt.Sprintf("com.amazonaws.%s.s3", g.region)
		case 7: // never accepted by the service's owner
			state = "pendingAcceptance"
			service = "com.amazonaws.vpce." + g.region + ".vpce-svc-" + g.hex(17)
		}
		e := ec2types.VpcEndpoint{VpcEndpointId: aws.String(id), VpcEndpointType: typ, State: ec2types.State(state), ServiceName: aws.String(service),
			VpcId: aws.String("vpc-" + g.hex(17)), CreationTimestamp: aws.Time(created), OwnerId: aws.String(g.account),
			RequesterManaged: aws.Bool(false), Tags: g.tags("endpoint")}
		if typ == ec2types.VpcEndpointTypeInterface {
			e.PrivateDnsEnabled = aws.Bool(true)
			for range 1 + g.rng.IntN(3) {
				e.SubnetIds = append(e.SubnetIds, "subnet-"+g.hex(17))
				e.NetworkInterfaceIds = append(e.NetworkInterfaceIds, "eni-"+g.hex(17))
			}
			bytes.from = created
			g.put("AWS/PrivateLinkEndpoints", "BytesProcessed", id, bytes)
		} else {
			e.RouteTableIds = []string{"rtb-" + g.hex(17)}
		}
		g.w.vpcEndpoints = append(g.w.vpcEndpoints, e)
	}
}

// churnEC2More deletes this group's resources for which del says so, and
// what goes with them, none of which was reported:
//   - deregistering an AMI deletes its snapshots, and a snapshot an AMI
//     still uses cannot be deleted;
//   - the backup snapshot of a volume that churn deleted goes with it;
//   - a security group can only be deleted when nothing uses it, and one
//     whose last user (interface or referring group) is deleted goes too.
func (g *gen) churnEC2More(del func(id string) bool) {
	w := g.w
	// Stopped instances and their volumes live in world.go's slices and are
	// churned there.
	w.vpcEndpoints = slices.DeleteFunc(w.vpcEndpoints, func(e ec2types.VpcEndpoint) bool { return del(aws.ToString(e.VpcEndpointId)) })

	withImage := map[string]bool{}
	w.images = slices.DeleteFunc(w.images, func(img ec2types.Image) bool {
		if !del(aws.ToString(img.ImageId)) {
			return false
		}
		for _, m := range img.BlockDeviceMappings {
			if m.Ebs != nil {
				withImage[aws.ToString(m.Ebs.SnapshotId)] = true
			}
		}
		return true
	})
	used := map[string]bool{}
	for _, img := range w.images {
		for _, m := range img.BlockDeviceMappings {
			if m.Ebs != nil {
				used[aws.ToString(m.Ebs.SnapshotId)] = true
			}
		}
	}
	live := map[string]bool{}
	for _, v := range w.volumes {
		live[aws.ToString(v.VolumeId)] = true
	}
	w.snapshots = slices.DeleteFunc(w.snapshots, func(s ec2types.Snapshot) bool {
		id, vol := aws.ToString(s.SnapshotId), aws.ToString(s.VolumeId)
		switch {
		case withImage[id]:
			return true
		case used[id]:
			return false
		case vol == "vol-"+strings.TrimPrefix(id, "snap-") && !live[vol]:
			return true
		}
		return del(id)
	})

	usedBefore := groupsInUse(w)
	w.interfaces = slices.DeleteFunc(w.interfaces, func(n ec2types.NetworkInterface) bool { return del(aws.ToString(n.NetworkInterfaceId)) })
	w.securityGroups = slices.DeleteFunc(w.securityGroups, func(sg ec2types.SecurityGroup) bool {
		id := aws.ToString(sg.GroupId)
		return aws.ToString(sg.GroupName) != "default" && !usedBefore[id] && del(id)
	})
	for {
		inUse := groupsInUse(w)
		n := len(w.securityGroups)
		w.securityGroups = slices.DeleteFunc(w.securityGroups, func(sg ec2types.SecurityGroup) bool {
			id := aws.ToString(sg.GroupId)
			return aws.ToString(sg.GroupName) != "default" && usedBefore[id] && !inUse[id]
		})
		if len(w.securityGroups) == n {
			break
		}
	}
}

// groupsInUse returns the security groups that an interface carries or
// another group's rules refer to.
func groupsInUse(w *world) map[string]bool {
	out := map[string]bool{}
	for _, n := range w.interfaces {
		for _, gr := range n.Groups {
			out[aws.ToString(gr.GroupId)] = true
		}
	}
	for _, sg := range w.securityGroups {
		self := aws.ToString(sg.GroupId)
		for _, rules := range [][]ec2types.IpPermission{sg.IpPermissions, sg.IpPermissionsEgress} {
			for _, r := range rules {
				for _, p := range r.UserIdGroupPairs {
					if id := aws.ToString(p.GroupId); id != self {
						out[id] = true
					}
				}
			}
		}
	}
	return out
}
