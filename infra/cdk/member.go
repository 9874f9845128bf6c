package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/deployconfig"
)

// MemberPolicyName is the member role's read-only inline policy: exactly
// checks.Policy(checks.All()), docs/iam-policy.json.
const MemberPolicyName = deployconfig.MemberPolicyName

// MaxTemplateBodyBytes is the largest template CloudFormation takes inline
// (TemplateBody, which a StackSet resource's template is): 51,200 bytes
// ("CloudFormation quotas", Template body size in a CreateStack request).
const MaxTemplateBodyBytes = 51_200

// StackSetName is the service-managed StackSet of the member role.
const StackSetName = deployconfig.StackSetName

// memberRole adds the read-only role the collector assumes to stack.
//
// Its trust policy names the pipeline account's root with conditions on
// the calling principal's ARN (aws:PrincipalArn, the collector role) and
// sts:ExternalId, rather than the collector role's ARN as principal (the
// doctor role of the pipeline stack is the other principal allowed): IAM
// stores a role principal as the role's unique ID, so re-creating the
// pipeline stack would silently break the trust in every account, and a
// StackSet update with an unchanged template would not repair it. With the
// root and a condition, the trust holds for any role of that name the
// pipeline account creates.
func memberRole(stack awscdk.Stack, cfg Config, pipelineAccount, externalID *string) awsiam.Role {
	var policy map[string]any
	if err := json.Unmarshal(checks.Policy(checks.All()), &policy); err != nil {
		panic(fmt.Sprintf("member role policy: %v", err)) // checks.Policy marshals a map of strings
	}
	roleARN := func(name string) *string {
		return awscdk.Fn_Join(jsii.String(""), jsii.Strings("arn:", *awscdk.Aws_PARTITION(), ":iam::", *pipelineAccount, ":role/", name))
	}
	// The collector, and the role orgscan doctor checks the deployment
	// through (the pipeline stack's; it may do nothing else).
	principals := []*string{roleARN(cfg.Advanced.CollectorRoleName), roleARN(cfg.Advanced.DoctorRoleName)}
	root := awscdk.Fn_Join(jsii.String(""), jsii.Strings("arn:", *awscdk.Aws_PARTITION(), ":iam::", *pipelineAccount, ":root"))
	role := awsiam.NewRole(stack, jsii.String("MemberRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(cfg.MemberRole.Name),
		Description: jsii.String("orgscan: read-only scan of this account's idle resources, by the collector of the pipeline account"),
		AssumedBy: awsiam.NewArnPrincipal(root).WithConditions(&map[string]interface{}{
			"ArnEquals":    map[string]interface{}{"aws:PrincipalArn": principals},
			"StringEquals": map[string]interface{}{"sts:ExternalId": externalID},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			MemberPolicyName: awsiam.PolicyDocument_FromJson(policy),
			// What `orgscan doctor` reads with the role: the account's
			// regions, and this role's own read-only policy (to tell a
			// missing or out-of-date role from a working one).
			deployconfig.PreflightPolicyName: awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("ec2:DescribeRegions"), Resources: jsii.Strings("*")}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings("iam:GetRolePolicy"), Resources: &[]*string{
					awscdk.Fn_Join(jsii.String(""), jsii.Strings("arn:", *awscdk.Aws_PARTITION(), ":iam::", *awscdk.Aws_ACCOUNT_ID(), ":role/", cfg.MemberRole.Name))}}),
			}}),
		},
	})
	nag(role, "AwsSolutions-IAM5", "The checks read every resource of their kind in the account and region: Describe*/List* calls (most without resource-level permissions) and cloudwatch:GetMetricData, which supports none; ec2:DescribeRegions (the doctor's region check) supports none either. The role is read-only and lists exactly the actions of the check registry (checks.Actions).",
		"Resource::*")
	awscdk.NewCfnOutput(stack, jsii.String("MemberRoleArn"), &awscdk.CfnOutputProps{Value: role.RoleArn()})
	return role
}

// memberStackProps are the props of a stack holding only the member role:
// deployed with the caller's credentials, so the account needs no CDK
// bootstrap (no bootstrap version parameter or rule, no assets), and no
// CDK metadata.
func memberStackProps(desc string) *awscdk.StackProps {
	return &awscdk.StackProps{
		Description:        jsii.String(desc),
		Synthesizer:        awscdk.NewCliCredentialsStackSynthesizer(nil),
		AnalyticsReporting: jsii.Bool(false),
	}
}

// memberParameters declares the two parameters of a member role template
// deployed outside the pipeline account: the pipeline account and the
// external ID.
func memberParameters(stack awscdk.Stack) (account, externalID awscdk.CfnParameter) {
	account = awscdk.NewCfnParameter(stack, jsii.String("PipelineAccountId"), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Description:           jsii.String("the account the orgscan pipeline stack runs in (its collector role assumes this role)"),
		AllowedPattern:        jsii.String(`\d{12}`),
		ConstraintDescription: jsii.String("a 12-digit AWS account ID"),
	})
	externalID = awscdk.NewCfnParameter(stack, jsii.String("ExternalId"), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Description:           jsii.String("sts:ExternalId the collector presents (the value of the pipeline account's SSM parameter)"),
		MinLength:             jsii.Number(2),
		MaxLength:             jsii.Number(1224),
		AllowedPattern:        jsii.String(`[\w+=,.@:/-]*`),
		ConstraintDescription: jsii.String("2-1224 characters: letters, digits and +=,.@:/-_"),
	})
	return account, externalID
}

