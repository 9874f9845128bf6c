package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgscan/orgscan/pkg/deployconfig"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
)

// Pipeline is the pipeline stack and the resources other code (tests, the
// outputs) refers to.
type Pipeline struct {
	Stack        awscdk.Stack
	Bucket       awss3.Bucket
	Table        awsdynamodb.CfnTable
	Functions    map[string]awslambda.Function
	StateMachine awsstepfunctions.StateMachine
}

// ASLPath is the state machine definition, relative to the repository root.
const ASLPath = "statemachine/orgscan.asl.json"

// aslPlaceholderRe matches a DefinitionSubstitutions placeholder in the ASL.
// Step Functions' own intrinsics (States.Format's "{}") never take a "$".
var aslPlaceholderRe = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// NewPipelineStack builds the pipeline stack: the bucket, the state table,
// the three functions, the state machine and its schedule, the Glue and
// Athena history, and the alarms. It fails (rather than synthesizing a
// broken stack) when a function's bootstrap or the ASL file is missing or
// the ASL names a placeholder this stack does not provide.
func NewPipelineStack(scope constructs.Construct, id string, cfg Config, props *awscdk.StackProps) (*Pipeline, error) {
	for _, fn := range Functions {
		if _, err := os.Stat(filepath.Join(cfg.DistDir, fn, "bootstrap")); err != nil {
			return nil, fmt.Errorf("%s/%s/bootstrap is missing: run make build (or make functions) first: %w", cfg.DistDir, fn, err)
		}
	}
	asl, err := os.ReadFile(filepath.Join(cfg.RepoRoot, ASLPath))
	if err != nil {
		return nil, fmt.Errorf("read the state machine definition: %w", err)
	}

	stack := awscdk.NewStack(scope, &id, props)
	p := &Pipeline{Stack: stack, Functions: map[string]awslambda.Function{}}
	externalID := externalIDParameter(stack, cfg)

	p.Bucket = newBucket(stack, cfg)
	p.Table = newStateTable(stack)

	// --- Lambda functions -------------------------------------------------
	env := map[string]map[string]*string{
		"dispatcher": {
			"ORGSCAN_BUCKET":    p.Bucket.BucketName(),
			"ORGSCAN_ROLE_NAME": jsii.String(cfg.MemberRole.Name),
			"ORGSCAN_DISCOVERY": jsii.String("organizations"),
		},
		"collector": {
			"ORGSCAN_BUCKET":           p.Bucket.BucketName(),
			"ORGSCAN_EXTERNAL_ID":      externalID.ValueAsString(),
			"ORGSCAN_PAIR_CONCURRENCY": jsii.String(strconv.Itoa(cfg.Concurrency.PairConcurrency)),
		},
		"aggregator": {
			"ORGSCAN_BUCKET":         p.Bucket.BucketName(),
			"ORGSCAN_TABLE":          p.Table.Ref(),
			"ORGSCAN_NOTIFY_MIN_USD": jsii.String(strconv.FormatFloat(cfg.Notifications.MinMonthlyUSD, 'f', -1, 64)),
		},
	}
	if cfg.Concurrency.CollectorReserved > 0 {
		// Each Map child invokes the collector once: the dispatcher caps the
		// Map's MaxConcurrency at the collector's reserved concurrency, so
		// children are not throttled into the Scan task's two quick retries.
		// Without a reservation it caps it at the account's unreserved
		// concurrency when the run starts (lambda:GetAccountSettings).
		env["dispatcher"]["ORGSCAN_COLLECTOR_CONCURRENCY"] = jsii.String(strconv.Itoa(cfg.Concurrency.CollectorReserved))
	}
	sizing := map[string]struct {
		memory  float64
		timeout awscdk.Duration
	}{
		// Discovery pages through the organization and writes one manifest.
		"dispatcher": {pipeline.DispatcherMemoryMB, awscdk.Duration_Minutes(jsii.Number(5))},
		// A child of the EXPRESS Distributed Map ends at 5 minutes. The
		// collector returns by its child's start + pipeline.ChildScanBudget
		// (240 s); its timeout is a backstop for a function that ignores its
		// context, and the Scan task's TimeoutSeconds (250) bounds an attempt
		// (docs/limits.md, "The EXPRESS child's time budget").
		"collector": {pipeline.CollectorMemoryMB, awscdk.Duration_Seconds(jsii.Number(pipeline.CollectorTimeout.Seconds()))},
		// One account's findings at a time in memory; Lambda's maximum run.
		"aggregator": {pipeline.AggregatorMemoryMB, awscdk.Duration_Minutes(jsii.Number(15))},
	}
	roles := map[string]awsiam.Role{}
	for _, fn := range Functions {
		logs := awslogs.NewLogGroup(stack, jsii.String(title(fn)+"Logs"), &awslogs.LogGroupProps{
			Retention:     logRetentions[cfg.Advanced.LogRetentionDays],
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		roleProps := &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("orgscan " + fn + " function"),
		}
		if fn == "collector" {
			// Fixed so the member role's trust policy can name it.
			roleProps.RoleName = jsii.String(cfg.Advanced.CollectorRoleName)
		}
		role := awsiam.NewRole(stack, jsii.String(title(fn)+"Role"), roleProps)
		// Instead of AWSLambdaBasicExecutionRole (logs:CreateLogGroup on
		// every group): write to the function's own group only.
		logs.GrantWrite(role)
		roles[fn] = role
		fp := &awslambda.FunctionProps{
			Description:  jsii.String("orgscan " + fn),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.DistDir, fn)), nil),
			MemorySize:   jsii.Number(sizing[fn].memory),
			Timeout:      sizing[fn].timeout,
			Environment:  ptr(env[fn]),
			Role:         role,
			LogGroup:     logs,
		}
		if cfg.Advanced.Tracing {
			fp.Tracing = awslambda.Tracing_ACTIVE
		}
		if fn == "collector" && cfg.Concurrency.CollectorReserved > 0 {
			fp.ReservedConcurrentExecutions = jsii.Number(float64(cfg.Concurrency.CollectorReserved))
		}
		p.Functions[fn] = awslambda.NewFunction(stack, jsii.String(title(fn)), fp)
	}
	grantFunctions(stack, cfg, p, roles)

	// --- State machine ----------------------------------------------------
	p.StateMachine, err = newStateMachine(stack, cfg, p, string(asl))
	if err != nil {
		return nil, err
	}
	doctor := newDoctorRole(stack, cfg)
	schedule, err := newSchedule(stack, cfg, p)
	if err != nil {
		return nil, err
	}
	newHistory(stack, cfg, p.Bucket)
	newAlarms(stack, cfg, p)
	p.notifications(stack, cfg)

	for _, o := range []struct{ id, value, desc string }{
		{deployconfig.OutputBucketName, *p.Bucket.BucketName(), "S3 bucket: runs/, findings/, pairs/, inventory/, athena-results/"},
		{deployconfig.OutputTableName, *p.Table.Ref(), "DynamoDB latest-state table"},
		{deployconfig.OutputStateMachineArn, *p.StateMachine.StateMachineArn(), "Step Functions state machine (orgscan start --state-machine)"},
		{deployconfig.OutputCollectorRoleArn, *roles["collector"].RoleArn(), "the principal the member roles trust (aws:PrincipalArn)"},
		{deployconfig.OutputDoctorRoleArn, *doctor.RoleArn(), "the role orgscan doctor assumes the member roles through"},
		{deployconfig.OutputCollectorFunction, *p.Functions["collector"].FunctionName(), "the collector function"},
		{deployconfig.OutputScheduleName, *schedule.ScheduleName(), "the EventBridge Scheduler schedule of scheduled runs"},
		{deployconfig.OutputExternalIDParameter, cfg.MemberRole.ExternalIDParameter, "the SSM parameter holding the sts:ExternalId (bin/orgscan external-id)"},
		{"GlueDatabase", cfg.Advanced.GlueDatabase, "Glue database of the history tables"},
		{"AthenaWorkGroup", cfg.Advanced.AthenaWorkGroup, "Athena workgroup with the named queries"},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(o.id+"Output"), &awscdk.CfnOutputProps{Value: jsii.String(o.value), Description: jsii.String(o.desc), Key: jsii.String(o.id)})
	}
	return p, nil
}

