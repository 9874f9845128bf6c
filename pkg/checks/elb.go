package checks

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// CloudFormation type names of what the ELB checks report.
const (
	loadBalancerType = "AWS::ElasticLoadBalancingV2::LoadBalancer"
	targetGroupType  = "AWS::ElasticLoadBalancingV2::TargetGroup"
)

// judgedLoadBalancer reports whether the load balancer checks judge lb: an
// active Application or Network Load Balancer. Gateway Load Balancers are
// out of the catalogue's scope (their targets are appliances and their
// metrics live in AWS/GatewayELB). A load balancer provisioning, failed or
// active_impaired is not judged while it is in that state.
func judgedLoadBalancer(lb elbtypes.LoadBalancer) bool {
	if lb.State == nil || lb.State.Code != elbtypes.LoadBalancerStateEnumActive {
		return false
	}
	return lb.Type == elbtypes.LoadBalancerTypeEnumApplication || lb.Type == elbtypes.LoadBalancerTypeEnumNetwork
}

// elbResourceID is the resource part of an ELB ARN, without the
// "loadbalancer/" prefix: "app/my-alb/50dc6c495c0c9188",
// "net/my-nlb/…", "targetgroup/my-tg/73e2d6bc24d8a067". For a load balancer
// it is the LoadBalancer dimension of its CloudWatch metrics. Unlike a name,
// it is unique in a pair (an ALB and an NLB, or a target group, may share a
// name). An ARN of an unexpected shape is returned whole.
func elbResourceID(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[5] == "" {
		return arn
	}
	return strings.TrimPrefix(parts[5], "loadbalancer/")
}

// loadBalancerResource identifies lb. DescribeLoadBalancers carries no tags
// and the checks do not call DescribeTags, so Tags is nil.
func loadBalancerResource(lb elbtypes.LoadBalancer) Resource {
	arn := aws.ToString(lb.LoadBalancerArn)
	state := ""
	if lb.State != nil {
		state = string(lb.State.Code)
	}
	return Resource{Type: loadBalancerType, ID: elbResourceID(arn), ARN: arn, Name: aws.ToString(lb.LoadBalancerName),
		State: state, Created: aws.ToTime(lb.CreatedTime)}
}

// loadBalancerKind names a load balancer type in reasons and in the note
// of an unknown price: "application load balancer".
func loadBalancerKind(t elbtypes.LoadBalancerTypeEnum) string { return string(t) + " load balancer" }
