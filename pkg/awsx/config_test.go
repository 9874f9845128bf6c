package awsx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/awsx/assume"
)

// opaqueError wraps err under a message of its own.
type opaqueError struct {
	msg string
	err error
}

func (e opaqueError) Error() string { return e.msg }
func (e opaqueError) Unwrap() error { return e.err }

func TestExplainCredentials(t *testing.T) {
	t.Parallel()
	ssoErr := fmt.Errorf("load AWS configuration: %w", fmt.Errorf("failed to refresh cached credentials, %w", &ssocreds.InvalidTokenError{Err: errors.New("token expired")}))
	imdsErr := fmt.Errorf("operation error STS: GetCallerIdentity, get identity: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, %w", errors.New("exceeded maximum number of attempts"))
	chainErr := errors.New("failed to refresh cached credentials, no valid providers in chain")
	ssoRefreshErr := errors.New("get identity: refresh cached SSO token failed, unable to refresh SSO token")
	other := &smithy.GenericAPIError{Code: "AccessDenied", Message: "not allowed"}
	otherWrapped := fmt.Errorf("organizations:ListAccounts: %w", other)
	// The token error found by type alone, its own message hidden.
	ssoHidden := opaqueError{msg: "credential provider failed", err: &ssocreds.InvalidTokenError{}}

	tests := []struct {
		name    string
		err     error
		profile string
		// want is "sso", "none", "same" (returned unchanged) or "nil".
		want       string
		wantInMsg  string
		wantNotMsg string
	}{
		{name: "nil", err: nil, want: "nil"},
		{name: "SSO token with profile", err: ssoErr, profile: "dev", want: "sso", wantInMsg: "`aws sso login --profile dev`"},
		{name: "SSO token without profile", err: ssoErr, want: "sso", wantInMsg: "`aws sso login`", wantNotMsg: "--profile"},
		{name: "SSO token by type only", err: ssoHidden, profile: "dev", want: "sso", wantInMsg: "aws sso login --profile dev"},
		{name: "SSO refresh message", err: ssoRefreshErr, profile: "prod", want: "sso", wantInMsg: "aws sso login --profile prod"},
		{name: "no IMDS role", err: imdsErr, profile: "dev", want: "none", wantInMsg: "no AWS credentials found"},
		{name: "empty chain", err: chainErr, want: "none", wantInMsg: "no AWS credentials found"},
		{name: "API error", err: other, profile: "dev", want: "same"},
		{name: "wrapped API error", err: otherWrapped, profile: "dev", want: "same"},
		{name: "plain error", err: errors.New("disk full"), want: "same"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := awsx.ExplainCredentials(tt.err, tt.profile)
			switch tt.want {
			case "nil":
				if got != nil {
					t.Fatalf("ExplainCredentials(nil) = %v, want nil", got)
				}
				return
			case "same":
				if got != tt.err {
					t.Fatalf("ExplainCredentials(%v) = %#v, want the same error value", tt.err, got)
				}
				return
			case "sso":
				var sso *awsx.SSOLoginError
				if !errors.As(got, &sso) {
					t.Fatalf("ExplainCredentials = %T(%v), want *awsx.SSOLoginError", got, got)
				}
				if sso.Profile != tt.profile {
					t.Errorf("Profile = %q, want %q", sso.Profile, tt.profile)
				}
			case "none":
				var none *awsx.NoCredentialsError
				if !errors.As(got, &none) {
					t.Fatalf("ExplainCredentials = %T(%v), want *awsx.NoCredentialsError", got, got)
				}
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("explained error does not unwrap to the original")
			}
			if msg := got.Error(); !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantInMsg)
			} else if tt.wantNotMsg != "" && strings.Contains(msg, tt.wantNotMsg) {
				t.Errorf("message %q contains %q", msg, tt.wantNotMsg)
			}
		})
	}
	t.Run("SSO unwraps to the token error", func(t *testing.T) {
		t.Parallel()
		var tok *ssocreds.InvalidTokenError
		if !errors.As(awsx.ExplainCredentials(ssoErr, "dev"), &tok) {
			t.Error("the *ssocreds.InvalidTokenError is not reachable through the explained error")
		}
	})
}

