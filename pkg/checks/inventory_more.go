package checks

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ELBv2API is the part of the Elastic Load Balancing v2 API the checks use.
type ELBv2API interface {
	elb.DescribeLoadBalancersAPIClient
	elb.DescribeTargetGroupsAPIClient
	DescribeTargetHealth(context.Context, *elb.DescribeTargetHealthInput, ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error)
}

// ElastiCacheAPI is the part of the ElastiCache API the checks use.
type ElastiCacheAPI interface {
	elasticache.DescribeCacheClustersAPIClient
}

// DynamoDBAPI is the part of the DynamoDB API the checks use.
type DynamoDBAPI interface {
	dynamodb.ListTablesAPIClient
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// LogsAPI is the part of the CloudWatch Logs API the checks use.
type LogsAPI interface {
	cloudwatchlogs.DescribeLogGroupsAPIClient
}

var (
	_ ELBv2API       = (*elb.Client)(nil)
	_ ElastiCacheAPI = (*elasticache.Client)(nil)
	_ DynamoDBAPI    = (*dynamodb.Client)(nil)
	_ LogsAPI        = (*cloudwatchlogs.Client)(nil)
)

// Largest page sizes of the APIs below.
const (
	pageDescribeSnapshots         = 1000
	pageDescribeImages            = 1000
	pageDescribeSecurityGroups    = 1000
	pageDescribeNetworkInterfaces = 1000
	pageDescribeVpcEndpoints      = 1000
	pageDescribeLoadBalancers     = 400
	pageDescribeTargetGroups      = 400
	pageDescribeCacheClusters     = 100
	pageListTables                = 100
	pageDescribeLogGroups         = 50
)

// keyed memoises a per-resource call: each key is asked at most once.
type keyed[T any] struct {
	mu sync.Mutex
	m  map[string]*memo[T]
}

// values returns the results fetched without error, in key order.
func (k *keyed[T]) values() []T {
	k.mu.Lock()
	defer k.mu.Unlock()
	keys := make([]string, 0, len(k.m))
	for key := range k.m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var out []T
	for _, key := range keys {
		if v, ok := k.m[key].value(); ok {
			out = append(out, v)
		}
	}
	return out
}

func (k *keyed[T]) get(key string, f func() (T, error)) (T, error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*memo[T]{}
	}
	m, ok := k.m[key]
	if !ok {
		m = &memo[T]{}
		k.m[key] = m
	}
	k.mu.Unlock()
	return m.get(f)
}

// walk pages through a paginator, counting each page as one request of op.
func walk[P interface {
	HasMorePages() bool
}, O any](ctx context.Context, inv *Inventory, op string, p P, next func(context.Context) (O, error), each func(O)) error {
	for p.HasMorePages() {
		out, err := next(ctx)
		inv.calls.Add(op, 1)
		if err != nil {
			return err
		}
		each(out)
	}
	return nil
}

func noClient(op string) error { return fmt.Errorf("%s: %w", op, ErrNoClient) }

// Snapshots returns the EBS snapshots the account owns.
func (inv *Inventory) Snapshots(ctx context.Context) ([]ec2types.Snapshot, error) {
	return inv.snapshots.get(func() (out []ec2types.Snapshot, err error) {
		if inv.c.EC2 == nil {
			return nil, noClient("ec2:DescribeSnapshots")
		}
		p := ec2.NewDescribeSnapshotsPaginator(inv.c.EC2, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(pageDescribeSnapshots)})
		err = walk(ctx, inv, "ec2:DescribeSnapshots", p, func(ctx context.Context) (*ec2.DescribeSnapshotsOutput, error) { return p.NextPage(ctx) },
			func(o *ec2.DescribeSnapshotsOutput) { out = append(out, o.Snapshots...) })
		return out, err
	})
}

// Images returns the AMIs the account owns.
func (inv *Inventory) Images(ctx context.Context) ([]ec2types.Image, error) {
	return inv.images.get(func() (out []ec2types.Image, err error) {
		if inv.c.EC2 == nil {
			return nil, noClient("ec2:DescribeImages")
		}
		p := ec2.NewDescribeImagesPaginator(inv.c.EC2, &ec2.DescribeImagesInput{Owners: []string{"self"}, MaxResults: aws.Int32(pageDescribeImages)})
		err = walk(ctx, inv, "ec2:DescribeImages", p, func(ctx context.Context) (*ec2.DescribeImagesOutput, error) { return p.NextPage(ctx) },
			func(o *ec2.DescribeImagesOutput) { out = append(out, o.Images...) })
		return out, err
	})
}

