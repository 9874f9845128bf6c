package doctor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/deployconfig"
	"github.com/orgscan/orgscan/pkg/doctor"
)

const (
	mgmt     = "111111111111"
	payments = "222222222222"
	search   = "333333333333"
	closed   = "444444444444"
	root     = "r-ab12"
	ouOuter  = "ou-ab12-11111111"
	ouInner  = "ou-ab12-22222222"
	smARN    = "arn:aws:states:us-east-1:111111111111:stateMachine:orgscan"
	bucket   = "orgscan-data-abc"
	table    = "orgscan-state"
	fn       = "OrgScanPipeline-Collector-XYZ"
	schedule = "OrgScanPipeline-Daily-XYZ"
	param    = "/orgscan/external-id"
)

var policy = string(checks.Policy(checks.All()))

func enabledRegions() map[string]string {
	return map[string]string{"us-east-1": "opt-in-not-required", "eu-west-1": "opt-in-not-required", "ap-east-1": "not-opted-in", "af-south-1": "opted-in"}
}

func account(id, name string, state orgtypes.AccountState) orgtypes.Account {
	return orgtypes.Account{Id: aws.String(id), Name: aws.String(name), State: state}
}

// healthy is a deployment with nothing wrong: the management account and
// two members in scope (one in a nested OU), a closed account that is not.
func healthy() *fakeAWS {
	ms := map[string]*memberAccount{}
	for _, id := range []string{mgmt, payments, search} {
		ms[id] = &memberAccount{policy: policy, regions: enabledRegions()}
	}
	return &fakeAWS{
		caller: mgmt, partition: "aws",
		org:   orgtypes.Organization{Id: aws.String("o-abcdefghij"), MasterAccountId: aws.String(mgmt)},
		roots: []string{root},
		accounts: []orgtypes.Account{account(mgmt, "management", orgtypes.AccountStateActive), account(payments, "payments-prod", orgtypes.AccountStateActive),
			account(search, "search-dev", orgtypes.AccountStateActive), account(closed, "old", orgtypes.AccountStateClosed)},
		children: map[string][]orgtypes.Account{
			root:    {account(mgmt, "management", orgtypes.AccountStateActive), account(closed, "old", orgtypes.AccountStateClosed)},
			ouOuter: {account(payments, "payments-prod", orgtypes.AccountStateActive)},
			ouInner: {account(search, "search-dev", orgtypes.AccountStateActive)},
		},
		childOUs: map[string][]string{root: {ouOuter}, ouOuter: {ouInner}},
		stack: &cfntypes.Stack{StackName: aws.String(deployconfig.PipelineStackName), StackStatus: cfntypes.StackStatusUpdateComplete, Outputs: []cfntypes.Output{
			{OutputKey: aws.String(deployconfig.OutputBucketName), OutputValue: aws.String(bucket)},
			{OutputKey: aws.String(deployconfig.OutputTableName), OutputValue: aws.String(table)},
			{OutputKey: aws.String(deployconfig.OutputStateMachineArn), OutputValue: aws.String(smARN)},
			{OutputKey: aws.String(deployconfig.OutputCollectorFunction), OutputValue: aws.String(fn)},
			{OutputKey: aws.String(deployconfig.OutputScheduleName), OutputValue: aws.String(schedule)},
		}},
		buckets:  map[string]error{bucket: nil},
		tables:   map[string]dbtypes.TableStatus{table: dbtypes.TableStatusActive},
		machines: map[string]string{smARN: `{"States":{"Scan":{"Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:111111111111:function:` + fn + `"}},"Write":{"Arguments":{"Bucket":"` + bucket + `"}}}}`},
		schedules: map[string]*scheduler.GetScheduleOutput{schedule: {Name: aws.String(schedule), State: schedtypes.ScheduleStateEnabled,
			Target: &schedtypes.Target{Arn: aws.String(smARN), Input: aws.String(`{"regions":["eu-west-1","us-east-1"],"maxConcurrency":40}`)}}},
		params:    map[string]ssmtypes.Parameter{param: {Name: aws.String(param), Type: ssmtypes.ParameterTypeString, Value: aws.String("0123456789abcdef0123456789abcdef"), Version: 3}},
		functions: map[string]*int32{fn: nil},
		settings:  &lambdatypes.AccountLimit{ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: aws.Int32(1000)},
		members:   ms,
	}
}