// isolateAWSEnv unsets every AWS_* variable for the test (t.Setenv restores
// them afterwards) and points the shared files at empty temporary files.
// Tests using it cannot run in parallel.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	for _, f := range []struct{ env, name string }{{"AWS_CONFIG_FILE", "config"}, {"AWS_SHARED_CREDENTIALS_FILE", "credentials"}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(f.env, p)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestCustomEndpoint(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		cfg  aws.Config
		want bool
	}{
		{name: "zero config, no variables", want: false},
		{name: "empty base endpoint", cfg: aws.Config{BaseEndpoint: aws.String("")}, want: false},
		{name: "base endpoint", cfg: aws.Config{BaseEndpoint: aws.String("http://localhost:5000")}, want: true},
		{name: "service endpoint variable", env: map[string]string{"AWS_ENDPOINT_URL_EC2": "http://localhost:5000"}, want: true},
		{name: "other service endpoint variable", env: map[string]string{"AWS_ENDPOINT_URL_CLOUDWATCH": "http://localhost:5000"}, want: true},
		{name: "unrelated AWS variable", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_ENDPOINT": "x"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWSEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if got := awsx.CustomEndpoint(tt.cfg); got != tt.want {
				t.Errorf("CustomEndpoint = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewS3AndCloudWatch(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		cfg    aws.Config
		custom bool
	}{
		{name: "AWS", cfg: aws.Config{Region: "us-east-1"}},
		{name: "base endpoint", cfg: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://localhost:5000")}, custom: true},
		{name: "service variable", env: map[string]string{"AWS_ENDPOINT_URL_S3": "http://localhost:5000"}, cfg: aws.Config{Region: "us-east-1"}, custom: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWSEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o := awsx.NewS3(tt.cfg).Options()
			if o.UsePathStyle != tt.custom {
				t.Errorf("S3 UsePathStyle = %v, want %v", o.UsePathStyle, tt.custom)
			}
			if !o.DisableLogOutputChecksumValidationSkipped {
				t.Error("S3 DisableLogOutputChecksumValidationSkipped = false")
			}
			protocol := fmt.Sprintf("%T", assume.NewCloudWatch(tt.cfg).Options().Protocol)
			if got := strings.Contains(protocol, "awsjson"); got != tt.custom {
				t.Errorf("CloudWatch protocol = %s; awsJson1_0 = %v, want %v", protocol, got, tt.custom)
			}
		})
	}
}

func TestNewRetryer(t *testing.T) {
	t.Parallel()
	throttling := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}

	t.Run("max attempts", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct{ opt, want int }{{0, awsx.DefaultMaxAttempts}, {-1, awsx.DefaultMaxAttempts}, {1, 1}, {3, 3}, {12, 12}} {
			if got := awsx.NewRetryer(awsx.RetryOptions{MaxAttempts: tt.opt}).MaxAttempts(); got != tt.want {
				t.Errorf("MaxAttempts with option %d = %d, want %d", tt.opt, got, tt.want)
			}
		}
		if awsx.DefaultMaxAttempts != 8 {
			t.Errorf("DefaultMaxAttempts = %d, want 8", awsx.DefaultMaxAttempts)
		}
	})

	t.Run("no backoff", func(t *testing.T) {
		t.Parallel()
		r := awsx.NewRetryer(awsx.RetryOptions{NoBackoff: true})
		for attempt := 1; attempt <= 10; attempt++ {
			d, err := r.RetryDelay(attempt, throttling)
			if err != nil || d != 0 {
				t.Errorf("RetryDelay(%d) = %v, %v; want 0, nil", attempt, d, err)
			}
		}
	})

	t.Run("backoff is capped", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			opt, cap time.Duration
		}{{0, awsx.DefaultMaxBackoff}, {50 * time.Millisecond, 50 * time.Millisecond}} {
			r := awsx.NewRetryer(awsx.RetryOptions{MaxBackoff: tt.opt})
			for attempt := 1; attempt <= 30; attempt++ {
				d, err := r.RetryDelay(attempt, throttling)
				if err != nil {
					t.Fatalf("RetryDelay(%d): %v", attempt, err)
				}
				if d < 0 || d > tt.cap {
					t.Errorf("MaxBackoff %v: RetryDelay(%d) = %v, want within [0, %v]", tt.opt, attempt, d, tt.cap)
				}
			}
		}
	})

	t.Run("retryable", func(t *testing.T) {
		t.Parallel()
		r := awsx.NewRetryer(awsx.RetryOptions{})
		for _, tt := range []struct {
			err  error
			want bool
		}{
			{&smithy.GenericAPIError{Code: "Throttling"}, true},
			{&smithy.GenericAPIError{Code: "RequestLimitExceeded"}, true},
			{&smithy.GenericAPIError{Code: "ThrottlingException"}, true},
			{fmt.Errorf("wrapped: %w", &smithy.GenericAPIError{Code: "Throttling"}), true},
			{&smithy.GenericAPIError{Code: "AccessDenied"}, false},
			{&smithy.GenericAPIError{Code: "UnauthorizedOperation"}, false},
			{context.Canceled, false},
		} {
			if got := r.IsErrorRetryable(tt.err); got != tt.want {
				t.Errorf("IsErrorRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		}
	})

	t.Run("retry quota disabled", func(t *testing.T) {
		t.Parallel()
		r := awsx.NewRetryer(awsx.RetryOptions{})
		for i := range 1000 {
			release, err := r.GetRetryToken(context.Background(), throttling)
			if err != nil {
				t.Fatalf("GetRetryToken #%d: %v", i+1, err)
			}
			// A failed retry keeps its cost: release with the error.
			if err := release(throttling); err != nil {
				t.Fatalf("release #%d: %v", i+1, err)
			}
		}
	})

	t.Run("control: the SDK default quota does drain", func(t *testing.T) {
		t.Parallel()
		// Proves the quota test above can fail: the standard retryer's
		// token bucket refuses throttled retries well before 1000.
		r := retry.NewStandard()
		for range 1000 {
			release, err := r.GetRetryToken(context.Background(), throttling)
			if err != nil {
				return
			}
			_ = release(throttling)
		}
		t.Error("the SDK's default retryer never refused a retry token; the quota test proves nothing")
	})
}

type nopHTTPClient struct{}

func (nopHTTPClient) Do(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in unit tests")
}

func TestLoadConfig(t *testing.T) {
	staticCreds := func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	}
	writeConfig := func(t *testing.T, body string) {
		if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// An explicit profile skips the environment credentials: the profiles
	// carry their own.
	const profiles = "[profile dev]\nregion = ap-southeast-2\naws_access_key_id = AKIDTEST\naws_secret_access_key = secret\n\n" +
		"[profile noregion]\noutput = json\naws_access_key_id = AKIDTEST\naws_secret_access_key = secret\n"

	tests := []struct {
		name       string
		setup      func(t *testing.T)
		opts       awsx.Options
		wantRegion string
	}{
		{name: "defaults", wantRegion: awsx.DefaultRegion},
		{name: "option region", opts: awsx.Options{Region: "eu-west-1"}, wantRegion: "eu-west-1"},
		{name: "environment region", setup: func(t *testing.T) { t.Setenv("AWS_REGION", "ca-central-1") }, wantRegion: "ca-central-1"},
		{name: "option beats environment", setup: func(t *testing.T) { t.Setenv("AWS_REGION", "ca-central-1") },
			opts: awsx.Options{Region: "eu-west-1"}, wantRegion: "eu-west-1"},
		{name: "profile region", setup: func(t *testing.T) { writeConfig(t, profiles) },
			opts: awsx.Options{Profile: "dev"}, wantRegion: "ap-southeast-2"},
		{name: "profile without region", setup: func(t *testing.T) { writeConfig(t, profiles) },
			opts: awsx.Options{Profile: "noregion"}, wantRegion: awsx.DefaultRegion},
		{name: "option beats profile", setup: func(t *testing.T) { writeConfig(t, profiles) },
			opts: awsx.Options{Profile: "dev", Region: "eu-west-1"}, wantRegion: "eu-west-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWSEnv(t)
			staticCreds(t)
			if tt.setup != nil {
				tt.setup(t)
			}
			cfg, err := awsx.LoadConfig(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.wantRegion {
				t.Errorf("Region = %q, want %q", cfg.Region, tt.wantRegion)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || creds.AccessKeyID != "AKIDTEST" {
				t.Errorf("credentials = %q, %v; want the environment's AKIDTEST", creds.AccessKeyID, err)
			}
			if cfg.Logger != (logging.Nop{}) {
				t.Errorf("Logger = %#v, want logging.Nop{}", cfg.Logger)
			}
			if cfg.Retryer == nil {
				t.Fatal("no retryer")
			}
			if got := cfg.Retryer().MaxAttempts(); got != awsx.DefaultMaxAttempts {
				t.Errorf("retryer MaxAttempts = %d, want %d", got, awsx.DefaultMaxAttempts)
			}
		})
	}

	t.Run("retry, HTTP client and logger options", func(t *testing.T) {
		isolateAWSEnv(t)
		staticCreds(t)
		logger := logging.NewStandardLogger(&strings.Builder{})
		cfg, err := awsx.LoadConfig(context.Background(), awsx.Options{
			Retry:      awsx.RetryOptions{MaxAttempts: 3, NoBackoff: true},
			HTTPClient: nopHTTPClient{},
			Logger:     logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		r := cfg.Retryer()
		if r.MaxAttempts() != 3 {
			t.Errorf("retryer MaxAttempts = %d, want 3", r.MaxAttempts())
		}
		if d, _ := r.RetryDelay(5, errors.New("x")); d != 0 {
			t.Errorf("retryer RetryDelay = %v, want 0 (NoBackoff)", d)
		}
		if _, ok := cfg.HTTPClient.(nopHTTPClient); !ok {
			t.Errorf("HTTPClient = %T, want the injected client", cfg.HTTPClient)
		}
		if cfg.Logger != logger {
			t.Errorf("Logger = %#v, want the injected logger", cfg.Logger)
		}
	})

	t.Run("global endpoint variable makes a custom endpoint", func(t *testing.T) {
		isolateAWSEnv(t)
		staticCreds(t)
		t.Setenv("AWS_ENDPOINT_URL", "http://localhost:5000")
		cfg, err := awsx.LoadConfig(context.Background(), awsx.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(cfg.BaseEndpoint); got != "http://localhost:5000" {
			t.Errorf("BaseEndpoint = %q", got)
		}
		if !awsx.CustomEndpoint(cfg) {
			t.Error("CustomEndpoint = false with AWS_ENDPOINT_URL set")
		}
	})

	t.Run("unknown profile", func(t *testing.T) {
		isolateAWSEnv(t)
		staticCreds(t)
		_, err := awsx.LoadConfig(context.Background(), awsx.Options{Profile: "missing"})
		if err == nil {
			t.Fatal("no error for a profile that does not exist")
		}
		if !strings.HasPrefix(err.Error(), "load AWS configuration: ") || !strings.Contains(err.Error(), "missing") {
			t.Errorf("error %q: want the load prefix and the profile name", err)
		}
	})
}
