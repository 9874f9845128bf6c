// Command collector is the Lambda function that scans a batch of account ×
// region pairs: it assumes the member role once per account, runs the
// checks and writes each pair's findings to S3.
//
// Environment: ORGSCAN_BUCKET (required), ORGSCAN_EXTERNAL_ID (the
// sts:ExternalId the member roles require), ORGSCAN_PAIR_CONCURRENCY (pairs
// of a batch scanned at once, default 4).
package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orgscan/orgscan/functions/internal/runtime"
	"github.com/orgscan/orgscan/pkg/awsx/assume"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
)

func main() {
	env := runtime.MustLoad(context.Background())
	n, _ := strconv.Atoi(os.Getenv("ORGSCAN_PAIR_CONCURRENCY"))
	h := pipeline.CollectFunction{
		Collector: &collect.Collector{
			Clients:     &assume.Factory{Base: env.Config, ExternalID: os.Getenv("ORGSCAN_EXTERNAL_ID")},
			Blobs:       env.Blobs,
			Clock:       time.Now,
			Prices:      pricing.Default(),
			Logger:      env.Logger,
			Concurrency: n,
		},
		// Results too large to return go to runs/<run>/results/.
		Blobs: env.Blobs,
		Clock: time.Now,
	}
	lambda.Start(h.Handle)
}