// SecurityGroups returns every security group of the pair.
func (inv *Inventory) SecurityGroups(ctx context.Context) ([]ec2types.SecurityGroup, error) {
	return inv.securityGroups.get(func() (out []ec2types.SecurityGroup, err error) {
		if inv.c.EC2 == nil {
			return nil, noClient("ec2:DescribeSecurityGroups")
		}
		p := ec2.NewDescribeSecurityGroupsPaginator(inv.c.EC2, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(pageDescribeSecurityGroups)})
		err = walk(ctx, inv, "ec2:DescribeSecurityGroups", p, func(ctx context.Context) (*ec2.DescribeSecurityGroupsOutput, error) { return p.NextPage(ctx) },
			func(o *ec2.DescribeSecurityGroupsOutput) { out = append(out, o.SecurityGroups...) })
		return out, err
	})
}

// NetworkInterfaces returns every elastic network interface of the pair.
func (inv *Inventory) NetworkInterfaces(ctx context.Context) ([]ec2types.NetworkInterface, error) {
	return inv.interfaces.get(func() (out []ec2types.NetworkInterface, err error) {
		if inv.c.EC2 == nil {
			return nil, noClient("ec2:DescribeNetworkInterfaces")
		}
		p := ec2.NewDescribeNetworkInterfacesPaginator(inv.c.EC2, &ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(pageDescribeNetworkInterfaces)})
		err = walk(ctx, inv, "ec2:DescribeNetworkInterfaces", p, func(ctx context.Context) (*ec2.DescribeNetworkInterfacesOutput, error) { return p.NextPage(ctx) },
			func(o *ec2.DescribeNetworkInterfacesOutput) { out = append(out, o.NetworkInterfaces...) })
		return out, err
	})
}

// VPCEndpoints returns every VPC endpoint of the pair.
func (inv *Inventory) VPCEndpoints(ctx context.Context) ([]ec2types.VpcEndpoint, error) {
	return inv.vpcEndpoints.get(func() (out []ec2types.VpcEndpoint, err error) {
		if inv.c.EC2 == nil {
			return nil, noClient("ec2:DescribeVpcEndpoints")
		}
		p := ec2.NewDescribeVpcEndpointsPaginator(inv.c.EC2, &ec2.DescribeVpcEndpointsInput{MaxResults: aws.Int32(pageDescribeVpcEndpoints)})
		err = walk(ctx, inv, "ec2:DescribeVpcEndpoints", p, func(ctx context.Context) (*ec2.DescribeVpcEndpointsOutput, error) { return p.NextPage(ctx) },
			func(o *ec2.DescribeVpcEndpointsOutput) { out = append(out, o.VpcEndpoints...) })
		return out, err
	})
}

// LoadBalancers returns every Application, Network and Gateway load balancer.
func (inv *Inventory) LoadBalancers(ctx context.Context) ([]elbtypes.LoadBalancer, error) {
	return inv.loadBalancers.get(func() (out []elbtypes.LoadBalancer, err error) {
		if inv.c.ELBv2 == nil {
			return nil, noClient("elasticloadbalancing:DescribeLoadBalancers")
		}
		p := elb.NewDescribeLoadBalancersPaginator(inv.c.ELBv2, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(pageDescribeLoadBalancers)})
		err = walk(ctx, inv, "elasticloadbalancing:DescribeLoadBalancers", p, func(ctx context.Context) (*elb.DescribeLoadBalancersOutput, error) { return p.NextPage(ctx) },
			func(o *elb.DescribeLoadBalancersOutput) { out = append(out, o.LoadBalancers...) })
		return out, err
	})
}

// TargetGroups returns every target group.
func (inv *Inventory) TargetGroups(ctx context.Context) ([]elbtypes.TargetGroup, error) {
	return inv.targetGroups.get(func() (out []elbtypes.TargetGroup, err error) {
		if inv.c.ELBv2 == nil {
			return nil, noClient("elasticloadbalancing:DescribeTargetGroups")
		}
		p := elb.NewDescribeTargetGroupsPaginator(inv.c.ELBv2, &elb.DescribeTargetGroupsInput{PageSize: aws.Int32(pageDescribeTargetGroups)})
		err = walk(ctx, inv, "elasticloadbalancing:DescribeTargetGroups", p, func(ctx context.Context) (*elb.DescribeTargetGroupsOutput, error) { return p.NextPage(ctx) },
			func(o *elb.DescribeTargetGroupsOutput) { out = append(out, o.TargetGroups...) })
		return out, err
	})
}

