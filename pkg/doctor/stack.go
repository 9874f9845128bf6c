package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orgscan/orgscan/pkg/deployconfig"
)

const fixDeploy = "make deploy"

// pipeline checks the pipeline stack and the resources its outputs name.
func (r *run) pipeline(ctx context.Context) {
	name := r.d.stack()
	out, err := r.d.CloudFormation.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	switch {
	// CloudFormation answers a missing stack with the generic
	// ValidationError; only its message tells.
	case hasCode(err, "ValidationError") && strings.Contains(err.Error(), "does not exist"):
		r.fail(CheckStack, name, fmt.Sprintf("stack %s does not exist in %s", name, r.d.Region), fixDeploy+" (or give --stack and --region of the deployment)")
		return
	case err != nil:
		r.fail(CheckStack, name, "cloudformation:DescribeStacks: "+err.Error(), "the caller needs cloudformation:DescribeStacks on the stack")
		return
	case len(out.Stacks) == 0:
		r.fail(CheckStack, name, fmt.Sprintf("stack %s does not exist in %s", name, r.d.Region), fixDeploy)
		return
	}
	st := out.Stacks[0]
	status := string(st.StackStatus)
	switch {
	case st.StackStatus == cfntypes.StackStatusRollbackComplete || strings.HasSuffix(status, "_FAILED") || st.StackStatus == cfntypes.StackStatusDeleteComplete:
		r.fail(CheckStack, name, fmt.Sprintf("stack %s is %s: %s", name, status, aws.ToString(st.StackStatusReason)),
			"see the stack's events (aws cloudformation describe-stack-events --stack-name "+name+"), fix the cause and "+fixDeploy)
	case strings.HasSuffix(status, "_IN_PROGRESS"):
		r.warn(CheckStack, name, fmt.Sprintf("stack %s is %s", name, status), "run the doctor again once the stack operation ends")
	}
	outputs := map[string]string{}
	for _, o := range st.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	var missing []string
	for _, k := range []string{deployconfig.OutputBucketName, deployconfig.OutputTableName, deployconfig.OutputStateMachineArn,
		deployconfig.OutputCollectorFunction, deployconfig.OutputScheduleName} {
		if outputs[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		r.fail(CheckStack, name, fmt.Sprintf("stack %s lacks the outputs %s: it was deployed from an older version", name, strings.Join(missing, ", ")), fixDeploy)
	} else if !strings.HasSuffix(status, "_IN_PROGRESS") && !strings.HasSuffix(status, "_FAILED") && st.StackStatus != cfntypes.StackStatusRollbackComplete {
		r.ok(CheckStack, name, fmt.Sprintf("stack %s is %s", name, status))
	}
	r.bucket, r.table, r.stateMachine = outputs[deployconfig.OutputBucketName], outputs[deployconfig.OutputTableName], outputs[deployconfig.OutputStateMachineArn]
	r.collector, r.schedule = outputs[deployconfig.OutputCollectorFunction], outputs[deployconfig.OutputScheduleName]

	if r.bucket != "" {
		r.checkBucket(ctx, name)
	}
	if r.table != "" {
		r.checkTable(ctx, name)
	}
	if r.stateMachine != "" {
		r.checkStateMachine(ctx, name)
	}
	if r.schedule != "" {
		r.checkSchedule(ctx)
	}
}

func (r *run) checkBucket(ctx context.Context, stack string) {
	_, err := r.d.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(r.bucket)})
	switch {
	case err == nil:
		r.ok(CheckBucket, r.bucket, "bucket exists")
	case httpStatus(err) == 404 || hasCode(err, "NotFound", "NoSuchBucket"):
		r.fail(CheckBucket, r.bucket, fmt.Sprintf("bucket %s (output %s of stack %s) does not exist", r.bucket, deployconfig.OutputBucketName, stack),
			fmt.Sprintf("the stack's bucket was deleted outside CloudFormation, which does not recreate it on update: redeploy the stack %s (delete it, then %s)", stack, fixDeploy))
	case accessDenied(err):
		r.fail(CheckBucket, r.bucket, fmt.Sprintf("bucket %s is not accessible to the caller (403): it belongs to another account, or the caller lacks s3:ListBucket on it", r.bucket),
			"run the doctor with the pipeline account's credentials")
	default:
		r.fail(CheckBucket, r.bucket, "s3:HeadBucket: "+err.Error(), "")
	}
}

