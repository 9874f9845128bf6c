package awsx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgscan/orgscan/pkg/awsx"
)

// recorder is an endpoint that remembers the requests it was sent.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Clone(context.Background()))
		r.mu.Unlock()
		w.WriteHeader(http.StatusForbidden) // any answer will do: the request is what is checked
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.seen...)
}

// In a function, the region, the role's credentials and endpoint overrides
// come from the environment Lambda sets, and mean what they mean to the
// SDK's LoadDefaultConfig: the general AWS_ENDPOINT_URL and a service's own
// AWS_ENDPOINT_URL_<SERVICE> both apply, the session token is sent, requests
// are signed for AWS_REGION.
func TestLambdaConfigReadsTheFunctionEnvironment(t *testing.T) {
	isolateAWSEnv(t)
	general, s3only := newRecorder(t), newRecorder(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLAMBDAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ENDPOINT_URL", general.URL)
	t.Setenv("AWS_ENDPOINT_URL_S3", s3only.URL)

	cfg, err := awsx.LambdaConfig(awsx.Options{Retry: awsx.RetryOptions{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || !awsx.CustomEndpoint(cfg) {
		t.Fatalf("region %q, custom endpoint %v", cfg.Region, awsx.CustomEndpoint(cfg))
	}
	ctx := context.Background()
	_, _ = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	_, _ = awsx.NewS3(cfg).ListBuckets(ctx, &s3.ListBucketsInput{})

	for _, tc := range []struct {
		name string
		at   *recorder
	}{{"sts", general}, {"s3", s3only}} {
		reqs := tc.at.requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests at its endpoint, want 1", tc.name, len(reqs))
		}
		auth := reqs[0].Header.Get("Authorization")
		if !strings.Contains(auth, "Credential=AKIDLAMBDAEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/"+tc.name+"/aws4_request") {
			t.Errorf("%s: Authorization %q is not signed with the environment's key for eu-west-1", tc.name, auth)
		}
		if got := reqs[0].Header.Get("X-Amz-Security-Token"); got != "session-token" {
			t.Errorf("%s: session token %q", tc.name, got)
		}
	}
}

func TestLambdaConfigDefaultsAndErrors(t *testing.T) {
	isolateAWSEnv(t)
	if _, err := awsx.LambdaConfig(awsx.Options{}); !errors.As(err, new(*awsx.NoCredentialsError)) {
		t.Fatalf("no credentials: %v, want *NoCredentialsError", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLAMBDAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	cfg, err := awsx.LambdaConfig(awsx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != awsx.DefaultRegion || cfg.BaseEndpoint != nil || awsx.CustomEndpoint(cfg) {
		t.Errorf("region %q, base endpoint %v, custom %v", cfg.Region, cfg.BaseEndpoint, awsx.CustomEndpoint(cfg))
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDLAMBDAEXAMPLE" || creds.SessionToken != "" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
}
