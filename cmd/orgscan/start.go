package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/config"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// SFNAPI is what `orgscan start` needs from Step Functions.
type SFNAPI interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	ListMapRuns(context.Context, *sfn.ListMapRunsInput, ...func(*sfn.Options)) (*sfn.ListMapRunsOutput, error)
	DescribeMapRun(context.Context, *sfn.DescribeMapRunInput, ...func(*sfn.Options)) (*sfn.DescribeMapRunOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

// start starts an execution of the deployed state machine with a run
// request built from flags like `orgscan run`'s, validated first; with
// --wait it reports progress (the Map run's item counts) until the
// execution ends, and exits 1 unless it succeeded.
func (a *App) start(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("orgscan start", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	machine := fs.String("state-machine", os.Getenv("ORGSCAN_STATE_MACHINE_ARN"), "ARN of the deployed state machine (default $ORGSCAN_STATE_MACHINE_ARN)")
	profile := fs.String("profile", "", "AWS shared-config profile")
	accounts := fs.String("accounts", "", "scan only these account IDs (comma list)")
	exclude := fs.String("exclude-accounts", "", "skip these account IDs")
	ous := fs.String("organizational-units", "", "only accounts under these OUs or roots")
	regions := fs.String("regions", "", "regions (comma list; default the enabled ones)")
	checkIDs := fs.String("checks", "", "checks (comma list; default all)")
	lookback := fs.Int("lookback-days", 0, "override every check's lookback window")
	role := fs.String("role-name", "", "member role (default the deployment's)")
	cfgFile := fs.String("config", "", "configuration file: thresholds and exclusions")
	runID := fs.String("run-id", "", "run ID, also the execution name (default: start time + suffix)")
	maxConc := fs.Int("max-concurrency", 0, fmt.Sprintf("Distributed Map concurrency (default %d; the deployment lowers it to the collector's reserved concurrency)", pipeline.DefaultMaxConcurrency))
	wait := fs.Bool("wait", false, "wait for the execution to end, showing progress")
	poll := fs.Duration("poll", 10*time.Second, "with --wait, how often to ask")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, "Usage: orgscan start --state-machine ARN [flags] [--wait]")
			fs.SetOutput(a.Stdout)
			fs.PrintDefaults()
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *machine == "" {
		return usagef("--state-machine: give the deployed state machine's ARN (or set ORGSCAN_STATE_MACHINE_ARN)")
	}
	if *poll <= 0 {
		return usagef("--poll %s: must be positive", *poll)
	}
	req := pipeline.RunRequest{RunID: *runID, Accounts: list(*accounts), ExcludeAccounts: list(*exclude), OrganizationalUnits: list(*ous),
		Regions: list(*regions), Checks: list(*checkIDs), LookbackDays: *lookback, RoleName: *role, MaxConcurrency: *maxConc}
	if *cfgFile != "" {
		cfg, err := config.Load(*cfgFile)
		if err != nil {
			return usagef("--config: %v", err)
		}
		req.Params, req.Exclusions, req.IgnoreTag = cfg.Params, cfg.Exclusions, cfg.IgnoreTag
	}
	if req.RunID == "" {
		req.RunID = pipeline.DefaultRunID(time.Now())
	}
	if err := req.Validate(); err != nil {
		return requestUsage(err)
	}
	input, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if len(input) > pipeline.MaxRunRequestBytes {
		return usagef("the run request is %d bytes, over the %d an execution input may have: give fewer or shorter exclusions", len(input), pipeline.MaxRunRequestBytes)
	}
	api := a.SFN
	if api == nil {
		cfg, err := awsx.LoadConfig(ctx, awsx.Options{Profile: *profile})
		if err != nil {
			return awsx.ExplainCredentials(err, *profile)
		}
		api = sfn.NewFromConfig(cfg)
	}
	out, err := api.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: machine, Name: aws.String(req.RunID), Input: aws.String(string(input))})
	if err != nil {
		return awsx.ExplainCredentials(fmt.Errorf("start execution: %w", err), *profile)
	}
	arn := aws.ToString(out.ExecutionArn)
	fmt.Fprintf(a.Stdout, "started run %s\nexecution: %s\n", req.RunID, arn)
	if !*wait {
		return nil
	}
	for {
		d, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("describe execution: %w", err)
		}
		progress := ""
		if runs, err := api.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: aws.String(arn)}); err == nil && len(runs.MapRuns) > 0 {
			if mr, err := api.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn}); err == nil && mr.ItemCounts != nil {
				c := mr.ItemCounts
				progress = fmt.Sprintf(", pairs %d/%d done (%d failed, %d running)", c.Succeeded+c.Failed+c.Aborted+c.TimedOut, c.Total, c.Failed+c.TimedOut, c.Running)
			}
		}
		fmt.Fprintf(a.Stdout, "%s %s%s\n", time.Now().UTC().Format("15:04:05"), d.Status, progress)
		if a.afterPoll != nil {
			a.afterPoll()
		}
		if d.Status != sfntypes.ExecutionStatusRunning && d.Status != sfntypes.ExecutionStatusPendingRedrive {
			if d.Status == sfntypes.ExecutionStatusSucceeded {
				fmt.Fprintf(a.Stdout, "run %s succeeded: %s\n", req.RunID, aws.ToString(d.Output))
				return nil
			}
			return fmt.Errorf("run %s ended %s: %s %s", req.RunID, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		t := time.NewTimer(*poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
