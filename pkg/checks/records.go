package checks

import (
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// The resource of each kind the inventory describes: checks build their
// candidates' resources with these, and Records lists them all.

func instanceResource(env Env, in ec2types.Instance) Resource {
	id, tags := aws.ToString(in.InstanceId), ec2Tags(in.Tags)
	state := ""
	if in.State != nil {
		state = string(in.State.Name)
	}
	return Resource{Type: "AWS::EC2::Instance", ID: id, ARN: ec2ARN(env, "instance", id), Name: nameTag(tags), State: state,
		Created: aws.ToTime(in.LaunchTime), Tags: tags}
}

func volumeResource(env Env, v ec2types.Volume) Resource {
	id, tags := aws.ToString(v.VolumeId), ec2Tags(v.Tags)
	return Resource{Type: "AWS::EC2::Volume", ID: id, ARN: ec2ARN(env, "volume", id), Name: nameTag(tags), State: string(v.State),
		Created: aws.ToTime(v.CreateTime), Tags: tags}
}

func addressResource(env Env, a ec2types.Address) Resource {
	id := aws.ToString(a.AllocationId)
	if id == "" { // EC2-Classic addresses had no allocation ID; the IP is their identity
		id = aws.ToString(a.PublicIp)
	}
	tags := ec2Tags(a.Tags)
	state := "associated"
	if aws.ToString(a.AssociationId) == "" && aws.ToString(a.NetworkInterfaceId) == "" && aws.ToString(a.InstanceId) == "" {
		state = "unassociated"
	}
	return Resource{Type: "AWS::EC2::EIP", ID: id, ARN: ec2ARN(env, "elastic-ip", id), Name: nameTag(tags), State: state, Tags: tags}
}

func natResource(env Env, g ec2types.NatGateway) Resource {
	id, tags := aws.ToString(g.NatGatewayId), ec2Tags(g.Tags)
	return Resource{Type: "AWS::EC2::NatGateway", ID: id, ARN: ec2ARN(env, "natgateway", id), Name: nameTag(tags), State: string(g.State),
		Created: aws.ToTime(g.CreateTime), Tags: tags}
}

func functionResource(f lambdatypes.FunctionConfiguration) Resource {
	name := aws.ToString(f.FunctionName)
	return Resource{Type: "AWS::Lambda::Function", ID: name, ARN: aws.ToString(f.FunctionArn), Name: name, State: string(f.State),
		Created: parseLambdaTime(aws.ToString(f.LastModified))}
}

func dbResource(db rdstypes.DBInstance) Resource {
	id := aws.ToString(db.DBInstanceIdentifier)
	return Resource{Type: "AWS::RDS::DBInstance", ID: id, ARN: aws.ToString(db.DBInstanceArn), Name: id, State: aws.ToString(db.DBInstanceStatus),
		Created: aws.ToTime(db.InstanceCreateTime), Tags: rdsTags(db.TagList)}
}

// Records lists every resource the inventory described for this pair (the
// APIs that were called; nothing is asked for the sake of the list), sorted
// by type and ID: the pair's inventory for the resource explorer.
func (inv *Inventory) Records(env Env) []Resource {
	var out []Resource
	add := func(r Resource) { out = append(out, r) }
	if v, ok := inv.instances.value(); ok {
		for _, x := range v {
			add(instanceResource(env, x))
		}
	}
	if v, ok := inv.volumes.value(); ok {
		for _, x := range v {
			add(volumeResource(env, x))
		}
	}
	if v, ok := inv.addresses.value(); ok {
		for _, x := range v {
			add(addressResource(env, x))
		}
	}
	if v, ok := inv.natGateways.value(); ok {
		for _, x := range v {
			add(natResource(env, x))
		}
	}
	if v, ok := inv.functions.value(); ok {
		for _, x := range v {
			add(functionResource(x))
		}
	}
	if v, ok := inv.dbInstances.value(); ok {
		for _, x := range v {
			add(dbResource(x))
		}
	}
	if v, ok := inv.snapshots.value(); ok {
		for _, s := range v {
			id, tags := aws.ToString(s.SnapshotId), ec2Tags(s.Tags)
			add(Resource{Type: "AWS::EC2::Snapshot", ID: id, ARN: ec2ARN(env, "snapshot", id), Name: nameTag(tags), State: string(s.State),
				Created: aws.ToTime(s.StartTime), Tags: tags})
		}
	}
	if v, ok := inv.images.value(); ok {
		for _, im := range v {
			id, tags := aws.ToString(im.ImageId), ec2Tags(im.Tags)
			add(Resource{Type: "AWS::EC2::Image", ID: id, ARN: ec2ARN(env, "image", id), Name: aws.ToString(im.Name), State: string(im.State), Tags: tags})
		}
	}
	if v, ok := inv.securityGroups.value(); ok {
		for _, g := range v {
			id, tags := aws.ToString(g.GroupId), ec2Tags(g.Tags)
			add(Resource{Type: "AWS::EC2::SecurityGroup", ID: id, ARN: ec2ARN(env, "security-group", id), Name: aws.ToString(g.GroupName), Tags: tags})
		}
	}
	if v, ok := inv.interfaces.value(); ok {
		for _, n := range v {
			id, tags := aws.ToString(n.NetworkInterfaceId), ec2Tags(n.TagSet)
			add(Resource{Type: "AWS::EC2::NetworkInterface", ID: id, ARN: ec2ARN(env, "network-interface", id), Name: nameTag(tags), State: string(n.Status), Tags: tags})
		}
	}
	if v, ok := inv.vpcEndpoints.value(); ok {
		for _, e := range v {
			id, tags := aws.ToString(e.VpcEndpointId), ec2Tags(e.Tags)
			add(Resource{Type: "AWS::EC2::VPCEndpoint", ID: id, ARN: ec2ARN(env, "vpc-endpoint", id), Name: nameTag(tags), State: string(e.State),
				Created: aws.ToTime(e.CreationTimestamp), Tags: tags})
		}
	}
	if v, ok := inv.loadBalancers.value(); ok {
		for _, lb := range v {
			add(loadBalancerResource(lb))
		}
	}
	if v, ok := inv.targetGroups.value(); ok {
		for _, tg := range v {
			add(Resource{Type: "AWS::ElasticLoadBalancingV2::TargetGroup", ID: elbResourceID(aws.ToString(tg.TargetGroupArn)), ARN: aws.ToString(tg.TargetGroupArn),
				Name: aws.ToString(tg.TargetGroupName)})
		}
	}
	if v, ok := inv.cacheClusters.value(); ok {
		for _, c := range v {
			id := aws.ToString(c.CacheClusterId)
			add(Resource{Type: "AWS::ElastiCache::CacheCluster", ID: id, ARN: aws.ToString(c.ARN), Name: id, State: aws.ToString(c.CacheClusterStatus),
				Created: aws.ToTime(c.CacheClusterCreateTime)})
		}
	}
	for _, t := range inv.tables.values() {
		if t == nil {
			continue
		}
		name := aws.ToString(t.TableName)
		add(Resource{Type: "AWS::DynamoDB::Table", ID: name, ARN: aws.ToString(t.TableArn), Name: name, State: string(t.TableStatus),
			Created: aws.ToTime(t.CreationDateTime)})
	}
	if v, ok := inv.logGroups.value(); ok {
		for _, g := range v {
			name := aws.ToString(g.LogGroupName)
			var created time.Time
			if ms := aws.ToInt64(g.CreationTime); ms > 0 {
				created = time.UnixMilli(ms).UTC()
			}
			add(Resource{Type: "AWS::Logs::LogGroup", ID: name, ARN: logGroupARN(g), Name: name, Created: created})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].ID < out[j].ID
	})
	return out
}
