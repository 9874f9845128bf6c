// Command aggregator is the Lambda function that merges a run's pair results
// and findings chunks into the latest state (DynamoDB), the run's history
// (Parquet in S3) and its summary.
//
// Environment: ORGSCAN_BUCKET and ORGSCAN_TABLE (required).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orgscan/orgscan/functions/internal/runtime"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
)

func main() {
	env := runtime.MustLoad(context.Background())
	table := os.Getenv("ORGSCAN_TABLE")
	if table == "" {
		env.Logger.Error("ORGSCAN_TABLE is not set")
		os.Exit(1)
	}
	h := pipeline.AggregateFunction{Aggregator: &pipeline.Aggregator{
		Blobs:   env.Blobs,
		History: history.Parquet{},
		State:   &store.DynamoState{Client: dynamodb.NewFromConfig(env.Config), Table: table},
		Clock:   time.Now,
		Logger:  env.Logger,
	}}
	lambda.Start(h.Handle)
}
