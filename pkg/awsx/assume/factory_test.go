package assume_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/awsx/assume"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// fakeSTS is a stscreds.AssumeRoleAPIClient. It records every AssumeRole
// input, answers with credentials whose access key names the role and
// whose Expiration is now+ttl, or with the error fail returns for the n-th
// (1-based) call of that role.
type fakeSTS struct {
	ttl  time.Duration
	fail func(roleARN string, n int) error

	mu     sync.Mutex
	calls  map[string]int
	inputs []sts.AssumeRoleInput
}

var _ stscreds.AssumeRoleAPIClient = (*fakeSTS)(nil)

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	arn := aws.ToString(in.RoleArn)
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[arn]++
	n := f.calls[arn]
	f.inputs = append(f.inputs, *in)
	f.mu.Unlock()

	if f.fail != nil {
		if err := f.fail(arn, n); err != nil {
			return nil, err
		}
	}
	ttl := f.ttl
	if ttl == 0 {
		ttl = time.Hour
	}
	return &sts.AssumeRoleOutput{
		Credentials: &ststypes.Credentials{
			AccessKeyId:     aws.String(accessKeyFor(arn)),
			SecretAccessKey: aws.String("secret"),
			SessionToken:    aws.String("token"),
			Expiration:      aws.Time(time.Now().Add(ttl)),
		},
		AssumedRoleUser: &ststypes.AssumedRoleUser{
			Arn:           aws.String(strings.Replace(strings.Replace(arn, ":iam:", ":sts:", 1), ":role/", ":assumed-role/", 1) + "/s"),
			AssumedRoleId: aws.String("AROA:s"),
		},
	}, nil
}

func (f *fakeSTS) callsFor(arn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[arn]
}

func (f *fakeSTS) allCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

func (f *fakeSTS) recorded() []sts.AssumeRoleInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sts.AssumeRoleInput(nil), f.inputs...)
}

func accessKeyFor(roleARN string) string { return "ASIA-" + roleARN }

func roleARN(account string) string { return "arn:aws:iam::" + account + ":role/OrgScanRole" }

// baseConfig is a config whose credentials are static and recognisable, so
// a test can tell base from assumed credentials.
func baseConfig() aws.Config {
	return aws.Config{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "BASE", SecretAccessKey: "base-secret", Source: "test"}, nil
		}),
	}
}

func item(account, region string) pipeline.WorkItem {
	return pipeline.WorkItem{RunID: "run-1", AccountID: account, Region: region, RoleARN: roleARN(account)}
}

var seventeenRegions = []string{
	"af-south-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
	"sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// clientsInfo is what a test can observe of a checks.Clients: that each
// client is the concrete SDK client, its region and its credentials' key.
type clientsInfo struct {
	Region    string
	AccessKey string
}

func inspectClients(t *testing.T, c checks.Clients) clientsInfo {
	t.Helper()
	e, ok := c.EC2.(*ec2.Client)
	if !ok || e == nil {
		t.Fatalf("EC2 client = %T(%v), want non-nil *ec2.Client", c.EC2, c.EC2)
	}
	if l, ok := c.Lambda.(*lambda.Client); !ok || l == nil {
		t.Fatalf("Lambda client = %T, want non-nil *lambda.Client", c.Lambda)
	} else if got := l.Options().Region; got != e.Options().Region {
		t.Errorf("Lambda region = %q, EC2 region = %q", got, e.Options().Region)
	}
	if r, ok := c.RDS.(*rds.Client); !ok || r == nil {
		t.Fatalf("RDS client = %T, want non-nil *rds.Client", c.RDS)
	} else if got := r.Options().Region; got != e.Options().Region {
		t.Errorf("RDS region = %q, EC2 region = %q", got, e.Options().Region)
	}
	if w, ok := c.CloudWatch.(*cloudwatch.Client); !ok || w == nil {
		t.Fatalf("CloudWatch client = %T, want non-nil *cloudwatch.Client", c.CloudWatch)
	} else if got := w.Options().Region; got != e.Options().Region {
		t.Errorf("CloudWatch region = %q, EC2 region = %q", got, e.Options().Region)
	}
	creds, err := e.Options().Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("retrieve the EC2 client's credentials: %v", err)
	}
	return clientsInfo{Region: e.Options().Region, AccessKey: creds.AccessKeyID}
}

