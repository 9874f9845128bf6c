// Command aggregator is the Lambda function that merges a run's pair results
// and findings chunks into the run's findings, pair results and summary.
//
// Environment: ORGSCAN_BUCKET (required).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orgscan/orgscan/functions/internal/runtime"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

func main() {
	env := runtime.MustLoad(context.Background())
	h := pipeline.AggregateFunction{Aggregator: &pipeline.Aggregator{Blobs: env.Blobs, Clock: time.Now, Logger: env.Logger}}
	lambda.Start(h.Handle)
}
