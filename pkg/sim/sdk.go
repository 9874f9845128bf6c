package sim

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go/middleware"
)

type paramsKey struct{}

// apiOptions plug the pair into an SDK client's middleware stack. The
// Initialize step remembers the typed input; a handler appended at the end of
// the Finalize step — after the SDK's retry middleware and signing, where the
// HTTP round trip would start — answers from the pair and returns the typed
// output. Everything above it (validation, paginators, the retryer and its
// backoff, error classification) is the SDK's own code.
func (p *Pair) apiOptions() []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{func(s *middleware.Stack) error {
		if err := s.Initialize.Add(middleware.InitializeMiddlewareFunc("OrgscanSimInput",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(middleware.WithStackValue(ctx, paramsKey{}, in.Parameters), in)
			}), middleware.Before); err != nil {
			return err
		}
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("OrgscanSimServe",
			func(ctx context.Context, _ middleware.FinalizeInput, _ middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, err := p.serve(ctx, middleware.GetStackValue(ctx, paramsKey{}))
				return middleware.FinalizeOutput{Result: out}, middleware.Metadata{}, err
			}), middleware.After)
	}}
}

func (p *Pair) serve(ctx context.Context, params any) (any, error) {
	switch in := params.(type) {
	case *ec2.DescribeInstancesInput:
		return p.DescribeInstances(ctx, in)
	case *ec2.DescribeVolumesInput:
		return p.DescribeVolumes(ctx, in)
	case *ec2.DescribeAddressesInput:
		return p.DescribeAddresses(ctx, in)
	case *ec2.DescribeNatGatewaysInput:
		return p.DescribeNatGateways(ctx, in)
	case *ec2.DescribeRouteTablesInput:
		return p.DescribeRouteTables(ctx, in)
	case *lambda.ListFunctionsInput:
		return p.ListFunctions(ctx, in)
	case *rds.DescribeDBInstancesInput:
		return p.DescribeDBInstances(ctx, in)
	case *cloudwatch.GetMetricDataInput:
		return p.GetMetricData(ctx, in)
	case *ec2.DescribeSnapshotsInput:
		return p.DescribeSnapshots(ctx, in)
	case *ec2.DescribeImagesInput:
		return p.DescribeImages(ctx, in)
	case *ec2.DescribeSecurityGroupsInput:
		return p.DescribeSecurityGroups(ctx, in)
	case *ec2.DescribeNetworkInterfacesInput:
		return p.DescribeNetworkInterfaces(ctx, in)
	case *ec2.DescribeVpcEndpointsInput:
		return p.DescribeVpcEndpoints(ctx, in)
	case *elb.DescribeLoadBalancersInput:
		return p.DescribeLoadBalancers(ctx, in)
	case *elb.DescribeTargetGroupsInput:
		return p.DescribeTargetGroups(ctx, in)
	case *elb.DescribeTargetHealthInput:
		return p.DescribeTargetHealth(ctx, in)
	case *elasticache.DescribeCacheClustersInput:
		return p.DescribeCacheClusters(ctx, in)
	case *dynamodb.ListTablesInput:
		return p.ListTables(ctx, in)
	case *dynamodb.DescribeTableInput:
		return p.DescribeTable(ctx, in)
	case *cloudwatchlogs.DescribeLogGroupsInput:
		return p.DescribeLogGroups(ctx, in)
	}
	return nil, fmt.Errorf("sim: operation with input %T is not simulated", params)
}
