package main

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgscan/orgscan/pkg/checks"
)

// MemberPolicyName is the member role's inline policy.
const MemberPolicyName = "OrgScanReadOnly"

// NewMemberStack builds the member-account stack: the read-only role the
// collector assumes. Its template is the StackSet template, so it has no
// bootstrap version rule, no assets and no CDK metadata, and what differs
// per organization is a parameter: PipelineAccountId (default: the
// pipelineAccountId context value) and ExternalId (default: the externalId
// context value). The role trusts only the collector role of the pipeline
// account and only with the ExternalId; its inline policy is
// checks.Policy(checks.All()), the same document as docs/iam-policy.json.
func NewMemberStack(scope constructs.Construct, id string, cfg Config, props *awscdk.StackProps) (awscdk.Stack, error) {
	var policy map[string]any
	if err := json.Unmarshal(checks.Policy(checks.All()), &policy); err != nil {
		return nil, fmt.Errorf("member role policy: %w", err)
	}

	stack := awscdk.NewStack(scope, &id, props)
	account := &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Description:           jsii.String("the account the orgscan pipeline stack runs in (its collector role assumes this role)"),
		AllowedPattern:        jsii.String(`\d{12}`),
		ConstraintDescription: jsii.String("a 12-digit AWS account ID"),
	}
	if cfg.PipelineAccountID != "" {
		account.Default = jsii.String(cfg.PipelineAccountID)
	}
	// A parameter's logical ID is its construct ID: the Fn::Sub below
	// refers to it by that name.
	awscdk.NewCfnParameter(stack, jsii.String("PipelineAccountId"), account)
	externalID := externalIDParameter(stack, cfg)

	collector := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${PipelineAccountId}:role/"+cfg.CollectorRoleName), nil)
	role := awsiam.NewRole(stack, jsii.String("MemberRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(cfg.MemberRoleName),
		Description: jsii.String("orgscan: read-only scan of this account's idle resources, by the collector of the pipeline account"),
		AssumedBy: awsiam.NewArnPrincipal(collector).WithConditions(&map[string]interface{}{
			"StringEquals": map[string]interface{}{"sts:ExternalId": externalID.ValueAsString()},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			MemberPolicyName: awsiam.PolicyDocument_FromJson(policy),
		},
	})
	nag(role, "AwsSolutions-IAM5", "The checks read every resource of their kind in the account and region: Describe*/List* calls (most without resource-level permissions) and cloudwatch:GetMetricData, which supports none. The role is read-only and lists exactly the actions of the check registry (checks.Actions).",
		"Resource::*")
	awscdk.NewCfnOutput(stack, jsii.String("MemberRoleArn"), &awscdk.CfnOutputProps{Value: role.RoleArn()})
	return stack, nil
}
