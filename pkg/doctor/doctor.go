// Package doctor checks a deployed orgscan pipeline against its deployment
// configuration before the first run: the organization and the accounts in
// scope, the pipeline stack and the resources its outputs name, the
// external ID, the collector's Lambda concurrency, and in every account in
// scope the member role, its policy and the regions in scope.
//
// Every check is read-only and produces result rows; a problem is a row,
// never an error. The AWS calls go through one small interface per service
// (the SDK's own signatures), so the checks are tested with fakes.
package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgscan/orgscan/pkg/awsx/discovery"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/deployconfig"
)

// Status is a result row's verdict.
type Status string

// Statuses. A failure stops the deployment from working as configured; a
// warning is worth knowing but does not.
const (
	Fail Status = "fail"
	Warn Status = "warn"
	OK   Status = "ok"
)

// Check names: the check column of a result row.
const (
	CheckOrganization  = "organization"
	CheckTargets       = "targets"
	CheckStack         = "pipeline-stack"
	CheckBucket        = "bucket"
	CheckTable         = "table"
	CheckStateMachine  = "state-machine"
	CheckSchedule      = "schedule"
	CheckExternalID    = "external-id"
	CheckLambda        = "lambda-concurrency"
	CheckMemberRole    = "member-role"
	CheckMemberRegions = "regions"
)