// externalIDParameter declares the ExternalId parameter: the sts:ExternalId
// the member roles require and the collector presents. Its type makes
// CloudFormation read it from the SSM parameter of the configuration
// (memberRole.externalIdParameter) at every create and update, and the CDK
// CLI never skips deploying a stack with such a parameter: after `orgscan
// external-id --rotate`, one `make deploy` gives the collector and the
// StackSet (both read this parameter) the new value together.
func externalIDParameter(stack awscdk.Stack, cfg Config) awscdk.CfnParameter {
	return awscdk.NewCfnParameter(stack, jsii.String("ExternalId"), &awscdk.CfnParameterProps{
		Type:        jsii.String("AWS::SSM::Parameter::Value<String>"),
		Default:     jsii.String(cfg.MemberRole.ExternalIDParameter),
		Description: jsii.String("the SSM parameter holding the sts:ExternalId the member roles require and the collector presents (bin/orgscan external-id creates it)"),
	})
}

// newBucket creates the data bucket (private, TLS-only, encrypted,
// versioned, access-logged) and the bucket its access logs go to.
func newBucket(stack awscdk.Stack, cfg Config) awss3.Bucket {
	logs := awss3.NewBucket(stack, jsii.String("AccessLogs"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		// Server access log delivery supports SSE-S3 only.
		Encryption:      awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership: awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:   awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(365)),
		}},
	})
	// cdk-nag's S1 accepts a bucket that is itself a server access log
	// destination, so this bucket needs no suppression.

	scratch := awscdk.Duration_Days(jsii.Number(float64(cfg.Advanced.RunsRetentionDays)))
	return awss3.NewBucket(stack, jsii.String("Data"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("data/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				// Manifests, chunks, Map results and summaries: the run's
				// scratch; the durable history is the Parquet tables.
				Id:                          jsii.String("expire-runs-scratch"),
				Prefix:                      jsii.String("runs/"),
				Expiration:                  scratch,
				NoncurrentVersionExpiration: scratch,
			},
			{
				Id:                          jsii.String("expire-athena-results"),
				Prefix:                      jsii.String("athena-results/"),
				Expiration:                  scratch,
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				// An aggregator re-run rewrites a run's Parquet files; keep
				// the replaced versions for a while, not forever.
				Id:                                  jsii.String("expire-noncurrent-versions"),
				NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(90)),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			},
		},
	})
}

