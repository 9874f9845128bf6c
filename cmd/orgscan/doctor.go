package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/schollz/progressbar/v3"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/deployconfig"
	"github.com/orgscan/orgscan/pkg/doctor"
)

// doctorFailedError ends `orgscan doctor` with exit 1 when it found
// failures (they are on stdout already).
type doctorFailedError struct{ failures int }

func (e *doctorFailedError) Error() string {
	return fmt.Sprintf("the deployment is not ready: %d %s", e.failures, plural(e.failures, "failure"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// doctor checks a deployment against its configuration, read-only: exit 0
// when nothing fails (warnings allowed), 1 on a failure, 2 on bad input.
func (a *App) doctor(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("orgscan doctor", flag.ContinueOnError)
	cfgFile := fs.String("config", "", "deployment configuration (infra/cdk/deploy.yaml)")
	profile := fs.String("profile", "", "AWS shared-config profile of the pipeline account (SSO profiles included)")
	region := fs.String("region", "", "the pipeline's region (default: the profile's or environment's)")
	stack := fs.String("stack", deployconfig.PipelineStackName, "the pipeline stack")
	concurrency := fs.Int("concurrency", doctor.DefaultConcurrency, "accounts whose member role is checked at once")
	jsonOut := fs.Bool("json", false, "write the report as one JSON object")
	beforeDeploy := fs.Bool("before-deploy", false, "check only what a deployment needs (the organization, the targets, the collector's reservation against the account's Lambda quota); make deploy runs it")
	if err := a.parseFlags(fs, args, "Usage: orgscan doctor --config infra/cdk/deploy.yaml [--profile P] [--region R] [--stack S] [--concurrency N] [--json] [--before-deploy]"); err != nil {
		return err
	}
	if *cfgFile == "" {
		return usagef("--config: give the deployment configuration (infra/cdk/deploy.yaml)")
	}
	if *concurrency < 1 || *concurrency > maxConcurrency {
		return usagef("--concurrency %d: must be 1..%d", *concurrency, maxConcurrency)
	}
	if *stack == "" {
		return usagef("--stack: give the pipeline stack's name")
	}
	cfg, err := deployconfig.Load(*cfgFile)
	if err != nil {
		return usagef("%v", err)
	}
	awsCfg, err := awsx.LoadConfig(ctx, awsx.Options{Profile: *profile, Region: *region})
	if err != nil {
		return awsx.ExplainCredentials(err, *profile)
	}
	d := newDoctor(awsCfg, cfg)
	d.Stack, d.Concurrency, d.BeforeDeploy = *stack, *concurrency, *beforeDeploy

	var bar *progressbar.ProgressBar
	if a.StderrIsTTY {
		d.Progress = func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(a.Stderr), progressbar.OptionSetDescription("checking member roles"),
					progressbar.OptionShowCount(), progressbar.OptionSetItsString("accounts"),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
			}
			_ = bar.Set(done)
		}
	}
	rep, err := d.Run(ctx)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return awsx.ExplainCredentials(err, *profile)
	}
	return a.writeDoctorReport(rep, *jsonOut)
}

// writeDoctorReport writes the report to stdout and turns failures into
// exit 1.
func (a *App) writeDoctorReport(rep doctor.Report, jsonOut bool) error {
	if jsonOut {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := doctor.WriteText(a.Stdout, rep); err != nil {
		return err
	}
	if rep.Failures > 0 {
		return &doctorFailedError{failures: rep.Failures}
	}
	return nil
}

// newDoctor wires the doctor's clients: the pipeline account's, the doctor
// role's STS, and each member account's from its member role's credentials.
func newDoctor(awsCfg aws.Config, cfg deployconfig.Config) *doctor.Doctor {
	return &doctor.Doctor{
		Config:         cfg,
		Region:         awsCfg.Region,
		STS:            sts.NewFromConfig(awsCfg),
		Organizations:  organizations.NewFromConfig(awsCfg),
		CloudFormation: cloudformation.NewFromConfig(awsCfg),
		S3:             awsx.NewS3(awsCfg),
		DynamoDB:       dynamodb.NewFromConfig(awsCfg),
		SFN:            sfn.NewFromConfig(awsCfg),
		Scheduler:      scheduler.NewFromConfig(awsCfg),
		SSM:            ssm.NewFromConfig(awsCfg),
		Lambda:         lambda.NewFromConfig(awsCfg),
		Member: func(c aws.Credentials) doctor.Member {
			mc := awsCfg.Copy()
			mc.Credentials = credentials.StaticCredentialsProvider{Value: c}
			return doctor.Member{IAM: iam.NewFromConfig(mc), EC2: ec2.NewFromConfig(mc)}
		},
		// The member roles trust the collector and the doctor role only.
		Via: func(c aws.Credentials) doctor.STSAPI {
			vc := awsCfg.Copy()
			vc.Credentials = credentials.StaticCredentialsProvider{Value: c}
			return sts.NewFromConfig(vc)
		},
	}
}