func (r *run) checkTable(ctx context.Context, stack string) {
	out, err := r.d.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.table)})
	switch {
	case hasCode(err, "ResourceNotFoundException"):
		r.fail(CheckTable, r.table, fmt.Sprintf("table %s (output %s of stack %s) does not exist", r.table, deployconfig.OutputTableName, stack),
			fmt.Sprintf("the stack's table was deleted outside CloudFormation, which does not recreate it on update: redeploy the stack %s (delete it, then %s)", stack, fixDeploy))
	case err != nil:
		r.fail(CheckTable, r.table, "dynamodb:DescribeTable: "+err.Error(), "the caller needs dynamodb:DescribeTable on the table")
	case out.Table == nil:
		r.fail(CheckTable, r.table, "dynamodb:DescribeTable returned no table", "")
	case out.Table.TableStatus == dbtypes.TableStatusActive:
		r.ok(CheckTable, r.table, "table is ACTIVE")
	case out.Table.TableStatus == dbtypes.TableStatusUpdating:
		r.warn(CheckTable, r.table, "table is UPDATING", "run the doctor again once the update ends")
	default:
		r.fail(CheckTable, r.table, fmt.Sprintf("table is %s, not ACTIVE", out.Table.TableStatus), fixDeploy)
	}
}

func (r *run) checkStateMachine(ctx context.Context, stack string) {
	out, err := r.d.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(r.stateMachine)})
	switch {
	case hasCode(err, "StateMachineDoesNotExist"):
		r.fail(CheckStateMachine, r.stateMachine, fmt.Sprintf("state machine (output %s of stack %s) does not exist", deployconfig.OutputStateMachineArn, stack), fixDeploy)
		return
	case err != nil:
		r.fail(CheckStateMachine, r.stateMachine, "states:DescribeStateMachine: "+err.Error(), "the caller needs states:DescribeStateMachine on the state machine")
		return
	}
	def := aws.ToString(out.Definition)
	var unwired []string
	if r.bucket != "" && !strings.Contains(def, r.bucket) {
		unwired = append(unwired, "bucket "+r.bucket)
	}
	if r.collector != "" && !strings.Contains(def, r.collector) {
		unwired = append(unwired, "collector function "+r.collector)
	}
	if len(unwired) > 0 {
		r.fail(CheckStateMachine, r.stateMachine, "state machine not wired to this stack's bucket/functions: its definition does not name the "+strings.Join(unwired, " or the "),
			fmt.Sprintf("the state machine belongs to another deployment, or was changed by hand: %s (stack %s)", fixDeploy, stack))
		return
	}
	r.ok(CheckStateMachine, r.stateMachine, "state machine exists and names the stack's bucket and collector")
}

func (r *run) checkSchedule(ctx context.Context) {
	// An output of "group/name" names a schedule outside the default group.
	in := &scheduler.GetScheduleInput{Name: aws.String(r.schedule)}
	if group, name, ok := strings.Cut(r.schedule, "/"); ok {
		in = &scheduler.GetScheduleInput{GroupName: aws.String(group), Name: aws.String(name)}
	}
	out, err := r.d.Scheduler.GetSchedule(ctx, in)
	switch {
	case hasCode(err, "ResourceNotFoundException"):
		r.fail(CheckSchedule, r.schedule, "schedule does not exist", fixDeploy)
		return
	case err != nil:
		r.fail(CheckSchedule, r.schedule, "scheduler:GetSchedule: "+err.Error(), "the caller needs scheduler:GetSchedule on the schedule")
		return
	}
	problems := 0
	target := ""
	input := ""
	if out.Target != nil {
		target, input = aws.ToString(out.Target.Arn), aws.ToString(out.Target.Input)
	}
	if r.stateMachine != "" && target != r.stateMachine {
		problems++
		r.fail(CheckSchedule, r.schedule, fmt.Sprintf("schedule targets %q, not this stack's state machine %s", target, r.stateMachine), fixDeploy)
	}
	var req struct {
		Regions []string `json:"regions"`
	}
	switch err := json.Unmarshal([]byte(input), &req); {
	case input == "":
		problems++
		r.fail(CheckSchedule, r.schedule, "schedule has no input: a scheduled run would scan every enabled region, not the regions in scope ("+strings.Join(r.regions, ", ")+")", fixDeploy)
	case err != nil:
		problems++
		r.fail(CheckSchedule, r.schedule, "schedule input is not a JSON run request: "+err.Error(), fixDeploy)
	case len(req.Regions) == 0:
		problems++
		r.fail(CheckSchedule, r.schedule, "schedule input names no regions: a scheduled run would scan every enabled region, not the regions in scope ("+strings.Join(r.regions, ", ")+")", fixDeploy)
	case !sameSet(req.Regions, r.regions):
		problems++
		r.fail(CheckSchedule, r.schedule, fmt.Sprintf("schedule input scans regions %s, the configuration's regions in scope are %s", strings.Join(req.Regions, ", "), strings.Join(r.regions, ", ")),
			fixDeploy+" (the schedule was deployed from another configuration)")
	}
	if out.State == schedtypes.ScheduleStateDisabled {
		problems++
		r.warn(CheckSchedule, r.schedule, "schedule is disabled: no run starts on its own",
			"set schedule.enabled: true in the config and "+fixDeploy+" (once the doctor reports no failures)")
	}
	if problems == 0 {
		r.ok(CheckSchedule, r.schedule, fmt.Sprintf("schedule is %s, starts the state machine with regions %s", out.State, strings.Join(req.Regions, ", ")))
	}
}