const baseConfig = `organization: {mode: management, targets: [r-ab12]}
regions: [us-east-1, eu-west-1]
`

func config(t *testing.T, yaml string) deployconfig.Config {
	t.Helper()
	c, err := deployconfig.Parse("deploy.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func run(t *testing.T, f *fakeAWS, cfg deployconfig.Config) doctor.Report {
	t.Helper()
	d := f.doctor()
	d.Config, d.Region = cfg, "us-east-1"
	rep, err := d.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// problems are the report's failures and warnings as "status check subject".
func problems(rep doctor.Report) []string {
	var out []string
	for _, r := range rep.Results {
		if r.Status != doctor.OK {
			out = append(out, fmt.Sprintf("%s %s %s", r.Status, r.Check, r.Subject))
		}
	}
	sort.Strings(out)
	return out
}

func find(rep doctor.Report, check, subject string) doctor.Result {
	for _, r := range rep.Results {
		if r.Check == check && r.Subject == subject {
			return r
		}
	}
	return doctor.Result{}
}

func httpErr(status int) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err: errors.New("not found")}}
}

func TestHealthyDeploymentIsReady(t *testing.T) {
	t.Parallel()
	f := healthy()
	rep := run(t, f, config(t, baseConfig))
	if p := problems(rep); len(p) != 0 {
		t.Fatalf("problems in a healthy deployment: %v\n%+v", p, rep.Results)
	}
	if !rep.OK || rep.Failures != 0 || rep.Warnings != 0 || rep.Accounts != 3 || len(rep.Regions) != 2 {
		t.Fatalf("report %+v", rep)
	}
	// One AssumeRole per account in scope, none into the closed account,
	// with the external ID and the doctor's session name.
	if d := cmp.Diff(map[string]int{mgmt: 1, payments: 1, search: 1}, f.assumed); d != "" {
		t.Fatalf("AssumeRole calls (-want +got):\n%s", d)
	}
	for _, in := range f.assumeIn {
		if aws.ToString(in.ExternalId) != "0123456789abcdef0123456789abcdef" || aws.ToString(in.RoleSessionName) != doctor.SessionName ||
			!strings.HasPrefix(aws.ToString(in.RoleArn), "arn:aws:iam::") || !strings.HasSuffix(aws.ToString(in.RoleArn), ":role/OrgScanMember") {
			t.Fatalf("AssumeRole input %+v", in)
		}
	}
	for _, want := range []string{doctor.CheckOrganization, doctor.CheckTargets, doctor.CheckStack, doctor.CheckBucket, doctor.CheckTable,
		doctor.CheckStateMachine, doctor.CheckSchedule, doctor.CheckExternalID, doctor.CheckLambda, doctor.CheckMemberRole, doctor.CheckMemberRegions} {
		n := 0
		for _, r := range rep.Results {
			if r.Check == want {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no %s row in a healthy report", want)
		}
	}
	var buf bytes.Buffer
	if err := doctor.WriteText(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if want := "3 accounts in scope (targets r-ab12); regions in scope: us-east-1, eu-west-1\ndoctor: the deployment is ready for its first run (3 accounts, 2 regions in scope)\n"; buf.String() != want {
		t.Fatalf("text:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// Each check's failure and warning paths: the planted problem is exactly
// what the report names.
func TestEachProblemIsReported(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		config string // default baseConfig
		plant  func(f *fakeAWS)
		want   []string
		// message and fix must contain these (of the first wanted row)
		msg, fix string
		region   string // the pipeline region (default us-east-1)
	}{
		{name: "no organization", plant: func(f *fakeAWS) { f.orgErr = apiErr("AWSOrganizationsNotInUseException") },
			want: []string{"fail organization " + mgmt}, msg: "not in an organization"},
		{name: "organizations denied", plant: func(f *fakeAWS) { f.orgErr = apiErr("AccessDeniedException") },
			want: []string{"fail organization " + mgmt}, fix: "organizations:DescribeOrganization"},
		{name: "management mode from a member account", plant: func(f *fakeAWS) { f.caller = payments },
			want: []string{"fail organization " + payments}, msg: "not the management account " + mgmt, fix: "delegated-admin"},
		{name: "delegated-admin mode from the management account",
			config: "organization: {mode: delegated-admin, managementAccountId: \"" + mgmt + "\", targets: [r-ab12]}\nregions: [us-east-1, eu-west-1]\n",
			want:   []string{"fail organization " + mgmt}, msg: "is the management account"},
		{name: "delegated-admin mode with the wrong management account",
			config: "organization: {mode: delegated-admin, managementAccountId: \"999999999999\", targets: [r-ab12]}\nregions: [us-east-1, eu-west-1]\n",
			plant:  func(f *fakeAWS) { f.caller = payments },
			want:   []string{"fail organization 999999999999"}, fix: `managementAccountId: "` + mgmt + `"`},
		{name: "management mode with the wrong management account",
			config: "organization: {mode: management, managementAccountId: \"999999999999\", targets: [r-ab12]}\nregions: [us-east-1, eu-west-1]\n",
			want:   []string{"fail organization 999999999999"}, msg: "the organization's management account is " + mgmt},
		{name: "another organization",
			config: "organization: {mode: management, organizationId: o-zzzzzzzzzz, targets: [r-ab12]}\nregions: [us-east-1, eu-west-1]\n",
			want:   []string{"fail organization o-zzzzzzzzzz"}, msg: "o-abcdefghij"},
		{name: "root of another organization", config: "organization: {mode: management, targets: [r-zz99]}\nregions: [us-east-1, eu-west-1]\n",
			want: []string{"fail targets r-zz99"}, msg: "not this organization's root (r-ab12)"},
		{name: "a target OU that does not exist",
			config: "organization: {mode: management, targets: [ou-ab12-11111111, ou-ab12-99999999]}\nregions: [us-east-1, eu-west-1]\n",
			want:   []string{"fail targets ou-ab12-99999999"}, msg: "does not exist"},
		{name: "listing accounts fails", plant: func(f *fakeAWS) { f.listErr = apiErr("AccessDeniedException") },
			want: []string{"fail targets r-ab12"}, fix: "organizations:ListAccounts"},
		{name: "no pipeline stack", plant: func(f *fakeAWS) { f.stack = nil },
			// without the collector function's name the Lambda check is
			// skipped; the member roles are still checked
			want: []string{"fail pipeline-stack OrgScanPipeline"}, fix: "make deploy"},
		{name: "a failed stack", plant: func(f *fakeAWS) { f.stack.StackStatus = cfntypes.StackStatusUpdateRollbackFailed },
			want: []string{"fail pipeline-stack OrgScanPipeline"}, msg: "UPDATE_ROLLBACK_FAILED"},
		{name: "a stack being updated", plant: func(f *fakeAWS) { f.stack.StackStatus = cfntypes.StackStatusUpdateInProgress },
			want: []string{"warn pipeline-stack OrgScanPipeline"}},
		{name: "a stack output missing", plant: func(f *fakeAWS) { f.stack.Outputs = f.stack.Outputs[:4] },
			want: []string{"fail pipeline-stack OrgScanPipeline"}, msg: "ScheduleName", fix: "make deploy"},
		{name: "bucket deleted", plant: func(f *fakeAWS) { delete(f.buckets, bucket) },
			want: []string{"fail bucket " + bucket}, msg: "does not exist", fix: "redeploy the stack OrgScanPipeline"},
		{name: "bucket 404 without a code", plant: func(f *fakeAWS) { f.buckets[bucket] = httpErr(404) },
			want: []string{"fail bucket " + bucket}, msg: "does not exist"},
		{name: "bucket of another account", plant: func(f *fakeAWS) { f.buckets[bucket] = httpErr(403) },
			want: []string{"fail bucket " + bucket}, msg: "not accessible"},
		{name: "table deleted", plant: func(f *fakeAWS) { delete(f.tables, table) },
			want: []string{"fail table " + table}, msg: "does not exist"},
		{name: "table not active", plant: func(f *fakeAWS) { f.tables[table] = dbtypes.TableStatusArchived },
			want: []string{"fail table " + table}, msg: "ARCHIVED"},
		{name: "table updating", plant: func(f *fakeAWS) { f.tables[table] = dbtypes.TableStatusUpdating },
			want: []string{"warn table " + table}},
		{name: "state machine deleted", plant: func(f *fakeAWS) { delete(f.machines, smARN) },
			want: []string{"fail state-machine " + smARN}, msg: "does not exist"},
		{name: "state machine of another deployment", plant: func(f *fakeAWS) { f.machines[smARN] = `{"States":{}}` },
			want: []string{"fail state-machine " + smARN}, msg: "not wired to this stack's bucket/functions"},
		{name: "schedule deleted", plant: func(f *fakeAWS) { delete(f.schedules, schedule) },
			want: []string{"fail schedule " + schedule}, msg: "does not exist"},
		{name: "schedule disabled", plant: func(f *fakeAWS) { f.schedules[schedule].State = schedtypes.ScheduleStateDisabled },
			want: []string{"warn schedule " + schedule}, msg: "schedule is disabled", fix: "set schedule.enabled: true in the config and make deploy"},
		{name: "schedule targets something else", plant: func(f *fakeAWS) {
			f.schedules[schedule].Target.Arn = aws.String("arn:aws:states:us-east-1:1:stateMachine:x")
		},
			want: []string{"fail schedule " + schedule}, msg: "not this stack's state machine"},
		{name: "schedule scans other regions", plant: func(f *fakeAWS) { f.schedules[schedule].Target.Input = aws.String(`{"regions":["us-east-1"]}`) },
			want: []string{"fail schedule " + schedule}, msg: "scans regions us-east-1, the configuration's regions in scope are us-east-1, eu-west-1"},
		{name: "schedule input names no regions", plant: func(f *fakeAWS) { f.schedules[schedule].Target.Input = aws.String(`{}`) },
			want: []string{"fail schedule " + schedule}, msg: "names no regions"},
		{name: "schedule input not JSON", plant: func(f *fakeAWS) { f.schedules[schedule].Target.Input = aws.String(`regions`) },
			want: []string{"fail schedule " + schedule}, msg: "not a JSON run request"},
		{name: "regions default to the pipeline region", config: "organization: {mode: management, targets: [r-ab12]}\n", region: "eu-west-1",
			plant: func(f *fakeAWS) { f.schedules[schedule].Target.Input = aws.String(`{"regions":["eu-west-1"]}`) }},
		{name: "no external ID parameter", plant: func(f *fakeAWS) { delete(f.params, param) },
			want: []string{"fail external-id " + param, "fail member-role *"}, fix: "bin/orgscan external-id --config deploy.yaml"},
		{name: "external ID is a SecureString", plant: func(f *fakeAWS) {
			p := f.params[param]
			p.Type = ssmtypes.ParameterTypeSecureString
			f.params[param] = p
		}, want: []string{"fail external-id " + param, "fail member-role *"}, msg: "SecureString"},
		{name: "collector function deleted", plant: func(f *fakeAWS) { delete(f.functions, fn) },
			want: []string{"fail lambda-concurrency " + fn}, msg: "does not exist"},
		{name: "reservation differs from the config", config: baseConfig + "concurrency: {collectorReserved: 50}\n",
			want: []string{"fail lambda-concurrency " + fn}, msg: "no reservation; concurrency.collectorReserved is 50"},
		{name: "reservation as configured", config: baseConfig + "concurrency: {collectorReserved: 50}\n",
			plant: func(f *fakeAWS) { f.functions[fn] = aws.Int32(50) }},
		{name: "too little unreserved concurrency", plant: func(f *fakeAWS) {
			f.settings = &lambdatypes.AccountLimit{ConcurrentExecutions: 10, UnreservedConcurrentExecutions: aws.Int32(10)}
		}, want: []string{"warn lambda-concurrency " + fn}, msg: "at most 10 collectors at once", fix: "L-B99A9384"},
		{name: "account settings not implemented", plant: func(f *fakeAWS) { f.settingsErr = httpErr(404) },
			want: []string{"warn lambda-concurrency " + fn}, msg: "could not be checked"},
		{name: "function concurrency denied", plant: func(f *fakeAWS) { f.fnErr = apiErr("AccessDeniedException") },
			want: []string{"warn lambda-concurrency " + fn}, msg: "could not be checked"},
		{name: "member role missing", plant: func(f *fakeAWS) { f.members[payments].policy = "" },
			want: []string{"fail member-role " + payments}, msg: "role OrgScanMember missing",
			fix: "aws cloudformation list-stack-instances --stack-set-name orgscan-member-role)"},
		{name: "member role missing, delegated admin",
			config: "organization: {mode: delegated-admin, managementAccountId: \"" + mgmt + "\", targets: [r-ab12]}\nregions: [us-east-1, eu-west-1]\n",
			plant:  func(f *fakeAWS) { f.caller = search; f.members[payments].policy = "" },
			want:   []string{"fail member-role " + payments}, fix: "--stack-set-name orgscan-member-role --call-as DELEGATED_ADMIN"},
		{name: "management account's role missing", plant: func(f *fakeAWS) { f.members[mgmt].policy = "" },
			want: []string{"fail member-role " + mgmt}, fix: "deploy the stack OrgScanManagementRole there"},
		{name: "assume role denied", plant: func(f *fakeAWS) { f.members[search].assumeErr = apiErr("AccessDenied") },
			want: []string{"fail member-role " + search}, msg: "cannot assume arn:aws:iam::" + search + ":role/OrgScanMember", fix: "trust policy"},
		{name: "policy out of date", plant: func(f *fakeAWS) {
			f.members[payments].policy = strings.Replace(policy, `"ec2:DescribeVolumes",`, "", 1)
		}, want: []string{"fail member-role " + payments}, msg: "role policy out of date (missing: ec2:DescribeVolumes)", fix: "older template: make deploy"},
		{name: "policy with wildcards", plant: func(f *fakeAWS) {
			f.members[payments].policy = `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
		}},
		{name: "policy read denied", plant: func(f *fakeAWS) { f.members[payments].policyErr = apiErr("AccessDenied") },
			want: []string{"fail member-role " + payments}, msg: "iam:GetRolePolicy denied"},
		{name: "regions cannot be listed", plant: func(f *fakeAWS) { f.members[payments].regionsErr = apiErr("UnauthorizedOperation") },
			want: []string{"fail member-role " + payments}, msg: "ec2:DescribeRegions", fix: "OrgScanPreflight"},
		{name: "excluded account is not checked", config: baseConfig + "scan: {excludeAccounts: [\"" + payments + "\"]}\n",
			plant: func(f *fakeAWS) { f.members[payments].assumeErr = errors.New("must not be assumed") }},
		{name: "targets are OUs", config: "organization: {mode: management, targets: [ou-ab12-11111111]}\nregions: [us-east-1, eu-west-1]\n",
			plant: func(f *fakeAWS) { f.members[mgmt].assumeErr = errors.New("the management account is not in the OU") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := healthy()
			if tc.plant != nil {
				tc.plant(f)
			}
			yaml := tc.config
			if yaml == "" {
				yaml = baseConfig
			}
			d := f.doctor()
			d.Config, d.Region = config(t, yaml), "us-east-1"
			if tc.region != "" {
				d.Region = tc.region
			}
			rep, err := d.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if d := cmp.Diff(want, problems(rep)); d != "" {
				t.Fatalf("problems (-want +got):\n%s\nresults: %+v", d, rep.Results)
			}
			failures := 0
			for _, w := range tc.want {
				if strings.HasPrefix(w, "fail ") {
					failures++
				}
			}
			if rep.Failures != failures || rep.Warnings != len(tc.want)-failures || rep.OK != (failures == 0) {
				t.Fatalf("counts: %+v", rep)
			}
			if len(tc.want) == 0 {
				return
			}
			parts := strings.SplitN(tc.want[0], " ", 3)
			r := find(rep, parts[1], parts[2])
			if !strings.Contains(r.Message, tc.msg) || !strings.Contains(r.Fix, tc.fix) {
				t.Fatalf("row %+v\nwant message ~ %q, fix ~ %q", r, tc.msg, tc.fix)
			}
			if r.Status != doctor.OK && r.Fix == "" {
				t.Fatalf("row without a fix: %+v", r)
			}
		})
	}
}

// Per-account region differences, which moto cannot show (it has one
// region list for every account): one row per region, naming exactly the
// accounts that lack it; a region missing from an account's list counts as
// not enabled.
func TestRegionsNotEnabledAreGroupedPerRegion(t *testing.T) {
	t.Parallel()
	f := healthy()
	f.members[search].regions["eu-west-1"] = "not-opted-in"
	cfg := config(t, "organization: {mode: management, targets: [r-ab12]}\nregions: [us-east-1, eu-west-1, af-south-1, ap-east-1]\n")
	f.schedules[schedule].Target.Input = aws.String(`{"regions":["us-east-1","eu-west-1","af-south-1","ap-east-1"]}`)
	delete(f.members[payments].regions, "af-south-1")
	delete(f.members[search].regions, "af-south-1")
	rep := run(t, f, cfg)
	if d := cmp.Diff([]string{"fail regions af-south-1", "fail regions ap-east-1", "fail regions eu-west-1"}, problems(rep)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	for region, want := range map[string][]string{"eu-west-1": {search}, "af-south-1": {payments, search}, "ap-east-1": {mgmt, payments, search}} {
		r := find(rep, doctor.CheckMemberRegions, region)
		if d := cmp.Diff(want, r.Accounts); d != "" {
			t.Errorf("%s accounts (-want +got):\n%s", region, d)
		}
		if !strings.Contains(r.Message, fmt.Sprintf("region %s in scope is not enabled in %d account", region, len(want))) ||
			!strings.Contains(r.Fix, "remove it from regions") {
			t.Errorf("row %+v", r)
		}
	}
	if r := find(rep, doctor.CheckMemberRegions, "us-east-1"); r.Status != doctor.OK {
		t.Errorf("us-east-1: %+v", r)
	}
}

// A grouped row names at most ten accounts in its message, all of them in
// Accounts.
func TestRegionRowListsSomeAccounts(t *testing.T) {
	t.Parallel()
	f := healthy()
	for i := range 12 {
		id := fmt.Sprintf("5000000000%02d", i)
		f.accounts = append(f.accounts, account(id, "a", orgtypes.AccountStateActive))
		f.members[id] = &memberAccount{policy: policy, regions: map[string]string{"us-east-1": "opt-in-not-required"}}
	}
	rep := run(t, f, config(t, baseConfig))
	r := find(rep, doctor.CheckMemberRegions, "eu-west-1")
	if len(r.Accounts) != 12 || !strings.Contains(r.Message, "not enabled in 12 accounts: 500000000000, ") || !strings.HasSuffix(r.Message, " and 2 more") {
		t.Fatalf("row %+v", r)
	}
}

// The member phase runs at most Concurrency accounts at once and reports
// progress once per account, never concurrently.
func TestMemberChecksAreBoundedAndReportProgress(t *testing.T) {
	t.Parallel()
	f := healthy()
	for i := range 40 {
		id := fmt.Sprintf("6000000000%02d", i)
		f.accounts = append(f.accounts, account(id, "a", orgtypes.AccountStateActive))
		f.members[id] = &memberAccount{policy: policy, regions: enabledRegions()}
	}
	gate := &gateSTS{fakeAWS: f}
	d := f.doctor()
	d.STS = gate
	d.Config, d.Region, d.Concurrency = config(t, baseConfig), "us-east-1", 3
	var calls []int
	var inProgress, overlapped bool
	d.Progress = func(done, total int) {
		if inProgress {
			overlapped = true
		}
		inProgress = true
		if total != 43 {
			t.Errorf("total %d", total)
		}
		calls = append(calls, done)
		inProgress = false
	}
	rep, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if gate.max > 3 || gate.max < 1 {
		t.Fatalf("%d AssumeRole calls at once; the limit is 3", gate.max)
	}
	if len(calls) != 43 || calls[42] != 43 || overlapped {
		t.Fatalf("progress %v overlapped %v", calls, overlapped)
	}
	if rep.Accounts != 43 || rep.Failures != 0 {
		t.Fatalf("report %+v", rep)
	}
}

// gateSTS counts AssumeRole calls in flight.
type gateSTS struct {
	*fakeAWS
	mu        sync.Mutex
	in, max   int
	callerErr error
}

func (g *gateSTS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, o ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if g.callerErr != nil {
		return nil, g.callerErr
	}
	return g.fakeAWS.GetCallerIdentity(ctx, in, o...)
}

func (g *gateSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, o ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	g.mu.Lock()
	g.in++
	g.max = max(g.max, g.in)
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.in--; g.mu.Unlock() }()
	return g.fakeAWS.AssumeRole(ctx, in, o...)
}

// Without credentials the doctor cannot start: an error, not a report.
func TestNoCredentialsIsAnError(t *testing.T) {
	t.Parallel()
	f := healthy()
	d := f.doctor()
	d.STS = &gateSTS{fakeAWS: f, callerErr: errors.New("no valid providers in chain")}
	d.Config = config(t, baseConfig)
	if _, err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "sts:GetCallerIdentity") {
		t.Fatalf("err %v", err)
	}
}

// The stack name is the --stack flag's; the partition is the caller's.
func TestStackNameAndPartition(t *testing.T) {
	t.Parallel()
	f := healthy()
	f.partition = "aws-us-gov"
	f.stack.StackName = aws.String("Other")
	d := f.doctor()
	d.Config, d.Region, d.Stack = config(t, baseConfig), "us-east-1", "Other"
	rep, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems(rep)) != 0 {
		t.Fatalf("problems %v", problems(rep))
	}
	for _, in := range f.assumeIn {
		if !strings.HasPrefix(aws.ToString(in.RoleArn), "arn:aws-us-gov:iam::") {
			t.Fatalf("role ARN %s", aws.ToString(in.RoleArn))
		}
	}
}

// The text report: failures first, then warnings, aligned, member text
// escaped, and the summary.
func TestWriteText(t *testing.T) {
	t.Parallel()
	rep := doctor.Report{Failures: 2, Warnings: 1, Accounts: 3, Regions: []string{"us-east-1", "ap-east-1"}, Targets: []string{"r-ab12"},
		Results: []doctor.Result{
			{Check: "schedule", Subject: "daily", Status: doctor.Warn, Message: "schedule is disabled: no run starts on its own", Fix: "set schedule.enabled: true"},
			{Check: "member-role", Subject: payments, Name: "evil\x1b[2J\nname", Status: doctor.Fail, Message: "role OrgScanMember missing", Fix: "deploy"},
			{Check: "bucket", Subject: bucket, Status: doctor.OK, Message: "bucket exists"},
			{Check: "regions", Subject: "ap-east-1", Status: doctor.Fail, Message: "region ap-east-1 in scope is not enabled in 1 account: " + payments, Fix: "enable it"},
		}}
	var buf bytes.Buffer
	if err := doctor.WriteText(&buf, rep); err != nil {
		t.Fatal(err)
	}
	want := `3 accounts in scope (targets r-ab12); regions in scope: us-east-1, ap-east-1
FAIL  member-role  222222222222 (evil\x1b[2J\nname): role OrgScanMember missing — deploy
FAIL  regions      ap-east-1: region ap-east-1 in scope is not enabled in 1 account: 222222222222 — enable it
WARN  schedule     daily: schedule is disabled: no run starts on its own — set schedule.enabled: true
doctor: 2 failures, 1 warning (3 accounts, 2 regions in scope)
`
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}

	buf.Reset()
	rep.Failures, rep.Results = 0, rep.Results[:1]
	if err := doctor.WriteText(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(buf.String(), "doctor: 0 failures, 1 warning (3 accounts, 2 regions in scope)\ndoctor: the deployment is ready for its first run (mind the warnings)\n") {
		t.Fatalf("warnings only:\n%s", buf.String())
	}
}

// viaSTS records the AssumeRole calls made with the doctor role's
// credentials, then serves them like the rest of the fake.
type viaSTS struct {
	*fakeAWS
	key   string
	mu    sync.Mutex
	calls []string
}

func (v *viaSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, opts ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	v.mu.Lock()
	v.calls = append(v.calls, aws.ToString(in.RoleArn))
	v.mu.Unlock()
	return v.fakeAWS.AssumeRole(ctx, in, opts...)
}

// With Via, the doctor assumes the pipeline stack's doctor role once with
// the caller's credentials (no external ID), then every member role with
// the doctor role's: the member roles trust only it and the collector.
func TestMemberRolesAreAssumedThroughTheDoctorRole(t *testing.T) {
	t.Parallel()
	f := healthy()
	d := f.doctor()
	d.Config, d.Region = config(t, baseConfig), "us-east-1"
	var via *viaSTS
	var mu sync.Mutex
	d.Via = func(c aws.Credentials) doctor.STSAPI {
		mu.Lock()
		defer mu.Unlock()
		via = &viaSTS{fakeAWS: f, key: c.AccessKeyID}
		return via
	}
	rep, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := problems(rep); len(p) != 0 {
		t.Fatalf("problems: %v", p)
	}
	first := f.assumeIn[0]
	if aws.ToString(first.RoleArn) != "arn:aws:iam::"+mgmt+":role/orgscan-doctor" || first.ExternalId != nil {
		t.Fatalf("first AssumeRole %+v, want the doctor role without an external ID", first)
	}
	if via == nil || via.key != mgmt || len(via.calls) != 3 {
		t.Fatalf("member roles assumed through the doctor role: %+v", via)
	}
}

// A caller that may not assume the doctor role gets one row, not one per
// account.
func TestDoctorRoleRefused(t *testing.T) {
	t.Parallel()
	f := healthy()
	d := f.doctor()
	d.Config, d.Region = config(t, baseConfig), "us-east-1"
	d.STS = refuseDoctorRole{f}
	d.Via = func(aws.Credentials) doctor.STSAPI { t.Error("Via called without the doctor role"); return f }
	rep, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := problems(rep); !reflect.DeepEqual(p, []string{"fail member-role doctor role"}) {
		t.Fatalf("problems %v", p)
	}
	if r := find(rep, doctor.CheckMemberRole, "doctor role"); !strings.Contains(r.Message, "cannot assume arn:aws:iam::"+mgmt+":role/orgscan-doctor") {
		t.Fatalf("row %+v", r)
	}
}

type refuseDoctorRole struct{ *fakeAWS }

func (r refuseDoctorRole) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, opts ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	if strings.HasSuffix(aws.ToString(in.RoleArn), ":role/orgscan-doctor") {
		return nil, apiErr("AccessDenied")
	}
	return r.fakeAWS.AssumeRole(ctx, in, opts...)
}

// Before a deployment (make deploy runs it) only the organization and the
// reservation are checked. Lambda keeps at least 100 unreserved concurrent
// executions ("Configuring reserved concurrency", Lambda developer guide):
// a reservation that would leave fewer fails, the collector's current
// reservation counting as given back.
func TestBeforeDeploy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		reserved          int
		quota, unreserved int32
		current           *int32 // the deployed collector's reservation; nil: none
		noStack           bool
		want              []string
	}{
		{"no reservation", 0, 10, 10, nil, true, nil},
		{"a new account's quota of 50", 40, 50, 50, nil, true, []string{"fail lambda-concurrency collector"}},
		{"fits in the default quota", 900, 1000, 1000, nil, true, nil},
		{"one too many", 900, 1000, 999, nil, true, []string{"fail lambda-concurrency collector"}},
		{"redeploying the same reservation", 800, 1000, 200, aws.Int32(800), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := healthy()
			f.settings = &lambdatypes.AccountLimit{ConcurrentExecutions: tc.quota, UnreservedConcurrentExecutions: aws.Int32(tc.unreserved)}
			f.functions = map[string]*int32{fn: tc.current}
			if tc.noStack {
				f.stack = nil
			}
			d := f.doctor()
			d.Config, d.Region, d.BeforeDeploy = config(t, fmt.Sprintf("%sconcurrency: {collectorReserved: %d, maxConcurrency: 10}\n", baseConfig, tc.reserved)), "us-east-1", true
			rep, err := d.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if p := problems(rep); !reflect.DeepEqual(p, tc.want) {
				t.Fatalf("problems %v, want %v\n%+v", p, tc.want, rep.Results)
			}
			// Nothing of the deployment is read: it may not exist yet.
			if len(f.assumeIn) != 0 {
				t.Fatalf("member roles assumed before the deployment: %d", len(f.assumeIn))
			}
			for _, r := range rep.Results {
				if r.Check != doctor.CheckOrganization && r.Check != doctor.CheckTargets && r.Check != doctor.CheckLambda {
					t.Fatalf("row %+v before a deployment", r)
				}
			}
		})
	}
}