// newStateTable creates the latest-state table from store.DynamoStateTable,
// the definition the store's tests create in moto: the same keys, attribute
// types, indexes and projections, with PITR and TTL on.
func newStateTable(stack awscdk.Stack) awsdynamodb.CfnTable {
	def := store.DynamoStateTable("unused")
	ttl := store.DynamoStateTTL("unused")
	keys := func(ks []ddbtypes.KeySchemaElement) *[]interface{} {
		out := []interface{}{}
		for _, k := range ks {
			out = append(out, &awsdynamodb.CfnTable_KeySchemaProperty{AttributeName: k.AttributeName, KeyType: jsii.String(string(k.KeyType))})
		}
		return &out
	}
	var attrs []interface{}
	for _, a := range def.AttributeDefinitions {
		attrs = append(attrs, &awsdynamodb.CfnTable_AttributeDefinitionProperty{AttributeName: a.AttributeName, AttributeType: jsii.String(string(a.AttributeType))})
	}
	var gsis []interface{}
	for _, g := range def.GlobalSecondaryIndexes {
		gsis = append(gsis, &awsdynamodb.CfnTable_GlobalSecondaryIndexProperty{
			IndexName:  g.IndexName,
			KeySchema:  keys(g.KeySchema),
			Projection: &awsdynamodb.CfnTable_ProjectionProperty{ProjectionType: jsii.String(string(g.Projection.ProjectionType))},
		})
	}
	t := awsdynamodb.NewCfnTable(stack, jsii.String("State"), &awsdynamodb.CfnTableProps{
		BillingMode:            jsii.String(string(def.BillingMode)),
		AttributeDefinitions:   &attrs,
		KeySchema:              keys(def.KeySchema),
		GlobalSecondaryIndexes: &gsis,
		PointInTimeRecoverySpecification: &awsdynamodb.CfnTable_PointInTimeRecoverySpecificationProperty{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveSpecification: &awsdynamodb.CfnTable_TimeToLiveSpecificationProperty{
			AttributeName: ttl.TimeToLiveSpecification.AttributeName,
			Enabled:       ttl.TimeToLiveSpecification.Enabled,
		},
		SseSpecification: &awsdynamodb.CfnTable_SSESpecificationProperty{SseEnabled: jsii.Bool(true)},
	})
	t.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	return t
}

// grantFunctions gives each function exactly what its code calls.
func grantFunctions(stack awscdk.Stack, cfg Config, p *Pipeline, roles map[string]awsiam.Role) {
	obj := func(pattern string) *string { return p.Bucket.ArnForObjects(jsii.String(pattern)) }
	allow := func(role awsiam.Role, actions []string, resources ...*string) {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(actions...),
			Resources: &resources,
		}))
	}

	// Dispatcher: discovery, the manifest and the run options.
	d := roles["dispatcher"]
	allow(d, []string{"organizations:ListAccounts", "organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"}, jsii.String("*"))
	allow(d, []string{"ec2:DescribeRegions", "lambda:GetAccountSettings"}, jsii.String("*"))
	allow(d, []string{"s3:PutObject"}, obj(pipeline.ManifestKey("*")), obj(pipeline.OptionsKey("*")))
	nag(d, "AwsSolutions-IAM5", "s3:PutObject on runs/*/manifest.jsonl and runs/*/options.json: the dispatcher writes each run's manifest and options, and run IDs are generated at run time.",
		`regex:/^Resource::<Data[A-F0-9]+\.Arn>\/runs\/\*\/(manifest\.jsonl|options\.json)$/`)

	// Collector: the member role by name in any account, the run options,
	// its chunks and the results too large to return.
	c := roles["collector"]
	c.AddToPrincipalPolicy(assumeMemberRole(stack, cfg))
	allow(c, []string{"s3:GetObject"}, obj(pipeline.OptionsKey("*")))
	allow(c, []string{"s3:PutObject"}, obj(pipeline.ChunkKey("*", "*", "*")), obj(pipeline.InventoryKey("*", "*", "*")), obj(pipeline.ResultsKey("*", "*")))
	nag(c, "AwsSolutions-IAM5", "sts:AssumeRole on role/"+cfg.MemberRole.Name+" in any account of the organization (aws:ResourceOrgID): the collector scans every account of the organization, and accounts join and leave after deployment; only that role name, which itself trusts only this role and only with the ExternalId.",
		`regex:/^Resource::arn:<AWS::Partition>:iam::\*:role\/`+regexp.QuoteMeta(cfg.MemberRole.Name)+`$/`)
	nag(c, "AwsSolutions-IAM5", "s3:PutObject on runs/*/chunks/*/*.jsonl.gz and runs/*/inventory/*/*.jsonl.gz: one object per run, account and region, all known only at run time.",
		`regex:/^Resource::<Data[A-F0-9]+\.Arn>\/runs\/\*\/(chunks|inventory)\/\*\/\*\.jsonl\.gz$/`)
	nag(c, "AwsSolutions-IAM5", "s3:GetObject on runs/*/options.json and s3:PutObject on runs/*/results/*.json: the run's options (read) and an account's results too large to return to the state machine (written), per run and account, known only at run time.",
		`regex:/^Resource::<Data[A-F0-9]+\.Arn>\/runs\/\*\/(options\.json|results\/\*\.json)$/`)

	// Aggregator: reads a run's scratch, writes its files and the history,
	// and the state table through exactly the calls store.DynamoAPI has.
	a := roles["aggregator"]
	allow(a, []string{"s3:GetObject"}, obj("runs/*"))
	allow(a, []string{"s3:PutObject"}, obj("runs/*"), obj(pipeline.FindingsTable+"/*"), obj(pipeline.PairsTable+"/*"), obj(pipeline.InventoryTable+"/*"), obj("reports/*"))
	// When the Map failed, the aggregator lists what its ResultWriter wrote
	// under runs/<run>/map/ (pipeline.MapPrefix); nothing else.
	a.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{p.Bucket.BucketArn()},
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": []string{pipeline.MapPrefix("*") + "/*"}}},
	}))
	// The run's event goes to the account's default bus (pkg/notify).
	allow(a, []string{"events:PutEvents"}, jsii.String(fmt.Sprintf("arn:%s:events:%s:%s:event-bus/default", *awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID())))
	tableArn := p.Table.AttrArn()
	resources := []*string{tableArn}
	for _, g := range store.DynamoStateTable("unused").GlobalSecondaryIndexes {
		resources = append(resources, jsii.String(*tableArn+"/index/"+*g.IndexName))
	}
	allow(a, DynamoActions(), resources...)
	nag(a, "AwsSolutions-IAM5", "s3:GetObject/PutObject on runs/* and s3:PutObject on findings/*, pairs/*, inventory/*: the aggregator reads a run's Map results and chunks and writes its summary files and history partitions (<table>/dt=<date>/<run>.parquet); run IDs and dates are known only at run time.",
		`regex:/^Resource::<Data[A-F0-9]+\.Arn>\/(runs|findings|pairs|inventory|reports)\/\*$/`)

	// Resource "*" of each function role, with every reason that applies.
	for _, fn := range Functions {
		var why []string
		if fn == "dispatcher" {
			why = append(why, "ec2:DescribeRegions, lambda:GetAccountSettings and organizations:ListAccounts, ListAccountsForParent and ListOrganizationalUnitsForParent do not support resource-level permissions (the OUs to walk come from each run request)")
		}
		if cfg.Advanced.Tracing {
			why = append(why, "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) do not support resource-level permissions")
		}
		if len(why) > 0 {
			nag(roles[fn], "AwsSolutions-IAM5", strings.Join(why, "; ")+".", "Resource::*")
		}
	}
}

// assumeMemberRole allows sts:AssumeRole on roles of the member role's
// name only, and only in the organization (aws:ResourceOrgID: the
// configured one, or the pipeline account's own).
func assumeMemberRole(stack awscdk.Stack, cfg Config) awsiam.PolicyStatement {
	orgID := "${aws:PrincipalOrgID}"
	if cfg.Organization.OrganizationID != "" {
		orgID = cfg.Organization.OrganizationID
	}
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("sts:AssumeRole"),
		Resources: &[]*string{stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("iam"), Region: jsii.String(""), Account: jsii.String("*"),
			Resource: jsii.String("role"), ResourceName: jsii.String(cfg.MemberRole.Name),
		})},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": orgID}},
	})
}

// newDoctorRole is the role orgscan doctor assumes the member roles
// through: the member roles trust only it and the collector. Any principal
// of the pipeline account its IAM policies let assume it may (the account's
// root as principal); it may do nothing but assume the member roles, which
// are read-only.
func newDoctorRole(stack awscdk.Stack, cfg Config) awsiam.Role {
	role := awsiam.NewRole(stack, jsii.String("DoctorRole"), &awsiam.RoleProps{
		RoleName:           jsii.String(cfg.Advanced.DoctorRoleName),
		Description:        jsii.String("orgscan doctor: assumes the member roles to check the deployment"),
		AssumedBy:          awsiam.NewAccountRootPrincipal(),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	role.AddToPrincipalPolicy(assumeMemberRole(stack, cfg))
	nag(role, "AwsSolutions-IAM5", "sts:AssumeRole on role/"+cfg.MemberRole.Name+" in any account of the organization (aws:ResourceOrgID): orgscan doctor checks that role in every account in scope, and accounts join and leave after deployment.",
		`regex:/^Resource::arn:<AWS::Partition>:iam::\*:role\/`+regexp.QuoteMeta(cfg.MemberRole.Name)+`$/`)
	return role
}

// DynamoActions are the IAM actions of the calls the DynamoDB state store
// makes: the methods of store.DynamoAPI, so a new call cannot be forgotten.
func DynamoActions() []string {
	t := reflect.TypeOf((*store.DynamoAPI)(nil)).Elem()
	var out []string
	for i := 0; i < t.NumMethod(); i++ {
		out = append(out, "dynamodb:"+t.Method(i).Name)
	}
	sort.Strings(out)
	return out
}

// newStateMachine creates the STANDARD state machine from the ASL file with
// its placeholders substituted, and a role that can run it: invoke the three
// functions, read the manifest, write the Map's results, and start and
// manage the Distributed Map's child executions.
func newStateMachine(stack awscdk.Stack, cfg Config, p *Pipeline, asl string) (awsstepfunctions.StateMachine, error) {
	subs := map[string]*string{
		"DispatcherFunctionArn": p.Functions["dispatcher"].FunctionArn(),
		"CollectorFunctionArn":  p.Functions["collector"].FunctionArn(),
		"AggregatorFunctionArn": p.Functions["aggregator"].FunctionArn(),
		"BucketName":            p.Bucket.BucketName(),
	}
	for _, m := range aslPlaceholderRe.FindAllStringSubmatch(asl, -1) {
		if subs[m[1]] == nil {
			return nil, fmt.Errorf("%s: placeholder ${%s} has no substitution in the pipeline stack", ASLPath, m[1])
		}
	}

	role := awsiam.NewRole(stack, jsii.String("StateMachineRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		Description: jsii.String("orgscan state machine"),
	})
	smArn := func(resource, name string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("states"), Resource: jsii.String(resource), ResourceName: jsii.String(name),
			ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
	}
	statements := []*awsiam.PolicyStatementProps{
		{Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &[]*string{
			p.Functions["dispatcher"].FunctionArn(), p.Functions["collector"].FunctionArn(), p.Functions["aggregator"].FunctionArn()}},
		// ItemReader (s3:getObject) reads the dispatcher's manifest.
		{Actions: jsii.Strings("s3:GetObject"), Resources: &[]*string{p.Bucket.ArnForObjects(jsii.String(pipeline.ManifestKey("*")))}},
		// ResultWriter writes runs/<run>/map/... (the ASL's Prefix), with
		// the actions the Step Functions guide lists for it.
		{Actions: jsii.Strings("s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"),
			Resources: &[]*string{p.Bucket.ArnForObjects(jsii.String("runs/*/map/*"))}},
		// Distributed Map: the parent starts child executions of this state
		// machine and describes and stops them ("IAM policies for using
		// Distributed Map states" in the Step Functions guide). Child
		// execution ARNs are execution:<machine>/<map run label>:<id>.
		{Actions: jsii.Strings("states:StartExecution"), Resources: &[]*string{smArn("stateMachine", cfg.Advanced.StateMachineName)}},
		{Actions: jsii.Strings("states:DescribeExecution", "states:StopExecution"), Resources: &[]*string{
			smArn("execution", cfg.Advanced.StateMachineName+":*"), smArn("execution", cfg.Advanced.StateMachineName+"/*")}},
		// Redriving a parent execution redrives its Map Run's children.
		{Actions: jsii.Strings("states:RedriveExecution"), Resources: &[]*string{smArn("execution", cfg.Advanced.StateMachineName+"/*")}},
	}
	policy := awsiam.NewPolicy(stack, jsii.String("StateMachinePolicy"), &awsiam.PolicyProps{Roles: &[]awsiam.IRole{role}})
	for _, s := range statements {
		policy.AddStatements(awsiam.NewPolicyStatement(s))
	}

	logs := awslogs.NewLogGroup(stack, jsii.String("StateMachineLogs"), &awslogs.LogGroupProps{
		// Under /aws/vendedlogs/, as the Step Functions guide advises, so
		// the account's CloudWatch Logs resource policy stays small. Deleted
		// with the stack: a retained group of this fixed name would block a
		// later redeployment (runs and history live in S3 and DynamoDB).
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + cfg.Advanced.StateMachineName + "-" + *stack.StackName()),
		Retention:     logRetentions[cfg.Advanced.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(stack, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(cfg.Advanced.StateMachineName),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(asl)),
		DefinitionSubstitutions: &subs,
		Role:                    role,
		TracingEnabled:          jsii.Bool(cfg.Advanced.Tracing),
		Logs: &awsstepfunctions.LogOptions{
			Destination: logs,
			Level:       awsstepfunctions.LogLevel_ALL,
			// Inputs and outputs stay out of the logs: they are in the
			// execution history, and the bucket holds the data.
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	sm.Node().AddDependency(policy)
	if !cfg.Advanced.Tracing {
		nag(sm, "AwsSolutions-SF2", "X-Ray tracing was turned off for this deployment (context tracing=false); every execution event is still logged (level ALL) and kept in the execution history.")
	}
	nag(policy, "AwsSolutions-IAM5", "Distributed Map (Step Functions guide, IAM policies for using Distributed Map states): states:DescribeExecution/StopExecution/RedriveExecution on this state machine's executions (execution:"+cfg.Advanced.StateMachineName+":*) and its Map Run child executions (execution:"+cfg.Advanced.StateMachineName+"/<map run>:*), whose IDs are generated at run time.",
		`regex:/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:`+regexp.QuoteMeta(cfg.Advanced.StateMachineName)+`[:\/]\*$/`)
	nag(policy, "AwsSolutions-IAM5", "ItemReader reads runs/<run>/manifest.jsonl and ResultWriter writes under runs/<run>/map/ (the ASL's Prefix); the run ID is generated by the dispatcher at run time.",
		`regex:/^Resource::<Data[A-F0-9]+\.Arn>\/runs\/\*\/(manifest\.jsonl|map\/\*)$/`)
	// CDK adds these to the role for the logging and tracing configuration.
	nag(role, "AwsSolutions-IAM5", "Step Functions log delivery (logs:CreateLogDelivery, logs:GetLogDelivery, logs:UpdateLogDelivery, logs:DeleteLogDelivery, logs:ListLogDeliveries, logs:PutResourcePolicy, logs:DescribeResourcePolicies, logs:DescribeLogGroups) and X-Ray (xray:PutTraceSegments, xray:PutTelemetryRecords, xray:GetSamplingRules, xray:GetSamplingTargets) do not support resource-level permissions; CDK adds exactly the statements the Step Functions guide lists for logging and tracing.",
		"Resource::*")
	return sm, nil
}

// newSchedule starts the state machine on the configured expression with
// the scheduled run request (regions in scope, target OUs, exclusions,
// options), enabled only when the configuration says so; an invocation
// that cannot start lands in a dead-letter queue.
func newSchedule(stack awscdk.Stack, cfg Config, p *Pipeline) (awsscheduler.Schedule, error) {
	input, err := cfg.ScheduleInput(*awscdk.Aws_REGION())
	if err != nil {
		return nil, err
	}
	dlq := awssqs.NewQueue(stack, jsii.String("ScheduleDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	nag(dlq, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the daily schedule.")
	target := awsschedulertargets.NewStepFunctionsStartExecution(p.StateMachine, &awsschedulertargets.ScheduleTargetBaseProps{
		Input:           awsscheduler.ScheduleTargetInput_FromText(jsii.String(input)),
		DeadLetterQueue: dlq,
		RetryAttempts:   jsii.Number(3),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
	})
	schedule := awsscheduler.NewSchedule(stack, jsii.String("Daily"), &awsscheduler.ScheduleProps{
		Description: jsii.String("orgscan: scan the organization"),
		Schedule:    awsscheduler.ScheduleExpression_Expression(jsii.String(cfg.Schedule.Expression), awscdk.TimeZone_ETC_UTC()),
		Target:      target,
		// Off until the deployer has run orgscan doctor (schedule.enabled).
		Enabled: jsii.Bool(cfg.Schedule.Enabled),
	})
	// Without this alarm a schedule that cannot start the state machine
	// (a deleted role, a throttled account) would fail silently.
	p.alarm(stack, cfg, "ScheduleDeadLetters",
		"The schedule could not start the state machine; the failed invocation is in the dead-letter queue.",
		dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}))
	return schedule, nil
}

// newAlarms creates the run's alarms: a failed execution, and failed pairs
// (a metric filter on the aggregator's "aggregated" log line, whose
// "failed" field is the run's failed pair count: a failed collector
// invocation is only one way for a pair to fail, and Lambda's Errors metric
// misses the others).
func newAlarms(stack awscdk.Stack, cfg Config, p *Pipeline) {
	p.alarm(stack, cfg, "ExecutionsFailed", "An orgscan execution failed (invalid request, aggregator failure, or no pair scanned).",
		p.StateMachine.MetricFailed(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}))

	logs := p.Functions["aggregator"].LogGroup()
	awslogs.NewMetricFilter(stack, jsii.String("PairsFailedFilter"), &awslogs.MetricFilterProps{
		LogGroup: logs,
		FilterPattern: awslogs.FilterPattern_All(
			awslogs.FilterPattern_StringValue(jsii.String("$.msg"), jsii.String("="), jsii.String("aggregated")),
			awslogs.FilterPattern_NumberValue(jsii.String("$.failed"), jsii.String(">"), jsii.Number(0)),
		),
		MetricNamespace: jsii.String(pipeline.MetricsNamespace),
		MetricName:      jsii.String("PairsFailed"),
		MetricValue:     jsii.String("$.failed"),
	})
	p.alarm(stack, cfg, "PairsFailed", "A run could not scan some account x region pairs (see the run's pairs.jsonl or failed_pairs_last_run).",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(pipeline.MetricsNamespace), MetricName: jsii.String("PairsFailed"),
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"),
		}))
	// The aggregator logs this metric in CloudWatch's embedded metric format
	// when EventBridge refuses a run's event (the run itself completes).
	p.alarm(stack, cfg, "NotificationFailures", "A run's EventBridge event was not delivered (see the warnings in the run's summary.json).",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(pipeline.MetricsNamespace), MetricName: jsii.String("NotificationFailures"),
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"),
		}))
}

// alarm alarms when metric reaches 1 in a 5-minute period; no data is not
// breaching (runs are daily).
// notifications routes every run's EventBridge event (source "orgscan")
// to an existing SNS topic, when the deployer names one. The stack cannot
// add a statement to the policy of a topic it does not own (CDK adds none
// to an imported topic, and AWS::SNS::TopicPolicy would replace the
// topic's whole policy): the configuration refuses the topic until the
// deployer acknowledges (notifications.topicPolicyAllowsEventBridge) that
// its policy lets events.amazonaws.com publish, naming the statement.
func (p *Pipeline) notifications(stack awscdk.Stack, cfg Config) {
	if cfg.Notifications.TopicARN == "" {
		return
	}
	topic := awssns.Topic_FromTopicArn(stack, jsii.String("NotificationTopic"), jsii.String(cfg.Notifications.TopicARN))
	rule := awsevents.NewRule(stack, jsii.String("RunEvents"), &awsevents.RuleProps{
		Description:  jsii.String("Every orgscan run's summary event, to the notification topic."),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("orgscan")},
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewSnsTopic(topic, nil)},
	})
	// The stack is environment-agnostic and the topic's ARN names its
	// account and region: CDK cannot compare them. The topic must be in the
	// pipeline's account and region (the configuration documents it, and
	// orgscan doctor reads the rule's target).
	awscdk.Annotations_Of(rule).AcknowledgeWarning(jsii.String("@aws-cdk/aws-events:ruleUnresolvedEnvironment"),
		jsii.String("the notification topic is in the pipeline's own account and region"))
}

func (p *Pipeline) alarm(stack awscdk.Stack, cfg Config, id, desc string, metric awscloudwatch.IMetric) awscloudwatch.Alarm {
	a := awscloudwatch.NewAlarm(stack, jsii.String(id+"Alarm"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(desc),
		Metric:             metric,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	if cfg.Notifications.AlarmTopicARN != "" {
		topic := stack.Node().TryFindChild(jsii.String("AlarmTopic"))
		if topic == nil {
			topic = awssns.Topic_FromTopicArn(stack, jsii.String("AlarmTopic"), jsii.String(cfg.Notifications.AlarmTopicARN))
		}
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic.(awssns.ITopic)))
	}
	return a
}

func ptr[T any](v T) *T { return &v }

func title(s string) string { return string(s[0]-'a'+'A') + s[1:] }
