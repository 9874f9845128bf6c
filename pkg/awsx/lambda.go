package awsx

import (
	"cmp"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// LambdaConfig is the configuration of code running as a Lambda function.
// Lambda always gives a function its region and its execution role's
// credentials in the environment (AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so this reads only the
// environment — with the SDK's own reader, config.NewEnvConfig, so
// AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>,
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS and the other AWS_* settings mean what
// they mean to LoadDefaultConfig. It leaves out LoadDefaultConfig's shared
// files, SSO, web identity, container and instance-metadata providers, which
// a function never uses and which add about 1 MB to each function's binary.
// Profile of o is not used.
func LambdaConfig(o Options) (aws.Config, error) {
	env, err := config.NewEnvConfig()
	if err != nil {
		return aws.Config{}, fmt.Errorf("read AWS settings from the environment: %w", err)
	}
	if !env.Credentials.HasKeys() {
		return aws.Config{}, &NoCredentialsError{Err: fmt.Errorf("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")}
	}
	logger := o.Logger
	if logger == nil {
		logger = logging.Nop{}
	}
	cfg := aws.Config{
		Region:        cmp.Or(o.Region, env.Region, DefaultRegion),
		Credentials:   aws.NewCredentialsCache(credentials.StaticCredentialsProvider{Value: env.Credentials}),
		Retryer:       func() aws.Retryer { return NewRetryer(o.Retry) },
		Logger:        logger,
		ConfigSources: []any{env},
		AppID:         env.AppID,

		RequestChecksumCalculation: env.RequestChecksumCalculation,
		ResponseChecksumValidation: env.ResponseChecksumValidation,
		AccountIDEndpointMode:      env.AccountIDEndpointMode,
	}
	if env.BaseEndpoint != "" && (env.IgnoreConfiguredEndpoints == nil || !*env.IgnoreConfiguredEndpoints) {
		cfg.BaseEndpoint = aws.String(env.BaseEndpoint)
	}
	if o.HTTPClient != nil {
		cfg.HTTPClient = o.HTTPClient
	}
	return cfg, nil
}
