// Command dispatcher is the Lambda function that validates a run request,
// discovers the organization's accounts and regions and writes the run's
// manifest to S3.
//
// Environment: ORGSCAN_BUCKET (required), ORGSCAN_ROLE_NAME (role assumed
// in member accounts when the request names none), ORGSCAN_DISCOVERY
// ("organizations", the default, or "self" for the function's own account),
// ORGSCAN_COLLECTOR_CONCURRENCY (the collector's reserved concurrency, which
// caps the Distributed Map's; unset or 0: unreserved, and the cap is the
// account's unreserved concurrency, read with lambda:GetAccountSettings at
// each run).
package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgscan/orgscan/functions/internal/runtime"
	"github.com/orgscan/orgscan/pkg/awsx/discovery"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

func main() {
	ctx := context.Background()
	env := runtime.MustLoad(ctx)
	var disc pipeline.Discovery = &discovery.Organization{Org: organizations.NewFromConfig(env.Config), EC2: ec2.NewFromConfig(env.Config)}
	if os.Getenv("ORGSCAN_DISCOVERY") == "self" {
		self, err := discovery.CallerAccount(ctx, sts.NewFromConfig(env.Config))
		if err != nil {
			env.Logger.Error("cannot identify the function's account", "error", err.Error())
			os.Exit(1)
		}
		disc = &discovery.AccountList{List: []pipeline.Account{self}, EC2: ec2.NewFromConfig(env.Config)}
	}
	collectors := 0
	if v := os.Getenv("ORGSCAN_COLLECTOR_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			env.Logger.Error("ORGSCAN_COLLECTOR_CONCURRENCY is not a non-negative integer", "value", v)
			os.Exit(1)
		}
		collectors = n
	}
	h := pipeline.DispatchFunction{Dispatcher: &pipeline.Dispatcher{
		Discovery: disc, Blobs: env.Blobs, Clock: time.Now, Logger: env.Logger,
		DefaultRoleName:      os.Getenv("ORGSCAN_ROLE_NAME"),
		CollectorConcurrency: collectors,
	}}
	if collectors == 0 {
		lc := awslambda.NewFromConfig(env.Config)
		h.Dispatcher.CollectorCapacity = func(ctx context.Context) (int, error) {
			out, err := lc.GetAccountSettings(ctx, &awslambda.GetAccountSettingsInput{})
			if err != nil {
				return 0, err
			}
			if out.AccountLimit == nil || out.AccountLimit.UnreservedConcurrentExecutions == nil {
				return 0, nil
			}
			return int(*out.AccountLimit.UnreservedConcurrentExecutions), nil
		}
	}
	lambda.Start(h.Handle)
}