func TestAssumeRoleFactoryConcurrentOneAssumePerAccount(t *testing.T) {
	t.Parallel()
	fake := &fakeSTS{}
	f := &assume.Factory{Base: baseConfig(), STS: fake}
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	const callersPerPair = 3

	type result struct {
		item    pipeline.WorkItem
		clients checks.Clients
		err     error
	}
	results := make(chan result, len(accounts)*len(seventeenRegions)*callersPerPair)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, a := range accounts {
		for _, r := range seventeenRegions {
			for range callersPerPair {
				wg.Add(1)
				go func(it pipeline.WorkItem) {
					defer wg.Done()
					<-start
					c, err := f.Clients(context.Background(), it)
					results <- result{it, c, err}
				}(item(a, r))
			}
		}
	}
	close(start)
	wg.Wait()
	close(results)

	n := 0
	for res := range results {
		n++
		if res.err != nil {
			t.Errorf("Clients(%s, %s): %v", res.item.AccountID, res.item.Region, res.err)
			continue
		}
		got := inspectClients(t, res.clients)
		want := clientsInfo{Region: res.item.Region, AccessKey: accessKeyFor(res.item.RoleARN)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Clients(%s, %s) (-want +got):\n%s", res.item.AccountID, res.item.Region, diff)
		}
	}
	if want := len(accounts) * len(seventeenRegions) * callersPerPair; n != want {
		t.Errorf("got %d results, want %d", n, want)
	}
	wantCalls := map[string]int{}
	for _, a := range accounts {
		wantCalls[roleARN(a)] = 1
	}
	if diff := cmp.Diff(wantCalls, fake.allCalls()); diff != "" {
		t.Errorf("AssumeRole calls per role (-want +got):\n%s", diff)
	}
}

func TestAssumeRoleFactoryAssumeRoleInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		externalID  string
		runID       string
		wantSession string
		wantExtID   *string
	}{
		{"external id", "ext-123", "run-1", "orgscan-run-1", aws.String("ext-123")},
		{"no external id", "", "run-1", "orgscan-run-1", nil},
		{"unsafe run id", "x", "2026/11 26 run#1", "orgscan-2026-11-26-run-1", aws.String("x")},
		{"long run id", "", strings.Repeat("r", 80), "orgscan-" + strings.Repeat("r", 56), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeSTS{}
			f := &assume.Factory{Base: baseConfig(), STS: fake, ExternalID: tt.externalID}
			it := item("111111111111", "eu-west-1")
			it.RunID = tt.runID
			if _, err := f.Clients(context.Background(), it); err != nil {
				t.Fatal(err)
			}
			got := fake.recorded()
			if len(got) != 1 {
				t.Fatalf("AssumeRole called %d times, want 1", len(got))
			}
			type input struct {
				RoleArn, RoleSessionName string
				ExternalID               *string
				DurationSeconds          *int32
			}
			want := input{roleARN("111111111111"), tt.wantSession, tt.wantExtID, aws.Int32(3600)}
			gotIn := input{aws.ToString(got[0].RoleArn), aws.ToString(got[0].RoleSessionName), got[0].ExternalId, got[0].DurationSeconds}
			if diff := cmp.Diff(want, gotIn); diff != "" {
				t.Errorf("AssumeRole input (-want +got):\n%s", diff)
			}
		})
	}
}

var validSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func TestSessionName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, runID, want string
	}{
		{"plain", "run-2026-11-26", "orgscan-run-2026-11-26"},
		{"allowed punctuation kept", "a_b+c=d,e.f@g-h", "orgscan-a_b+c=d,e.f@g-h"},
		{"spaces and slashes", "my run/2026 11/26", "orgscan-my-run-2026-11-26"},
		{"other unsafe characters", `a:b*c?d"e\f`, "orgscan-a-b-c-d-e-f"},
		{"non-ASCII letters are one dash each", "café", "orgscan-caf-"},
		{"exactly 64", strings.Repeat("x", 56), "orgscan-" + strings.Repeat("x", 56)},
		{"long is cut to 64", strings.Repeat("0123456789", 10), "orgscan-" + strings.Repeat("0123456789", 5) + "012345"},
		{"long and unsafe", strings.Repeat("a b/", 30), "orgscan-" + strings.Repeat("a-b-", 14)},
		{"empty", "", "orgscan-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := assume.SessionName(tt.runID)
			if got != tt.want {
				t.Errorf("SessionName(%q) = %q, want %q", tt.runID, got, tt.want)
			}
			if !validSessionName.MatchString(got) {
				t.Errorf("SessionName(%q) = %q is not a valid STS role session name", tt.runID, got)
			}
		})
	}
}

func TestAssumeRoleFactoryRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	// The cache renews when 5-10 minutes (10 minutes minus up to 50% jitter)
	// remain: inside 5 minutes it always renews, beyond 10 it never does.
	tests := []struct {
		ttl       time.Duration
		wantCalls int // for two sequential Clients calls
	}{
		{2 * time.Minute, 2},
		{4 * time.Minute, 2},
		{11 * time.Minute, 1},
		{time.Hour, 1},
	}
	for _, tt := range tests {
		t.Run(tt.ttl.String(), func(t *testing.T) {
			t.Parallel()
			fake := &fakeSTS{ttl: tt.ttl}
			f := &assume.Factory{Base: baseConfig(), STS: fake}
			var got []checks.Clients
			for _, region := range []string{"us-east-1", "us-west-2"} {
				c, err := f.Clients(context.Background(), item("111111111111", region))
				if err != nil {
					t.Fatalf("Clients(%s): %v", region, err)
				}
				got = append(got, c)
			}
			if n := fake.callsFor(roleARN("111111111111")); n != tt.wantCalls {
				t.Errorf("AssumeRole calls = %d, want %d", n, tt.wantCalls)
			}
			// Checked after counting: retrieving through the clients goes
			// through the same cache and may renew short-lived credentials.
			for i, region := range []string{"us-east-1", "us-west-2"} {
				want := clientsInfo{Region: region, AccessKey: accessKeyFor(roleARN("111111111111"))}
				if diff := cmp.Diff(want, inspectClients(t, got[i])); diff != "" {
					t.Errorf("Clients(%s) (-want +got):\n%s", region, diff)
				}
			}
		})
	}
}

func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " from the fake", Fault: smithy.FaultClient}
}

func TestAssumeRoleFactoryErrors(t *testing.T) {
	t.Parallel()
	const (
		denied    = "111111111111"
		throttled = "222222222222"
		fine      = "333333333333"
	)
	tests := []struct {
		name     string
		code     string
		account  string
		attempts int // Clients calls, each for another region of the account
		// wantSTS is the AssumeRole calls after all attempts.
		wantSTS int
	}{
		{"AccessDenied is remembered", "AccessDenied", denied, 3, 1},
		{"InvalidClientTokenId is remembered", "InvalidClientTokenId", denied, 2, 1},
		{"AccessDeniedException is remembered", "AccessDeniedException", denied, 2, 1},
		{"RegionDisabledException is remembered", "RegionDisabledException", denied, 2, 1},
		{"Throttling is asked again", "Throttling", throttled, 3, 3},
		{"ExpiredToken is asked again", "ExpiredToken", throttled, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeSTS{fail: func(arn string, _ int) error {
				if arn == roleARN(tt.account) {
					return apiError(tt.code)
				}
				return nil
			}}
			f := &assume.Factory{Base: baseConfig(), STS: fake}
			for i := range tt.attempts {
				region := seventeenRegions[i]
				c, err := f.Clients(context.Background(), item(tt.account, region))
				if err == nil {
					t.Fatalf("attempt %d (%s): no error", i+1, region)
				}
				if c != (checks.Clients{}) {
					t.Errorf("attempt %d: clients returned with the error: %+v", i+1, c)
				}
				var api smithy.APIError
				if !errors.As(err, &api) {
					t.Fatalf("attempt %d: %v is not a smithy.APIError", i+1, err)
				}
				if api.ErrorCode() != tt.code {
					t.Errorf("attempt %d: error code = %q, want %q", i+1, api.ErrorCode(), tt.code)
				}
				if !strings.Contains(err.Error(), roleARN(tt.account)) {
					t.Errorf("attempt %d: error %q does not name the role %s", i+1, err, roleARN(tt.account))
				}
			}
			if got := fake.callsFor(roleARN(tt.account)); got != tt.wantSTS {
				t.Errorf("AssumeRole calls for the failing role = %d, want %d", got, tt.wantSTS)
			}
			// Another account is not affected by the failure.
			if _, err := f.Clients(context.Background(), item(fine, "us-east-1")); err != nil {
				t.Errorf("Clients for another account: %v", err)
			}
			if got := fake.callsFor(roleARN(fine)); got != 1 {
				t.Errorf("AssumeRole calls for another account = %d, want 1", got)
			}
		})
	}
}