// TargetHealth returns the registered targets of one target group. The API
// takes one group per call; each group is asked at most once per pair.
func (inv *Inventory) TargetHealth(ctx context.Context, targetGroupARN string) ([]elbtypes.TargetHealthDescription, error) {
	return inv.targetHealth.get(targetGroupARN, func() ([]elbtypes.TargetHealthDescription, error) {
		if inv.c.ELBv2 == nil {
			return nil, noClient("elasticloadbalancing:DescribeTargetHealth")
		}
		out, err := inv.c.ELBv2.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(targetGroupARN)})
		inv.calls.Add("elasticloadbalancing:DescribeTargetHealth", 1)
		if err != nil {
			return nil, err
		}
		return out.TargetHealthDescriptions, nil
	})
}

// CacheClusters returns every ElastiCache cluster, with node details.
func (inv *Inventory) CacheClusters(ctx context.Context) ([]ectypes.CacheCluster, error) {
	return inv.cacheClusters.get(func() (out []ectypes.CacheCluster, err error) {
		if inv.c.ElastiCache == nil {
			return nil, noClient("elasticache:DescribeCacheClusters")
		}
		p := elasticache.NewDescribeCacheClustersPaginator(inv.c.ElastiCache, &elasticache.DescribeCacheClustersInput{MaxRecords: aws.Int32(pageDescribeCacheClusters), ShowCacheNodeInfo: aws.Bool(true)})
		err = walk(ctx, inv, "elasticache:DescribeCacheClusters", p, func(ctx context.Context) (*elasticache.DescribeCacheClustersOutput, error) { return p.NextPage(ctx) },
			func(o *elasticache.DescribeCacheClustersOutput) { out = append(out, o.CacheClusters...) })
		return out, err
	})
}

// TableNames returns the names of every DynamoDB table.
func (inv *Inventory) TableNames(ctx context.Context) ([]string, error) {
	return inv.tableNames.get(func() (out []string, err error) {
		if inv.c.DynamoDB == nil {
			return nil, noClient("dynamodb:ListTables")
		}
		p := dynamodb.NewListTablesPaginator(inv.c.DynamoDB, &dynamodb.ListTablesInput{Limit: aws.Int32(pageListTables)})
		err = walk(ctx, inv, "dynamodb:ListTables", p, func(ctx context.Context) (*dynamodb.ListTablesOutput, error) { return p.NextPage(ctx) },
			func(o *dynamodb.ListTablesOutput) { out = append(out, o.TableNames...) })
		return out, err
	})
}

// Table describes one DynamoDB table (one call per table, at most once).
func (inv *Inventory) Table(ctx context.Context, name string) (*ddbtypes.TableDescription, error) {
	return inv.tables.get(name, func() (*ddbtypes.TableDescription, error) {
		if inv.c.DynamoDB == nil {
			return nil, noClient("dynamodb:DescribeTable")
		}
		out, err := inv.c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		inv.calls.Add("dynamodb:DescribeTable", 1)
		if err != nil {
			return nil, err
		}
		return out.Table, nil
	})
}

// LogGroups returns every CloudWatch Logs log group.
func (inv *Inventory) LogGroups(ctx context.Context) ([]logstypes.LogGroup, error) {
	return inv.logGroups.get(func() (out []logstypes.LogGroup, err error) {
		if inv.c.Logs == nil {
			return nil, noClient("logs:DescribeLogGroups")
		}
		p := cloudwatchlogs.NewDescribeLogGroupsPaginator(inv.c.Logs, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(pageDescribeLogGroups)})
		err = walk(ctx, inv, "logs:DescribeLogGroups", p, func(ctx context.Context) (*cloudwatchlogs.DescribeLogGroupsOutput, error) { return p.NextPage(ctx) },
			func(o *cloudwatchlogs.DescribeLogGroupsOutput) { out = append(out, o.LogGroups...) })
		return out, err
	})
}