// Result is one row of the report: what was checked (Check), on what
// (Subject: an account ID, a resource name, a region), the verdict, why,
// and for a failure or a warning what to do.
type Result struct {
	Check   string `json:"check"`
	Subject string `json:"subject"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// Name is the account's name when Subject is an account ID. It is
	// member-controlled text: escape it for a terminal.
	Name string `json:"name,omitempty"`
	// Accounts are the accounts a grouped row covers (a region that is not
	// enabled in several accounts).
	Accounts []string `json:"accounts,omitempty"`
}

// Report is the outcome of a doctor run.
type Report struct {
	OK       bool     `json:"ok"`
	Failures int      `json:"failures"`
	Warnings int      `json:"warnings"`
	Accounts int      `json:"accounts"`
	Regions  []string `json:"regions"`
	Targets  []string `json:"targets"`
	// BeforeDeploy: only what a deployment needs was checked.
	BeforeDeploy bool     `json:"beforeDeploy,omitempty"`
	Results      []Result `json:"results"`
}

// The interfaces below are what the doctor needs from each service, with
// the SDK's signatures. Implementations must be safe for concurrent use
// (the SDK's clients are); the doctor never retries a call itself.

// STSAPI tells the caller's identity and assumes the member roles.
type STSAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
	AssumeRole(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// OrganizationsAPI describes the organization and lists the accounts in
// scope (with pkg/awsx/discovery).
type OrganizationsAPI interface {
	discovery.OrganizationsAPI
	DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
	ListRoots(context.Context, *organizations.ListRootsInput, ...func(*organizations.Options)) (*organizations.ListRootsOutput, error)
}

// CloudFormationAPI reads the pipeline stack's outputs.
type CloudFormationAPI interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// S3API tells whether the bucket exists.
type S3API interface {
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// DynamoDBAPI describes the state table.
type DynamoDBAPI interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// SFNAPI describes the state machine.
type SFNAPI interface {
	DescribeStateMachine(context.Context, *sfn.DescribeStateMachineInput, ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
}

// SchedulerAPI reads the schedule.
type SchedulerAPI interface {
	GetSchedule(context.Context, *scheduler.GetScheduleInput, ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
}

// ParameterReader reads the external ID parameter.
type ParameterReader interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// LambdaAPI reads the account's and the collector's concurrency.
type LambdaAPI interface {
	GetAccountSettings(context.Context, *lambda.GetAccountSettingsInput, ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error)
	GetFunctionConcurrency(context.Context, *lambda.GetFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error)
}

// IAMAPI reads the member role's policy, with the member role's own
// credentials.
type IAMAPI interface {
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
}

// Member are one account's clients, built on the member role's
// credentials.
type Member struct {
	IAM IAMAPI
	EC2 discovery.RegionsAPI
}

var (
	_ STSAPI               = (*sts.Client)(nil)
	_ OrganizationsAPI     = (*organizations.Client)(nil)
	_ CloudFormationAPI    = (*cloudformation.Client)(nil)
	_ S3API                = (*s3.Client)(nil)
	_ DynamoDBAPI          = (*dynamodb.Client)(nil)
	_ SFNAPI               = (*sfn.Client)(nil)
	_ SchedulerAPI         = (*scheduler.Client)(nil)
	_ ParameterReader      = (*ssm.Client)(nil)
	_ LambdaAPI            = (*lambda.Client)(nil)
	_ IAMAPI               = (*iam.Client)(nil)
	_ discovery.RegionsAPI = (*ec2.Client)(nil)
)

// DefaultConcurrency is how many accounts' member roles are checked at once.
const DefaultConcurrency = 16

// Doctor checks one deployment. Its clients act in the pipeline account,
// in Region, with the caller's credentials.
type Doctor struct {
	Config deployconfig.Config
	// Region is the pipeline's region: the regions in scope default to it.
	Region string
	// Stack is the pipeline stack (default deployconfig.PipelineStackName).
	Stack string
	// Concurrency bounds the accounts checked at once (default
	// DefaultConcurrency).
	Concurrency int
	// Actions are the actions the member policy must allow (default
	// checks.Actions(checks.All())).
	Actions []string

	STS            STSAPI
	Organizations  OrganizationsAPI
	CloudFormation CloudFormationAPI
	S3             S3API
	DynamoDB       DynamoDBAPI
	SFN            SFNAPI
	Scheduler      SchedulerAPI
	SSM            ParameterReader
	Lambda         LambdaAPI
	// Member builds an account's clients from the credentials of its
	// member role.
	Member func(aws.Credentials) Member
	// Via, when set, builds an STS client from the credentials of the
	// pipeline stack's doctor role (advanced.doctorRoleName), which the
	// doctor assumes first: the member roles trust only it and the
	// collector. Nil: the member roles are assumed with STS directly.
	Via func(aws.Credentials) STSAPI

	// BeforeDeploy checks only what a deployment needs before it starts:
	// the organization, the caller's account for the mode, the targets, and
	// that Lambda will accept the collector's reservation (make deploy runs
	// it). The pipeline, the external ID and the member roles are not
	// checked: they do not exist yet.
	BeforeDeploy bool

	// Progress is called after each account's member role is checked, from
	// any goroutine but never concurrently.
	Progress func(done, total int)
}

// Run checks the deployment. Every problem found is a row of the report;
// the error is for a doctor that cannot start at all (no credentials:
// sts:GetCallerIdentity fails) or a cancelled context.
func (d *Doctor) Run(ctx context.Context) (Report, error) {
	id, err := d.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Report{}, fmt.Errorf("sts:GetCallerIdentity: %w", err)
	}
	caller := caller{account: aws.ToString(id.Account), partition: partitionOf(aws.ToString(id.Arn))}
	r := &run{d: d, caller: caller, regions: d.Config.RegionsIn(d.Region)}

	scope := r.organization(ctx)
	if d.BeforeDeploy {
		r.reservationFits(ctx)
	} else {
		r.pipeline(ctx)
		externalID := r.externalID(ctx)
		r.lambda(ctx)
		if err := r.members(ctx, scope, externalID); err != nil {
			return Report{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}

	rep := Report{Accounts: len(scope), Regions: r.regions, Targets: d.Config.Organization.Targets, BeforeDeploy: d.BeforeDeploy, Results: r.results}
	for _, res := range r.results {
		switch res.Status {
		case Fail:
			rep.Failures++
		case Warn:
			rep.Warnings++
		}
	}
	rep.OK = rep.Failures == 0
	return rep, nil
}

type caller struct{ account, partition string }

// run is one doctor run's state: the rows so far.
type run struct {
	d       *Doctor
	caller  caller
	regions []string
	// memberSTS assumes the member roles: the doctor role's, or STS.
	memberSTS STSAPI
	results   []Result
	// stack outputs, "" when missing
	bucket, table, stateMachine, collector, schedule string
}

func (r *run) add(res Result) { r.results = append(r.results, res) }

func (r *run) fail(check, subject, msg, fix string) {
	r.add(Result{Check: check, Subject: subject, Status: Fail, Message: msg, Fix: fix})
}

func (r *run) warn(check, subject, msg, fix string) {
	r.add(Result{Check: check, Subject: subject, Status: Warn, Message: msg, Fix: fix})
}

func (r *run) ok(check, subject, msg string) {
	r.add(Result{Check: check, Subject: subject, Status: OK, Message: msg})
}

func (d *Doctor) stack() string {
	if d.Stack != "" {
		return d.Stack
	}
	return deployconfig.PipelineStackName
}

func (d *Doctor) actions() []string {
	if d.Actions != nil {
		return d.Actions
	}
	return checks.Actions(checks.All())
}

// partitionOf is the partition of an ARN ("aws" when it cannot tell).
func partitionOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// listSome joins at most n items, saying how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

func sameSet(a, b []string) bool {
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}