func TestAssumeRoleFactoryTransientErrorThenSuccess(t *testing.T) {
	t.Parallel()
	fake := &fakeSTS{fail: func(_ string, n int) error {
		if n == 1 {
			return apiError("Throttling")
		}
		return nil
	}}
	f := &assume.Factory{Base: baseConfig(), STS: fake}
	if _, err := f.Clients(context.Background(), item("111111111111", "us-east-1")); err == nil {
		t.Fatal("first call: want the throttling error")
	}
	c, err := f.Clients(context.Background(), item("111111111111", "us-west-2"))
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	want := clientsInfo{Region: "us-west-2", AccessKey: accessKeyFor(roleARN("111111111111"))}
	if diff := cmp.Diff(want, inspectClients(t, c)); diff != "" {
		t.Errorf("clients (-want +got):\n%s", diff)
	}
	if got := fake.callsFor(roleARN("111111111111")); got != 2 {
		t.Errorf("AssumeRole calls = %d, want 2", got)
	}
}

func TestAssumeRoleFactoryNonAPIErrorNotRemembered(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp: connection reset by peer")
	fake := &fakeSTS{fail: func(string, int) error { return cause }}
	f := &assume.Factory{Base: baseConfig(), STS: fake}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		_, err := f.Clients(context.Background(), item("111111111111", region))
		if !errors.Is(err, cause) {
			t.Errorf("Clients(%s) = %v, want the network error", region, err)
		}
	}
	if got := fake.callsFor(roleARN("111111111111")); got != 2 {
		t.Errorf("AssumeRole calls = %d, want 2", got)
	}
}

func TestAssumeRoleFactoryRefusalSurvivesConcurrentCallers(t *testing.T) {
	t.Parallel()
	fake := &fakeSTS{fail: func(string, int) error { return apiError("AccessDenied") }}
	f := &assume.Factory{Base: baseConfig(), STS: fake}
	var wg sync.WaitGroup
	errs := make([]error, len(seventeenRegions))
	for i, r := range seventeenRegions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.Clients(context.Background(), item("111111111111", r))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
			t.Errorf("%s: err = %v, want AccessDenied", seventeenRegions[i], err)
		}
	}
	if got := fake.callsFor(roleARN("111111111111")); got != 1 {
		t.Errorf("AssumeRole calls = %d, want 1", got)
	}
}

func TestAssumeRoleFactoryBaseCredentialsWithoutRole(t *testing.T) {
	t.Parallel()
	fake := &fakeSTS{fail: func(arn string, _ int) error {
		return fmt.Errorf("STS must not be called (asked for %q)", arn)
	}}
	f := &assume.Factory{Base: baseConfig(), STS: fake}
	for _, region := range []string{"us-east-1", "eu-central-1", "ap-south-1"} {
		it := pipeline.WorkItem{RunID: "run-1", AccountID: "111111111111", Region: region}
		c, err := f.Clients(context.Background(), it)
		if err != nil {
			t.Fatalf("Clients(%s): %v", region, err)
		}
		want := clientsInfo{Region: region, AccessKey: "BASE"}
		if diff := cmp.Diff(want, inspectClients(t, c)); diff != "" {
			t.Errorf("Clients(%s) (-want +got):\n%s", region, diff)
		}
	}
	if got := fake.allCalls(); len(got) != 0 {
		t.Errorf("AssumeRole calls = %v, want none", got)
	}
}

