package doctor_test

import (
	"context"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/orgscan/orgscan/pkg/doctor"
)

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code + " (fake)"} }

// memberAccount is what one fake member account answers to its role.
type memberAccount struct {
	assumeErr  error
	policy     string // the member policy's document; "" = NoSuchEntity
	policyErr  error
	regions    map[string]string // region → opt-in status
	regionsErr error
}

// fakeAWS plays every service the doctor calls, from canned state. The
// member accounts' clients are told apart by the access key AssumeRole
// issued: the account ID. Safe for concurrent use.
type fakeAWS struct {
	caller, partition string

	orgErr      error
	org         orgtypes.Organization
	roots       []string
	accounts    []orgtypes.Account            // ListAccounts
	children    map[string][]orgtypes.Account // ListAccountsForParent
	childOUs    map[string][]string           // ListOrganizationalUnitsForParent
	listErr     error
	stackErr    error
	stack       *cfntypes.Stack
	buckets     map[string]error // HeadBucket's answer; missing = 404
	tables      map[string]dbtypes.TableStatus
	machines    map[string]string // ARN → definition
	schedules   map[string]*scheduler.GetScheduleOutput
	params      map[string]ssmtypes.Parameter
	paramErr    error
	functions   map[string]*int32 // function → reservation
	fnErr       error
	settings    *lambdatypes.AccountLimit
	settingsErr error
	members     map[string]*memberAccount

	mu       sync.Mutex
	assumed  map[string]int // AssumeRole calls by account
	assumeIn []*sts.AssumeRoleInput
}

func (f *fakeAWS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return &sts.GetCallerIdentityOutput{Account: aws.String(f.caller), Arn: aws.String("arn:" + f.partition + ":sts::" + f.caller + ":assumed-role/Admin/me")}, nil
}

func (f *fakeAWS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	account := strings.Split(aws.ToString(in.RoleArn), ":")[4]
	f.mu.Lock()
	if f.assumed == nil {
		f.assumed = map[string]int{}
	}
	f.assumed[account]++
	f.assumeIn = append(f.assumeIn, in)
	f.mu.Unlock()
	m := f.members[account]
	if m == nil {
		return nil, apiErr("AccessDenied")
	}
	if m.assumeErr != nil {
		return nil, m.assumeErr
	}
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String(account), SecretAccessKey: aws.String("s"), SessionToken: aws.String("t")}}, nil
}

func (f *fakeAWS) DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error) {
	if f.orgErr != nil {
		return nil, f.orgErr
	}
	o := f.org
	return &organizations.DescribeOrganizationOutput{Organization: &o}, nil
}

func (f *fakeAWS) ListRoots(context.Context, *organizations.ListRootsInput, ...func(*organizations.Options)) (*organizations.ListRootsOutput, error) {
	out := &organizations.ListRootsOutput{}
	for _, r := range f.roots {
		out.Roots = append(out.Roots, orgtypes.Root{Id: aws.String(r)})
	}
	return out, nil
}

func (f *fakeAWS) ListAccounts(context.Context, *organizations.ListAccountsInput, ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	return &organizations.ListAccountsOutput{Accounts: f.accounts}, nil
}

func (f *fakeAWS) known(parent string) bool {
	if _, ok := f.children[parent]; ok {
		return true
	}
	_, ok := f.childOUs[parent]
	return ok
}

func (f *fakeAWS) ListAccountsForParent(_ context.Context, in *organizations.ListAccountsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	if !f.known(aws.ToString(in.ParentId)) {
		return nil, &orgtypes.ParentNotFoundException{Message: aws.String("no such parent")}
	}
	return &organizations.ListAccountsForParentOutput{Accounts: f.children[aws.ToString(in.ParentId)]}, nil
}

func (f *fakeAWS) ListOrganizationalUnitsForParent(_ context.Context, in *organizations.ListOrganizationalUnitsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error) {
	if !f.known(aws.ToString(in.ParentId)) {
		return nil, &orgtypes.ParentNotFoundException{Message: aws.String("no such parent")}
	}
	out := &organizations.ListOrganizationalUnitsForParentOutput{}
	for _, ou := range f.childOUs[aws.ToString(in.ParentId)] {
		out.OrganizationalUnits = append(out.OrganizationalUnits, orgtypes.OrganizationalUnit{Id: aws.String(ou)})
	}
	return out, nil
}

