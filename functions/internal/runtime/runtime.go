// Package runtime builds what every orgscan Lambda function needs at cold
// start: AWS configuration, the S3 blob store and a JSON logger.
package runtime

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/store"
)

// Env is a function's shared dependencies.
type Env struct {
	Config aws.Config
	Blobs  store.Blobs
	Logger *slog.Logger
}

// MustLoad reads the configuration or exits: a function without its bucket
// or credentials cannot do anything useful, and exiting makes the failure
// an init error that Lambda reports on the first invocation.
func MustLoad(ctx context.Context) Env {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	bucket := os.Getenv("ORGSCAN_BUCKET")
	if bucket == "" {
		logger.Error("ORGSCAN_BUCKET is not set")
		os.Exit(1)
	}
	if p := os.Getenv("ORGSCAN_PREFIX"); p != "" {
		// The state machine reads and writes the bucket's keys without a
		// prefix (ItemReader, ResultWriter, the IAM grants): a prefix here
		// would break every execution.
		logger.Error("ORGSCAN_PREFIX is not supported: the functions use the bucket's root (give each deployment its own bucket)", "value", p)
		os.Exit(1)
	}
	cfg, err := awsx.LambdaConfig(awsx.Options{})
	if err != nil {
		logger.Error("cannot load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	return Env{Config: cfg, Blobs: store.S3{Client: awsx.NewS3(cfg), Bucket: bucket}, Logger: logger}
}
