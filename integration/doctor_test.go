package integration

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/internal/mototest"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/deployconfig"
	"github.com/orgscan/orgscan/pkg/doctor"
)

// `orgscan external-id` and `orgscan doctor`, the binary a user runs, each
// against a moto server of its own (the organization seeded for the scan
// tests stays untouched): a deployment with three planted problems, and a
// healthy one.
func TestDoctor(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "orgscan")
	build := exec.Command("go", "build", "-o", bin, "./cmd/orgscan")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// The external ID is created once, left alone when it exists, and
	// rotated on request; its value never reaches the output.
	t.Run("ExternalID", func(t *testing.T) {
		t.Parallel()
		m := startDoctorMoto(t)
		cfgFile := writeDeployConfig(t, "r-abcd", nil)
		value := func() (string, int64) {
			out, err := ssm.NewFromConfig(m.cfg).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/orgscan/external-id")})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(out.Parameter.Value), out.Parameter.Version
		}
		var outputs []string
		step := func(want string, args ...string) {
			t.Helper()
			code, stdout, stderr := m.cli(t, bin, append([]string{"external-id", "--config", cfgFile}, args...)...)
			if code != 0 || stdout != want+"\n" {
				t.Fatalf("external-id %v: exit %d\nstdout %q\nstderr %s\nwant %q", args, code, stdout, stderr, want)
			}
			outputs = append(outputs, stdout+stderr)
		}
		step("created /orgscan/external-id (version 1)")
		first, v := value()
		if len(first) != 32 || strings.Trim(first, "0123456789abcdef") != "" || v != 1 {
			t.Fatalf("value %q version %d", first, v)
		}
		step("/orgscan/external-id exists (version 1); nothing changed")
		if again, _ := value(); again != first {
			t.Fatal("the value changed without --rotate")
		}
		step("rotated /orgscan/external-id to version 2: run make deploy (and make deploy-management-role in delegated-admin mode) so that the collector and every member role take it", "--rotate")
		second, v := value()
		if second == first || len(second) != 32 || v != 2 {
			t.Fatalf("rotated value %q version %d", second, v)
		}
		for _, out := range outputs {
			if strings.Contains(out, first) || strings.Contains(out, second) {
				t.Fatalf("the value is in the output: %q", out)
			}
		} // make deploy-management-role's arguments: the current value and
		// the pipeline account (the caller's).
		code, stdout, stderr := m.cli(t, bin, "external-id", "--config", cfgFile, "--cdk-parameters")
		if code != 0 || !regexp.MustCompile(`^--parameters ExternalId=`+second+` --parameters PipelineAccountId=\d{12}\n$`).MatchString(stdout) {
			t.Fatalf("--cdk-parameters: exit %d\nstdout %q\nstderr %s", code, stdout, stderr)
		}
	})

	// One member account lacks the role, a region in scope is not enabled
	// (ap-east-1, which moto reports not-opted-in in every account), and
	// the bucket the stack names does not exist: exactly those three
	// failures, exit 1.
	t.Run("ThreePlantedProblems", func(t *testing.T) {
		t.Parallel()
		m := startDoctorMoto(t)
		d := m.plantDeployment(t, bin, deploymentPlan{regions: []string{"us-east-1", "ap-east-1"}, withoutRole: true, withoutBucket: true})
		code, stdout, stderr := m.cli(t, bin, "doctor", "--config", d.config, "--json")
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
		}
		rep := decodeReport(t, stdout)
		want := []string{
			"bucket " + d.bucket,
			"member-role " + d.members[1],
			"regions ap-east-1",
		}
		if d := cmp.Diff(want, failures(rep)); d != "" {
			t.Fatalf("failures (-want +got):\n%s\n%s", d, stdout)
		}
		if rep.OK || rep.Failures != 3 || rep.Accounts != 4 {
			t.Fatalf("report ok %v failures %d accounts %d", rep.OK, rep.Failures, rep.Accounts)
		}
		// moto has one region list for every account: one row names all
		// the accounts whose role could be read, not the one without it.
		for _, r := range rep.Results {
			if r.Check == doctor.CheckMemberRegions && r.Subject == "ap-east-1" && (len(r.Accounts) != 3 || slices.Contains(r.Accounts, d.members[1])) {
				t.Fatalf("region row %+v", r)
			}
		}

		// The same, for a person: one line per problem and the summary.
		code, stdout, _ = m.cli(t, bin, "doctor", "--config", d.config)
		if code != 1 || !strings.Contains(stdout, "FAIL  bucket ") || !strings.Contains(stdout, "FAIL  member-role ") ||
			!strings.Contains(stdout, "FAIL  regions ") || !strings.Contains(stdout, "doctor: 3 failures, ") {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
		t.Logf("orgscan doctor --config deploy.yaml:\n%s", stdout)
	})

	// Everything in place: exit 0, no failure.
	t.Run("Healthy", func(t *testing.T) {
		t.Parallel()
		m := startDoctorMoto(t)
		d := m.plantDeployment(t, bin, deploymentPlan{regions: []string{"us-east-1"}, scheduleEnabled: true})
		code, stdout, stderr := m.cli(t, bin, "doctor", "--config", d.config, "--json", "--concurrency", "2")
		rep := decodeReport(t, stdout)
		if code != 0 || !rep.OK || rep.Failures != 0 || rep.Accounts != 4 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		for _, r := range rep.Results {
			if r.Status == doctor.Warn && r.Check != doctor.CheckLambda {
				t.Errorf("unexpected warning %+v", r)
			}
		}
		code, stdout, _ = m.cli(t, bin, "doctor", "--config", d.config)
		if code != 0 || !strings.Contains(stdout, "doctor: the deployment is ready for its first run") {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
		t.Logf("orgscan doctor --config deploy.yaml:\n%s", stdout)
		// make deploy's preflight: the organization and targets only.
		code, stdout, stderr = m.cli(t, bin, "doctor", "--config", d.config, "--before-deploy")
		if code != 0 || !strings.Contains(stdout, "doctor: ready to deploy (4 accounts, 1 region in scope)") {
			t.Fatalf("--before-deploy: exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
}

// doctorMoto is a moto server of one test, and the management account's
// configuration (us-east-1) pointing at it.
type doctorMoto struct {
	url string
	cfg aws.Config
}

func startDoctorMoto(t *testing.T) *doctorMoto {
	t.Helper()
	s, err := mototest.Start(context.Background())
	if err != nil {
		t.Fatalf("moto: %v", err)
	}
	t.Cleanup(s.Stop)
	cfg, err := awsx.LoadConfig(context.Background(), awsx.Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseEndpoint = aws.String(s.URL)
	return &doctorMoto{url: s.URL, cfg: cfg}
}

// cli runs the binary against this server, as a user would, with the
// management account's credentials.
func (m *doctorMoto) cli(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+m.url, "AWS_REGION=us-east-1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// in returns a configuration acting in account with the credentials of a
// role there (moto routes requests by the credentials' account and lets any
// role be assumed).
func (m *doctorMoto) in(account string) aws.Config {
	c := m.cfg.Copy()
	c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(m.cfg), fmt.Sprintf("arn:aws:iam::%s:role/orgscan-it-setup", account)))
	return c
}

type deploymentPlan struct {
	regions []string
	// withoutRole: the second member account has no member role.
	withoutRole     bool
	withoutBucket   bool
	scheduleEnabled bool
}

type deployment struct {
	config                           string
	root                             string
	members                          []string // the created accounts
	bucket, table, fn, sm, scheduleN string
}

// plantDeployment creates what `make deploy` and the StackSet would: an
// organization with three members, the member role in the management
// account and each member, the external ID (with `orgscan external-id`),
// and the pipeline's bucket, table, collector function, state machine,
// schedule and stack outputs, in the management account.
func (m *doctorMoto) plantDeployment(t *testing.T, bin string, p deploymentPlan) deployment {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	d := deployment{bucket: "orgscan-doctor-data", table: "orgscan-doctor-state", fn: "OrgScanPipeline-Collector-1A2B3C", scheduleN: "OrgScanPipeline-Daily-1A2B3C"}

	org := organizations.NewFromConfig(m.cfg)
	o, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: "ALL"})
	must("create organization", err)
	mgmt := aws.ToString(o.Organization.MasterAccountId)
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	must("list roots", err)
	d.root = aws.ToString(roots.Roots[0].Id)
	for _, name := range []string{"payments-prod", "search-dev", "data-prod"} {
		out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		must("create account", err)
		d.members = append(d.members, aws.ToString(out.CreateAccountStatus.AccountId))
	}

	policy := string(checks.Policy(checks.All()))
	for _, account := range append([]string{mgmt}, d.members...) {
		if p.withoutRole && account == d.members[1] {
			continue
		}
		c := iam.NewFromConfig(m.in(account))
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("OrgScanMember"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`)})
		must("create role", err)
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("OrgScanMember"), PolicyName: aws.String(deployconfig.MemberPolicyName), PolicyDocument: aws.String(policy)})
		must("put role policy", err)
	}

	d.config = writeDeployConfig(t, d.root, p.regions)
	if code, stdout, stderr := m.cli(t, bin, "external-id", "--config", d.config); code != 0 {
		t.Fatalf("external-id: exit %d\n%s%s", code, stdout, stderr)
	}

	if !p.withoutBucket {
		_, err = awsx.NewS3(m.cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(d.bucket)})
		must("create bucket", err)
	}
	_, err = dynamodb.NewFromConfig(m.cfg).CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(d.table), BillingMode: dbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: dbtypes.KeyTypeHash}}})
	must("create table", err)

	role, err := iam.NewFromConfig(m.cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("orgscan-collector"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	must("create collector role", err)
	fn, err := lambda.NewFromConfig(m.cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(d.fn), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: role.Role.Arn, Code: &lambdatypes.FunctionCode{ZipFile: emptyZip(t)}})
	must("create function", err)

	asl, err := os.ReadFile("../statemachine/orgscan.asl.json")
	must("read the state machine definition", err)
	def := strings.NewReplacer("${DispatcherFunctionArn}", "arn:aws:lambda:us-east-1:"+mgmt+":function:OrgScanPipeline-Dispatcher-1A2B3C",
		"${CollectorFunctionArn}", aws.ToString(fn.FunctionArn),
		"${AggregatorFunctionArn}", "arn:aws:lambda:us-east-1:"+mgmt+":function:OrgScanPipeline-Aggregator-1A2B3C",
		"${BucketName}", d.bucket).Replace(string(asl))
	sm, err := sfn.NewFromConfig(m.cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("orgscan"), Definition: aws.String(def),
		RoleArn: aws.String("arn:aws:iam::" + mgmt + ":role/orgscan-states")})
	must("create state machine", err)
	d.sm = aws.ToString(sm.StateMachineArn)

	input, err := json.Marshal(map[string]any{"regions": p.regions, "maxConcurrency": 40})
	must("schedule input", err)
	state := schedtypes.ScheduleStateDisabled
	if p.scheduleEnabled {
		state = schedtypes.ScheduleStateEnabled
	}
	_, err = scheduler.NewFromConfig(m.cfg).CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(d.scheduleN), ScheduleExpression: aws.String("cron(0 6 * * ? *)"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}, State: state,
		Target: &schedtypes.Target{Arn: aws.String(d.sm), RoleArn: aws.String("arn:aws:iam::" + mgmt + ":role/orgscan-scheduler"), Input: aws.String(string(input))}})
	must("create schedule", err)

	outputs := map[string]any{}
	for k, v := range map[string]string{deployconfig.OutputBucketName: d.bucket, deployconfig.OutputTableName: d.table, deployconfig.OutputStateMachineArn: d.sm,
		deployconfig.OutputCollectorFunction: d.fn, deployconfig.OutputScheduleName: d.scheduleN} {
		outputs[k] = map[string]string{"Value": v}
	}
	tmpl, err := json.Marshal(map[string]any{"Resources": map[string]any{"Handle": map[string]string{"Type": "AWS::CloudFormation::WaitConditionHandle"}}, "Outputs": outputs})
	must("template", err)
	_, err = cloudformation.NewFromConfig(m.cfg).CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(deployconfig.PipelineStackName), TemplateBody: aws.String(string(tmpl))})
	must("create stack", err)
	return d
}

func writeDeployConfig(t *testing.T, root string, regions []string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "organization:\n  mode: management\n  targets: [%s]\n", root)
	if len(regions) > 0 {
		fmt.Fprintf(&b, "regions: [%s]\n", strings.Join(regions, ", "))
	}
	path := filepath.Join(t.TempDir(), "deploy.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodeReport(t *testing.T, stdout string) doctor.Report {
	t.Helper()
	var rep doctor.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, stdout)
	}
	return rep
}

// failures are the report's failure rows as "check subject", sorted.
func failures(rep doctor.Report) []string {
	var out []string
	for _, r := range rep.Results {
		if r.Status == doctor.Fail {
			out = append(out, r.Check+" "+r.Subject)
		}
	}
	sort.Strings(out)
	return out
}

// emptyZip is a deployment package with one empty file: moto stores it and
// never runs it.
func emptyZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("bootstrap"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