func (f *fakeAWS) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if f.stackErr != nil {
		return nil, f.stackErr
	}
	if f.stack == nil || aws.ToString(in.StackName) != aws.ToString(f.stack.StackName) {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id " + aws.ToString(in.StackName) + " does not exist"}
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{*f.stack}}, nil
}

func (f *fakeAWS) HeadBucket(_ context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	err, ok := f.buckets[aws.ToString(in.Bucket)]
	if !ok {
		return nil, apiErr("NotFound")
	}
	return &s3.HeadBucketOutput{}, err
}

func (f *fakeAWS) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	st, ok := f.tables[aws.ToString(in.TableName)]
	if !ok {
		return nil, apiErr("ResourceNotFoundException")
	}
	return &dynamodb.DescribeTableOutput{Table: &dbtypes.TableDescription{TableName: in.TableName, TableStatus: st}}, nil
}

func (f *fakeAWS) DescribeStateMachine(_ context.Context, in *sfn.DescribeStateMachineInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	def, ok := f.machines[aws.ToString(in.StateMachineArn)]
	if !ok {
		return nil, apiErr("StateMachineDoesNotExist")
	}
	return &sfn.DescribeStateMachineOutput{StateMachineArn: in.StateMachineArn, Definition: aws.String(def)}, nil
}

func (f *fakeAWS) GetSchedule(_ context.Context, in *scheduler.GetScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	s, ok := f.schedules[aws.ToString(in.Name)]
	if !ok {
		return nil, apiErr("ResourceNotFoundException")
	}
	return s, nil
}

func (f *fakeAWS) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if f.paramErr != nil {
		return nil, f.paramErr
	}
	p, ok := f.params[aws.ToString(in.Name)]
	if !ok {
		return nil, apiErr("ParameterNotFound")
	}
	return &ssm.GetParameterOutput{Parameter: &p}, nil
}

func (f *fakeAWS) GetAccountSettings(context.Context, *lambda.GetAccountSettingsInput, ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error) {
	if f.settingsErr != nil {
		return nil, f.settingsErr
	}
	return &lambda.GetAccountSettingsOutput{AccountLimit: f.settings}, nil
}

func (f *fakeAWS) GetFunctionConcurrency(_ context.Context, in *lambda.GetFunctionConcurrencyInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error) {
	if f.fnErr != nil {
		return nil, f.fnErr
	}
	r, ok := f.functions[aws.ToString(in.FunctionName)]
	if !ok {
		return nil, apiErr("ResourceNotFoundException")
	}
	return &lambda.GetFunctionConcurrencyOutput{ReservedConcurrentExecutions: r}, nil
}

// memberClients answers one account's calls with its role's credentials.
type memberClients struct {
	f       *fakeAWS
	account string
}

func (m memberClients) GetRolePolicy(_ context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	a := m.f.members[m.account]
	if a.policyErr != nil {
		return nil, a.policyErr
	}
	if a.policy == "" {
		return nil, apiErr("NoSuchEntity")
	}
	// IAM returns the document URL-encoded.
	return &iam.GetRolePolicyOutput{RoleName: in.RoleName, PolicyName: in.PolicyName, PolicyDocument: aws.String(url.PathEscape(a.policy))}, nil
}

func (m memberClients) DescribeRegions(_ context.Context, in *ec2.DescribeRegionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	a := m.f.members[m.account]
	if a.regionsErr != nil {
		return nil, a.regionsErr
	}
	if !aws.ToBool(in.AllRegions) {
		panic("DescribeRegions without AllRegions hides the regions that are not enabled")
	}
	out := &ec2.DescribeRegionsOutput{}
	for r, s := range a.regions {
		out.Regions = append(out.Regions, ec2types.Region{RegionName: aws.String(r), OptInStatus: aws.String(s)})
	}
	return out, nil
}

func (f *fakeAWS) member(c aws.Credentials) doctor.Member {
	m := memberClients{f: f, account: c.AccessKeyID}
	return doctor.Member{IAM: m, EC2: m}
}

func (f *fakeAWS) doctor() *doctor.Doctor {
	return &doctor.Doctor{STS: f, Organizations: f, CloudFormation: f, S3: f, DynamoDB: f, SFN: f, Scheduler: f, SSM: f, Lambda: f, Member: f.member}
}