// MemberTemplate synthesizes the StackSet's template: the member role with
// its two parameters, in an app of its own with ctx (the feature flags), as
// JSON.
func MemberTemplate(cfg Config, ctx map[string]any) (string, error) {
	dir, err := os.MkdirTemp("", "orgscan-member-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir), Context: &ctx})
	stack := awscdk.NewStack(app, jsii.String("OrgScanMember"), memberStackProps("orgscan: the read-only role the pipeline account's collector assumes (every account of the targets, from the StackSet "+StackSetName+")"))
	account, externalID := memberParameters(stack)
	// No cdk-nag here: the same role (memberRole) is checked in
	// OrgScanManagementRole, and a finding would panic outside run's recover.
	memberRole(stack, cfg, account.ValueAsString(), externalID.ValueAsString())
	asm := app.Synth(nil)
	b, err := json.Marshal(asm.GetStackByName(stack.StackName()).Template())
	if err != nil {
		return "", err
	}
	if len(b) > MaxTemplateBodyBytes {
		return "", fmt.Errorf("the member role template is %d bytes, over the %d CloudFormation takes inline (TemplateBody)", len(b), MaxTemplateBodyBytes)
	}
	return string(b), nil
}

// NewStackSetStack declares the service-managed StackSet that puts the
// member role into every account of the targets, in the deployment region
// (IAM is global): automatic deployment (accounts that join a target later
// get the role; leaving ones lose it), called as the delegated
// administrator in delegated-admin mode. Its parameters are the pipeline
// account (this stack's) and the external ID, read from the SSM parameter
// at every deployment.
func NewStackSetStack(scope constructs.Construct, id string, cfg Config, props *awscdk.StackProps) (awscdk.Stack, error) {
	ctx, _ := scope.Node().GetAllContext(nil).(map[string]any)
	body, err := MemberTemplate(cfg, ctx)
	if err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, &id, props)
	externalID := externalIDParameter(stack, cfg)
	callAs := "SELF"
	if cfg.Organization.Mode == deployconfig.ModeDelegatedAdmin {
		callAs = "DELEGATED_ADMIN"
	}
	set := awscloudformation.NewCfnStackSet(stack, jsii.String("MemberRoleStackSet"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(StackSetName),
		Description:     jsii.String("orgscan: the read-only member role in every account of the targets"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String(callAs),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		Capabilities:     jsii.Strings("CAPABILITY_NAMED_IAM"),
		ManagedExecution: map[string]any{"Active": true},
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			FailureTolerancePercentage: jsii.Number(float64(cfg.MemberRole.StackSetFailureTolerancePercentage)),
			MaxConcurrentPercentage:    jsii.Number(float64(cfg.MemberRole.StackSetMaxConcurrentPercentage)),
			RegionConcurrencyType:      jsii.String("PARALLEL"),
		},
		Parameters: &[]interface{}{
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String("PipelineAccountId"), ParameterValue: awscdk.Aws_ACCOUNT_ID()},
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String("ExternalId"), ParameterValue: externalID.ValueAsString()},
		},
		StackInstancesGroup: &[]interface{}{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(cfg.Organization.Targets...),
			},
			Regions: &[]*string{awscdk.Aws_REGION()},
		}},
		TemplateBody: jsii.String(body),
	})
	awscdk.NewCfnOutput(stack, jsii.String("StackSetName"), &awscdk.CfnOutputProps{Value: set.StackSetName(), Key: jsii.String("StackSetName")})
	return stack, nil
}

// NewManagementRoleStack is the management account's member role, which
// service-managed StackSets never deploy. In management mode the pipeline
// runs there: the stack takes the external ID from the SSM parameter and
// the pipeline account is its own. In delegated-admin mode it is deployed
// into the management account with that account's credentials (make
// deploy-management-role), which cannot read the pipeline account's
// parameter: both values are parameters the make target passes.
func NewManagementRoleStack(scope constructs.Construct, id string, cfg Config) awscdk.Stack {
	props := memberStackProps("orgscan: the read-only role the pipeline account's collector assumes, in the management account (which StackSets never reach)")
	if cfg.Organization.Mode == deployconfig.ModeDelegatedAdmin {
		// The CDK CLI refuses to deploy it with any other account's
		// credentials (such as the pipeline account's).
		props.Env = &awscdk.Environment{Account: jsii.String(cfg.Organization.ManagementAccountID)}
	}
	stack := awscdk.NewStack(scope, &id, props)
	if cfg.Organization.Mode == deployconfig.ModeManagement {
		memberRole(stack, cfg, awscdk.Aws_ACCOUNT_ID(), externalIDParameter(stack, cfg).ValueAsString())
		return stack
	}
	account, externalID := memberParameters(stack)
	memberRole(stack, cfg, account.ValueAsString(), externalID.ValueAsString())
	return stack
}