// TestAssumeRoleFactoryStateDoesNotLeakAcrossRuns documents a bug: the
// collector Lambda (functions/collector/main.go) builds one
// AssumeRoleFactory at cold start and reuses it for every invocation of a
// warm container, i.e. for work items of different runs, but the factory
// keys its per-role state by RoleARN alone. So (1) an AccessDenied from one
// run is returned to later runs without asking STS again, even after the
// member role was fixed, and (2) later runs reuse the first run's session,
// so CloudTrail shows the wrong run ID in the role session name.
func TestAssumeRoleFactoryStateDoesNotLeakAcrossRuns(t *testing.T) {
	t.Parallel()
	arn := roleARN("111111111111")
	t.Run("refusal", func(t *testing.T) {
		t.Parallel()
		fake := &fakeSTS{fail: func(_ string, n int) error {
			if n == 1 {
				return apiError("AccessDenied") // fixed before run-2
			}
			return nil
		}}
		f := &assume.Factory{Base: baseConfig(), STS: fake}
		run1 := item("111111111111", "us-east-1")
		if _, err := f.Clients(context.Background(), run1); err == nil {
			t.Fatal("run-1: want AccessDenied")
		}
		run2 := run1
		run2.RunID = "run-2"
		if _, err := f.Clients(context.Background(), run2); err != nil {
			t.Errorf("run-2: %v (the refusal of run-1 was returned without asking STS)", err)
		}
		if got := fake.callsFor(arn); got != 2 {
			t.Errorf("AssumeRole calls = %d, want 2 (one per run)", got)
		}
	})
	t.Run("session name", func(t *testing.T) {
		t.Parallel()
		fake := &fakeSTS{}
		f := &assume.Factory{Base: baseConfig(), STS: fake}
		for _, run := range []string{"run-1", "run-2"} {
			it := item("111111111111", "us-east-1")
			it.RunID = run
			if _, err := f.Clients(context.Background(), it); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, in := range fake.recorded() {
			got = append(got, aws.ToString(in.RoleSessionName))
		}
		if diff := cmp.Diff([]string{"orgscan-run-1", "orgscan-run-2"}, got); diff != "" {
			t.Errorf("role session names (-want +got):\n%s", diff)
		}
	})
}

// stsHTTP answers every request with a canned AssumeRole response and
// records the hosts asked.
type stsHTTP struct {
	mu    sync.Mutex
	hosts []string
}

const assumeRoleXML = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleResult><Credentials><AccessKeyId>ASIADEFAULTSTS</AccessKeyId><SecretAccessKey>s</SecretAccessKey>
<SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/OrgScanRole/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`

func (h *stsHTTP) Do(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, req.URL.Host)
	h.mu.Unlock()
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": []string{"text/xml"}},
		Body:       io.NopCloser(strings.NewReader(assumeRoleXML)),
		Request:    req,
	}, nil
}

func TestAssumeRoleFactoryDefaultSTSClient(t *testing.T) {
	t.Parallel()
	h := &stsHTTP{}
	base := baseConfig()
	base.Region = "eu-west-1"
	base.HTTPClient = h
	f := &assume.Factory{Base: base}
	for _, region := range []string{"us-east-1", "ap-south-1"} {
		c, err := f.Clients(context.Background(), item("111111111111", region))
		if err != nil {
			t.Fatalf("Clients(%s): %v", region, err)
		}
		if diff := cmp.Diff(clientsInfo{Region: region, AccessKey: "ASIADEFAULTSTS"}, inspectClients(t, c)); diff != "" {
			t.Errorf("Clients(%s) (-want +got):\n%s", region, diff)
		}
	}
	if _, ok := f.STS.(*sts.Client); !ok {
		t.Errorf("STS = %T, want the default *sts.Client", f.STS)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if diff := cmp.Diff([]string{"sts.eu-west-1.amazonaws.com"}, h.hosts); diff != "" {
		t.Errorf("STS requests: one to the home region's endpoint (-want +got):\n%s", diff)
	}
}

func TestScanClients(t *testing.T) {
	t.Parallel()
	base := baseConfig()
	t.Run("base credentials", func(t *testing.T) {
		t.Parallel()
		got := inspectClients(t, assume.ScanClients(base, nil, "eu-west-3"))
		if diff := cmp.Diff(clientsInfo{Region: "eu-west-3", AccessKey: "BASE"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("given credentials", func(t *testing.T) {
		t.Parallel()
		creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "OTHER", SecretAccessKey: "s"}, nil
		})
		got := inspectClients(t, assume.ScanClients(base, creds, "sa-east-1"))
		if diff := cmp.Diff(clientsInfo{Region: "sa-east-1", AccessKey: "OTHER"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("base config is not modified", func(t *testing.T) {
		t.Parallel()
		b := baseConfig()
		_ = assume.ScanClients(b, aws.AnonymousCredentials{}, "sa-east-1")
		if b.Region != "us-east-1" {
			t.Errorf("base region changed to %q", b.Region)
		}
		creds, err := b.Credentials.Retrieve(context.Background())
		if err != nil || creds.AccessKeyID != "BASE" {
			t.Errorf("base credentials changed: %v %v", creds.AccessKeyID, err)
		}
	})
}
