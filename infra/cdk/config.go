package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/orgscan/orgscan/pkg/pipeline"
)

// Config is the app's deployment parameters. Every field comes from CDK
// context (`-c key=value`, cdk.json, or AppProps.Context in tests) with the
// default shown in defaultConfig; LoadConfig validates them all before a
// construct is created, so a typo fails the synth with the key's name.
type Config struct {
	// MemberRoleName is the read-only role the collector assumes in every
	// member account (context memberRoleName).
	MemberRoleName string
	// CollectorRoleName is the collector function's role name in the
	// pipeline account; it is fixed so the member role's trust policy can
	// name it (context collectorRoleName).
	CollectorRoleName string
	// StateMachineName names the state machine; its ARN, and so the ARNs of
	// its executions and of the Distributed Map's child executions, are
	// known before it exists (context stateMachineName).
	StateMachineName string
	// ExternalID and PipelineAccountID are only the defaults of the
	// CloudFormation parameters ExternalId (both stacks) and
	// PipelineAccountId (member stack); empty means "no default", and
	// CloudFormation then requires the parameter at deploy time
	// (context externalId, pipelineAccountId).
	ExternalID        string
	PipelineAccountID string
	// ScheduleCron is the EventBridge Scheduler expression (UTC) and
	// ScheduleInput the run request it starts the state machine with
	// (context scheduleCron, scheduleInput).
	ScheduleCron  string
	ScheduleInput string
	// CollectorReservedConcurrency caps the collector's concurrent
	// invocations (context collectorReservedConcurrency); 0 leaves it
	// unreserved.
	CollectorReservedConcurrency int
	// PairConcurrency is the collector's ORGSCAN_PAIR_CONCURRENCY (context
	// pairConcurrency).
	PairConcurrency int
	// Discovery is the dispatcher's ORGSCAN_DISCOVERY: "organizations" or
	// "self" (context discovery).
	Discovery string
	// AthenaBytesScannedCutoff is the workgroup's per-query scan limit in
	// bytes (context athenaBytesScannedCutoff).
	AthenaBytesScannedCutoff int64
	// LogRetentionDays is the retention of every log group (context
	// logRetentionDays); one of CloudWatch Logs' allowed values.
	LogRetentionDays int
	// RunsRetentionDays expires the runs/ scratch objects and the Athena
	// query results (context runsRetentionDays).
	RunsRetentionDays int
	// Tracing turns on X-Ray for the functions and the state machine
	// (context tracing).
	Tracing bool
	// GlueDatabase and AthenaWorkGroup name the history's Glue database
	// and Athena workgroup (context glueDatabase, athenaWorkGroup).
	GlueDatabase    string
	AthenaWorkGroup string
	// AlarmTopicArn, when set, is an existing SNS topic the alarms notify
	// (context alarmTopicArn).
	AlarmTopicArn string
	// NotificationTopicArn, when set, is an existing SNS topic that every
	// run's EventBridge event is sent to (context notificationTopicArn);
	// NotifyMinUSD is the monthly cost from which a new finding is named in
	// it (context notifyMinUsd, default 100).
	NotificationTopicArn string
	NotifyMinUSD         float64
	// DistDir holds <fn>/bootstrap for each function (`make build`), and
	// RepoRoot the repository (for statemachine/orgscan.asl.json); both
	// relative to the working directory (context distDir, repoRoot).
	DistDir  string
	RepoRoot string
}

func defaultConfig() Config {
	return Config{
		MemberRoleName:               "OrgScanMember",
		CollectorRoleName:            "orgscan-collector",
		StateMachineName:             "orgscan",
		ScheduleCron:                 "cron(0 6 * * ? *)",
		ScheduleInput:                "{}",
		CollectorReservedConcurrency: 50,
		PairConcurrency:              4,
		Discovery:                    "organizations",
		AthenaBytesScannedCutoff:     10 << 30,
		NotifyMinUSD:                 100,
		LogRetentionDays:             90,
		RunsRetentionDays:            30,
		Tracing:                      true,
		GlueDatabase:                 "orgscan",
		AthenaWorkGroup:              "orgscan",
		DistDir:                      "../../dist",
		RepoRoot:                     "../..",
	}
}

// Functions are the Lambda functions, by directory name under dist/.
var Functions = []string{"dispatcher", "collector", "aggregator"}

var (
	iamNameRe     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	sfnNameRe     = regexp.MustCompile(`^[\w-]{1,80}$`)
	externalIDRe  = regexp.MustCompile(`^[\w+=,.@:/-]{2,1000}[\w+=,.@:/-]{0,224}$`)
	accountIDRe   = regexp.MustCompile(`^\d{12}$`)
	glueNameRe    = regexp.MustCompile(`^[a-z0-9_]{1,255}$`)
	workGroupRe   = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)
	scheduleRe    = regexp.MustCompile(`^(cron|rate)\(.+\)$`)
	snsTopicArnRe = regexp.MustCompile(`^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$`)
)

// logRetentions are the retention periods CloudWatch Logs accepts, in days.
var logRetentions = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// ContextError names a context key whose value is unusable.
type ContextError struct{ Key, Value, Reason string }

