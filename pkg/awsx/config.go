package awsx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
)

// DefaultRegion is the home region (STS, Organizations) when neither the
// profile nor the environment names one.
const DefaultRegion = "us-east-1"

// Options tune how AWS configuration is loaded.
type Options struct {
	Profile string // shared config profile (SSO included); empty: the default chain
	Region  string // home region; empty: from the profile/environment, else DefaultRegion
	Retry   RetryOptions
	// HTTPClient replaces the SDK's HTTP client (tests inject faults here).
	HTTPClient aws.HTTPClient
	// Logger receives the SDK's own warnings; nil discards them (orgscan
	// reports errors itself).
	Logger logging.Logger
}

// LoadConfig loads credentials and settings the standard way — environment,
// shared config and credentials files (profiles, SSO), web identity,
// container and instance roles, or the Lambda function's role — with
// orgscan's retryer. The SDK's AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> variables are honoured by the SDK itself.
func LoadConfig(ctx context.Context, o Options) (aws.Config, error) {
	logger := o.Logger
	if logger == nil {
		logger = logging.Nop{}
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return NewRetryer(o.Retry) }),
		config.WithLogger(logger),
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return cfg, nil
}

// CustomEndpoint reports whether requests go to an endpoint other than AWS's
// own (an emulator such as moto, or a VPC endpoint override).
func CustomEndpoint(cfg aws.Config) bool {
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return false
	}
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return true
	}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_ENDPOINT_URL_") && v != "" {
			return true
		}
	}
	return false
}

// NewS3 returns an S3 client, path-style when the endpoint is custom
// (emulators do not serve bucket subdomains).
func NewS3(cfg aws.Config) *s3.Client {
	custom := CustomEndpoint(cfg)
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = custom
		// Objects orgscan reads back were written without a checksum; the
		// SDK's note about skipping validation is noise in a function's log.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// SSOLoginError says an SSO session has expired and how to renew it.
type SSOLoginError struct {
	Profile string
	Err     error
}

func (e *SSOLoginError) Error() string {
	cmd := "aws sso login"
	if e.Profile != "" {
		cmd += " --profile " + e.Profile
	}
	return fmt.Sprintf("the AWS SSO session has expired or is missing: run `%s` and try again", cmd)
}

func (e *SSOLoginError) Unwrap() error { return e.Err }

// NoCredentialsError says no credentials were found anywhere in the chain.
type NoCredentialsError struct{ Err error }

func (e *NoCredentialsError) Error() string {
	return "no AWS credentials found: use --profile (or AWS_PROFILE), `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
}

func (e *NoCredentialsError) Unwrap() error { return e.Err }

// ExplainCredentials turns an expired SSO token into an *SSOLoginError and
// an empty credential chain into a *NoCredentialsError; other errors are
// returned as they are.
func ExplainCredentials(err error, profile string) error {
	if err == nil {
		return nil
	}
	var tok *ssocreds.InvalidTokenError
	msg := err.Error()
	switch {
	case errors.As(err, &tok), strings.Contains(msg, "refresh cached SSO token failed"), strings.Contains(msg, "SSO session has expired"),
		strings.Contains(msg, "failed to read cached SSO token"):
		return &SSOLoginError{Profile: profile, Err: err}
	case strings.Contains(msg, "no EC2 IMDS role found"), strings.Contains(msg, "failed to retrieve credentials"), strings.Contains(msg, "no valid providers in chain"):
		return &NoCredentialsError{Err: err}
	}
	return err
}
