package checks_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// The fake's answers to the APIs of the wider catalogue, paged like the rest.

func (f *fakeAWS) DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeSnapshots); err != nil {
		return nil, err
	}
	if len(in.OwnerIds) != 1 || in.OwnerIds[0] != "self" {
		return nil, fmt.Errorf("DescribeSnapshots must ask for OwnerIds [self], got %v", in.OwnerIds)
	}
	page, next, err := pageOf(f, opDescribeSnapshots, f.snapshots, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSnapshotsOutput{Snapshots: page, NextToken: next}, nil
}

func (f *fakeAWS) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeImages); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeImages, f.images, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeImagesOutput{Images: page, NextToken: next}, nil
}

func (f *fakeAWS) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeSGs); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeSGs, f.securityGroups, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: page, NextToken: next}, nil
}

func (f *fakeAWS) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeENIs); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeENIs, f.interfaces, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: page, NextToken: next}, nil
}

func (f *fakeAWS) DescribeVpcEndpoints(ctx context.Context, in *ec2.DescribeVpcEndpointsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeEndpoints); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeEndpoints, f.vpcEndpoints, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVpcEndpointsOutput{VpcEndpoints: page, NextToken: next}, nil
}

func (f *fakeAWS) DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeLBs); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeLBs, f.loadBalancers, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &elb.DescribeLoadBalancersOutput{LoadBalancers: page, NextMarker: next}, nil
}

func (f *fakeAWS) DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, _ ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeTGs); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeTGs, f.targetGroups, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &elb.DescribeTargetGroupsOutput{TargetGroups: page, NextMarker: next}, nil
}

func (f *fakeAWS) DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, _ ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeTH); err != nil {
		return nil, err
	}
	return &elb.DescribeTargetHealthOutput{TargetHealthDescriptions: f.targetHealth[aws.ToString(in.TargetGroupArn)]}, nil
}

func (f *fakeAWS) DescribeCacheClusters(ctx context.Context, in *elasticache.DescribeCacheClustersInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeCacheClustersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeCaches); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeCaches, f.cacheClusters, in.Marker, in.MaxRecords)
	if err != nil {
		return nil, err
	}
	return &elasticache.DescribeCacheClustersOutput{CacheClusters: page, Marker: next}, nil
}

func (f *fakeAWS) ListTables(ctx context.Context, in *dynamodb.ListTablesInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opListTables); err != nil {
		return nil, err
	}
	names := make([]string, len(f.tables))
	for i, t := range f.tables {
		names[i] = aws.ToString(t.TableName)
	}
	page, next, err := pageOf(f, opListTables, names, in.ExclusiveStartTableName, in.Limit)
	if err != nil {
		return nil, err
	}
	return &dynamodb.ListTablesOutput{TableNames: page, LastEvaluatedTableName: next}, nil
}

func (f *fakeAWS) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeTable); err != nil {
		return nil, err
	}
	for i := range f.tables {
		if aws.ToString(f.tables[i].TableName) == aws.ToString(in.TableName) {
			t := f.tables[i]
			return &dynamodb.DescribeTableOutput{Table: &t}, nil
		}
	}
	return nil, fmt.Errorf("ResourceNotFoundException: table %s", aws.ToString(in.TableName))
}

func (f *fakeAWS) DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, opDescribeLogGroups); err != nil {
		return nil, err
	}
	page, next, err := pageOf(f, opDescribeLogGroups, f.logGroups, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	return &cloudwatchlogs.DescribeLogGroupsOutput{LogGroups: page, NextToken: next}, nil
}