func (e *ContextError) Error() string {
	return fmt.Sprintf("context %s=%q: %s", e.Key, e.Value, e.Reason)
}

// LoadConfig reads the configuration from scope's context, applying the
// defaults, and validates it. The scheduled run request is checked with the
// dispatcher's own parser, so a schedule that would fail every day fails
// the synth instead.
func LoadConfig(scope constructs.Construct) (Config, error) {
	c := defaultConfig()
	get := func(key string) (string, bool) {
		v := scope.Node().TryGetContext(&key)
		if v == nil {
			return "", false
		}
		switch x := v.(type) {
		case string:
			return x, true
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		case bool:
			return strconv.FormatBool(x), true
		default:
			b, _ := json.Marshal(x)
			return string(b), true
		}
	}
	var errs []error
	str := func(key string, dst *string, re *regexp.Regexp, reason string) {
		v, ok := get(key)
		if !ok {
			return
		}
		if re != nil && !re.MatchString(v) {
			errs = append(errs, &ContextError{key, v, reason})
			return
		}
		*dst = v
	}
	num := func(key string, dst *int64, lo, hi int64) {
		v, ok := get(key)
		if !ok {
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			errs = append(errs, &ContextError{key, v, fmt.Sprintf("must be an integer in %d..%d", lo, hi)})
			return
		}
		*dst = n
	}
	integer := func(key string, dst *int, lo, hi int) {
		n := int64(*dst)
		num(key, &n, int64(lo), int64(hi))
		*dst = int(n)
	}

	str("memberRoleName", &c.MemberRoleName, iamNameRe, "is not an IAM role name")
	str("collectorRoleName", &c.CollectorRoleName, iamNameRe, "is not an IAM role name")
	str("stateMachineName", &c.StateMachineName, sfnNameRe, "is not a state machine name (1-80 letters, digits, '_' or '-')")
	str("externalId", &c.ExternalID, externalIDRe, "is not an sts:ExternalId (2-1224 characters of [\\w+=,.@:/-])")
	str("pipelineAccountId", &c.PipelineAccountID, accountIDRe, "is not a 12-digit AWS account ID")
	str("scheduleCron", &c.ScheduleCron, scheduleRe, "is not an EventBridge Scheduler cron(...) or rate(...) expression")
	str("scheduleInput", &c.ScheduleInput, nil, "")
	integer("collectorReservedConcurrency", &c.CollectorReservedConcurrency, 0, 10000)
	integer("pairConcurrency", &c.PairConcurrency, 1, 64)
	str("discovery", &c.Discovery, regexp.MustCompile(`^(organizations|self)$`), `must be "organizations" or "self"`)
	num("athenaBytesScannedCutoff", &c.AthenaBytesScannedCutoff, 10_000_000, 1<<62) // Athena's minimum is 10 MB
	integer("logRetentionDays", &c.LogRetentionDays, 1, 3653)
	integer("runsRetentionDays", &c.RunsRetentionDays, 1, 3650)
	str("glueDatabase", &c.GlueDatabase, glueNameRe, "is not a Glue database name (lower-case letters, digits, '_')")
	str("athenaWorkGroup", &c.AthenaWorkGroup, workGroupRe, "is not an Athena workgroup name")
	str("alarmTopicArn", &c.AlarmTopicArn, snsTopicArnRe, "is not an SNS topic ARN")
	str("notificationTopicArn", &c.NotificationTopicArn, snsTopicArnRe, "is not an SNS topic ARN")
	if v, ok := get("notifyMinUsd"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1e9) {
			errs = append(errs, &ContextError{"notifyMinUsd", v, "must be a number of dollars in 0..1e9"})
		} else {
			c.NotifyMinUSD = f
		}
	}
	str("distDir", &c.DistDir, nil, "")
	str("repoRoot", &c.RepoRoot, nil, "")
	if v, ok := get("tracing"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, &ContextError{"tracing", v, "must be true or false"})
		}
		c.Tracing = b
	}
	if c.PipelineAccountID == "" {
		// The CDK CLI sets this from the deploying credentials: deploying
		// both stacks from the pipeline account needs no extra context.
		if a := os.Getenv("CDK_DEFAULT_ACCOUNT"); accountIDRe.MatchString(a) {
			c.PipelineAccountID = a
		}
	}
	if _, ok := logRetentions[c.LogRetentionDays]; !ok {
		errs = append(errs, &ContextError{"logRetentionDays", strconv.Itoa(c.LogRetentionDays), "is not a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)"})
	}
	if err := checkScheduleInput(c.ScheduleInput); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Error())
		}
		return Config{}, fmt.Errorf("orgscan CDK app: %s", strings.Join(msgs, "; "))
	}
	return c, nil
}

// checkScheduleInput parses the scheduled run request as the dispatcher
// will. A fixed runId is refused: every daily execution would reuse it and
// overwrite the previous run's files.
func checkScheduleInput(in string) error {
	req, err := pipeline.ParseDispatchInput([]byte(in))
	if err != nil {
		return &ContextError{"scheduleInput", in, err.Error()}
	}
	if req.RunID != "" {
		return &ContextError{"scheduleInput", in, "must not set runId: each scheduled run needs its own, which the dispatcher generates"}
	}
	return nil
}
