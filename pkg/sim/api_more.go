package sim

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/orgscan/orgscan/pkg/checks"
)

var (
	_ checks.ELBv2API       = (*Pair)(nil)
	_ checks.ElastiCacheAPI = (*Pair)(nil)
	_ checks.DynamoDBAPI    = (*Pair)(nil)
	_ checks.LogsAPI        = (*Pair)(nil)
)

func init() {
	for svc, codes := range map[string][2]string{
		"elasticloadbalancing": {"Throttling", "AccessDenied"},
		"elasticache":          {"Throttling", "AccessDenied"},
		"dynamodb":             {"ThrottlingException", "AccessDeniedException"},
		"logs":                 {"ThrottlingException", "AccessDeniedException"},
	} {
		throttleCode[svc], deniedCode[svc] = codes[0], codes[1]
	}
}

// DescribeSnapshots serves the account's own snapshots.
func (p *Pair) DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeSnapshots"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeSnapshots", p.world.snapshots, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSnapshotsOutput{Snapshots: items, NextToken: next}, nil
}

// DescribeImages serves the account's own AMIs.
func (p *Pair) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeImages"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeImages", p.world.images, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeImagesOutput{Images: items, NextToken: next}, nil
}

// DescribeSecurityGroups serves security groups.
func (p *Pair) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeSecurityGroups"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeSecurityGroups", p.world.securityGroups, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: items, NextToken: next}, nil
}

// DescribeNetworkInterfaces serves ENIs.
func (p *Pair) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeNetworkInterfaces"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeNetworkInterfaces", p.world.interfaces, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: items, NextToken: next}, nil
}

// DescribeVpcEndpoints serves VPC endpoints.
func (p *Pair) DescribeVpcEndpoints(ctx context.Context, in *ec2.DescribeVpcEndpointsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	if err := p.enter(ctx, "ec2:DescribeVpcEndpoints"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "ec2:DescribeVpcEndpoints", p.world.vpcEndpoints, in.NextToken, in.MaxResults, 1, 1000)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVpcEndpointsOutput{VpcEndpoints: items, NextToken: next}, nil
}

// DescribeLoadBalancers serves load balancers (Marker pagination).
func (p *Pair) DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	if err := p.enter(ctx, "elasticloadbalancing:DescribeLoadBalancers"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "elasticloadbalancing:DescribeLoadBalancers", p.world.loadBalancers, in.Marker, in.PageSize, 1, 400)
	if err != nil {
		return nil, err
	}
	return &elb.DescribeLoadBalancersOutput{LoadBalancers: items, NextMarker: next}, nil
}

// DescribeTargetGroups serves target groups (Marker pagination).
func (p *Pair) DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, _ ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error) {
	if err := p.enter(ctx, "elasticloadbalancing:DescribeTargetGroups"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "elasticloadbalancing:DescribeTargetGroups", p.world.targetGroups, in.Marker, in.PageSize, 1, 400)
	if err != nil {
		return nil, err
	}
	return &elb.DescribeTargetGroupsOutput{TargetGroups: items, NextMarker: next}, nil
}

// DescribeTargetHealth serves one target group's targets.
func (p *Pair) DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, _ ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	if err := p.enter(ctx, "elasticloadbalancing:DescribeTargetHealth"); err != nil {
		return nil, err
	}
	p.needs("elasticloadbalancing:DescribeTargetHealth/"+aws.ToString(in.TargetGroupArn), "elasticloadbalancing:DescribeTargetHealth", 1)
	return &elb.DescribeTargetHealthOutput{TargetHealthDescriptions: p.world.targetHealth[aws.ToString(in.TargetGroupArn)]}, nil
}

// DescribeCacheClusters serves cache clusters (Marker pagination).
func (p *Pair) DescribeCacheClusters(ctx context.Context, in *elasticache.DescribeCacheClustersInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeCacheClustersOutput, error) {
	if err := p.enter(ctx, "elasticache:DescribeCacheClusters"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "elasticache:DescribeCacheClusters", p.world.cacheClusters, in.Marker, in.MaxRecords, 20, 100)
	if err != nil {
		return nil, err
	}
	return &elasticache.DescribeCacheClustersOutput{CacheClusters: items, Marker: next}, nil
}

// ListTables serves table names (ExclusiveStartTableName pagination).
func (p *Pair) ListTables(ctx context.Context, in *dynamodb.ListTablesInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error) {
	if err := p.enter(ctx, "dynamodb:ListTables"); err != nil {
		return nil, err
	}
	names := make([]string, len(p.world.tables))
	for i, t := range p.world.tables {
		names[i] = aws.ToString(t.TableName)
	}
	items, next, err := page(p, "dynamodb:ListTables", names, in.ExclusiveStartTableName, in.Limit, 1, 100)
	if err != nil {
		return nil, err
	}
	return &dynamodb.ListTablesOutput{TableNames: items, LastEvaluatedTableName: next}, nil
}

// DescribeTable serves one table.
func (p *Pair) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	if err := p.enter(ctx, "dynamodb:DescribeTable"); err != nil {
		return nil, err
	}
	for i := range p.world.tables {
		if aws.ToString(p.world.tables[i].TableName) == aws.ToString(in.TableName) {
			t := p.world.tables[i]
			p.needs("dynamodb:DescribeTable/"+aws.ToString(t.TableName), "dynamodb:DescribeTable", 1)
			return &dynamodb.DescribeTableOutput{Table: &t}, nil
		}
	}
	return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: fmt.Sprintf("table %s not found", aws.ToString(in.TableName)), Fault: smithy.FaultClient}
}

// DescribeLogGroups serves log groups.
func (p *Pair) DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	if err := p.enter(ctx, "logs:DescribeLogGroups"); err != nil {
		return nil, err
	}
	items, next, err := page(p, "logs:DescribeLogGroups", p.world.logGroups, in.NextToken, in.Limit, 1, 50)
	if err != nil {
		return nil, err
	}
	return &cloudwatchlogs.DescribeLogGroupsOutput{LogGroups: items, NextToken: next}, nil
}
