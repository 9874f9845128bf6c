// Command aggregator is the Lambda function that merges a run's pair results
// and findings chunks into the latest state (DynamoDB), the run's history
// (Parquet in S3) and its summary.
//
// Environment: ORGSCAN_BUCKET and ORGSCAN_TABLE (required);
// ORGSCAN_NOTIFY_MIN_USD, the monthly cost from which a new finding is named
// in the run's EventBridge event (default 100); ORGSCAN_EVENT_BUS (default
// the account's default bus).
package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/orgscan/orgscan/functions/internal/runtime"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/notify"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/report"
	"github.com/orgscan/orgscan/pkg/store"
)

func main() {
	env := runtime.MustLoad(context.Background())
	table := os.Getenv("ORGSCAN_TABLE")
	if table == "" {
		env.Logger.Error("ORGSCAN_TABLE is not set")
		os.Exit(1)
	}
	minUSD := 100.0
	if v := os.Getenv("ORGSCAN_NOTIFY_MIN_USD"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			env.Logger.Error("ORGSCAN_NOTIFY_MIN_USD is not a number of dollars", "value", v)
			os.Exit(1)
		}
		minUSD = f
	}
	h := pipeline.AggregateFunction{Aggregator: &pipeline.Aggregator{
		Blobs:        env.Blobs,
		History:      history.Parquet{},
		State:        &store.DynamoState{Client: dynamodb.NewFromConfig(env.Config), Table: table},
		Clock:        time.Now,
		Logger:       env.Logger,
		Reporter:     report.HTML{},
		Notifier:     notify.EventBridge{Client: eventbridge.NewFromConfig(env.Config), Bus: os.Getenv("ORGSCAN_EVENT_BUS")},
		NotifyMinUSD: minUSD,
	}}
	lambda.Start(h.Handle)
}
