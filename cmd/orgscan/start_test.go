package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orgscan/orgscan/internal/mototest"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// `orgscan start` against moto's Step Functions: the state machine is
// created from statemachine/orgscan.asl.json; start passes a validated run
// request as the execution input, refuses bad input before starting
// anything, and --wait follows the execution to its end.
func TestStartAgainstMoto(t *testing.T) {
	srv, err := mototest.Start(context.Background())
	if err != nil {
		t.Fatalf("moto: %v", err)
	}
	defer srv.Stop()
	for k, v := range srv.Env() {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
	ctx := context.Background()
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client := sfn.NewFromConfig(cfg)
	def, err := os.ReadFile("../../statemachine/orgscan.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.NewReplacer("${DispatcherFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:d",
		"${CollectorFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:c",
		"${AggregatorFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:a", "${BucketName}", "orgscan-bucket").Replace(string(def))
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("orgscan"), Definition: aws.String(body),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/orgscan-sfn")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(sm.StateMachineArn)
	executions := func() int {
		out, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Executions)
	}

	// Bad input: exit 2, one line, nothing started.
	code, _, stderr := runWith(t, &App{SFN: client}, "start", "--state-machine", arn, "--accounts", "12345")
	if code != exitUsage || !strings.Contains(stderr, `"12345"`) || executions() != 0 {
		t.Fatalf("bad input: exit %d stderr %q executions %d", code, stderr, executions())
	}

	code, stdout, stderr := runWith(t, &App{SFN: client}, "start", "--state-machine", arn, "--regions", "us-east-1,eu-west-1",
		"--checks", "ec2-idle-instance", "--run-id", "it-1", "--max-concurrency", "5")
	if code != exitOK || !strings.Contains(stdout, "execution: arn:aws:states:") {
		t.Fatalf("start: exit %d\n%s\n%s", code, stdout, stderr)
	}
	d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":it-1")})
	if err != nil {
		t.Fatal(err)
	}
	req, err := pipeline.DecodeRunRequest([]byte(aws.ToString(d.Input)))
	if err != nil || req.RunID != "it-1" || len(req.Regions) != 2 || req.Checks[0] != "ec2-idle-instance" || req.MaxConcurrency != 5 {
		t.Fatalf("execution input %s: %+v %v", aws.ToString(d.Input), req, err)
	}

	// --wait follows the execution; here it is stopped after the first poll.
	var once sync.Once
	app := &App{SFN: client}
	app.afterPoll = func() {
		once.Do(func() {
			if _, err := client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":it-2"),
				Error: aws.String("Test"), Cause: aws.String("stopped by the test")}); err != nil {
				t.Error(err)
			}
		})
	}
	code, stdout, stderr = runWith(t, app, "start", "--state-machine", arn, "--run-id", "it-2", "--wait", "--poll", "1ms")
	if code != exitError || !strings.Contains(stdout, "RUNNING") || !strings.Contains(stderr, "ended ABORTED") {
		t.Fatalf("wait: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func runWith(t *testing.T, app *App, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	app.Stdout, app.Stderr = &out, &errb
	code := app.Main(context.Background(), args)
	return code, out.String(), errb.String()
}
