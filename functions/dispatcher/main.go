// Command dispatcher is the Lambda function that validates a run request,
// discovers the organization's accounts and regions and writes the run's
// manifest to S3.
//
// Environment: ORGSCAN_BUCKET (required), ORGSCAN_ROLE_NAME (role assumed
// in member accounts when the request names none), ORGSCAN_DISCOVERY
// ("organizations", the default, or "self" for the function's own account).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
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
	h := pipeline.DispatchFunction{Dispatcher: &pipeline.Dispatcher{
		Discovery: disc, Blobs: env.Blobs, Clock: time.Now, Logger: env.Logger,
		DefaultRoleName: os.Getenv("ORGSCAN_ROLE_NAME"),
	}}
	lambda.Start(h.Handle)
}
