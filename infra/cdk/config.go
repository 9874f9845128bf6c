package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/orgscan/orgscan/pkg/deployconfig"
)

// Config is what the app is built from: the deployment configuration file
// (pkg/deployconfig, validated there: a bad value fails the synth with its
// file, line and field) and where the build outputs are.
type Config struct {
	deployconfig.Config
	// DistDir holds <fn>/bootstrap for each function (`make functions`),
	// and RepoRoot the repository (for statemachine/orgscan.asl.json);
	// both relative to the working directory (context distDir, repoRoot).
	DistDir  string
	RepoRoot string
}

// The configuration file when the context names none: deploy.yaml when it
// exists (a deployment's own), else the checked-in example (so that make
// synth and the tests work on a fresh checkout).
const (
	DeployConfigFile  = "deploy.yaml"
	ExampleConfigFile = "deploy.example.yaml"
)

// Functions are the Lambda functions, by directory name under dist/.
var Functions = []string{"dispatcher", "collector", "aggregator"}

// logRetentions are the retention periods CloudWatch Logs accepts, in days
// (deployconfig.LogRetentions, which validates them).
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

// retiredContext are the context keys of earlier versions, whose values
// now live in the configuration file: given one, the synth says where.
var retiredContext = map[string]string{
	"externalId":                   "memberRole.externalIdParameter (the external ID lives in SSM: bin/orgscan external-id)",
	"pipelineAccountId":            "nothing: the StackSet takes the pipeline account from the stack that declares it",
	"memberRoleName":               "memberRole.name",
	"collectorRoleName":            "advanced.collectorRoleName",
	"stateMachineName":             "advanced.stateMachineName",
	"scheduleCron":                 "schedule.expression",
	"scheduleInput":                "regions and scan (the scheduled run request is built from them)",
	"collectorReservedConcurrency": "concurrency.collectorReserved",
	"pairConcurrency":              "concurrency.pairConcurrency",
	"discovery":                    "organization.targets",
	"athenaBytesScannedCutoff":     "advanced.athenaBytesScannedCutoff",
	"logRetentionDays":             "advanced.logRetentionDays",
	"runsRetentionDays":            "advanced.runsRetentionDays",
	"tracing":                      "advanced.tracing",
	"glueDatabase":                 "advanced.glueDatabase",
	"athenaWorkGroup":              "advanced.athenaWorkGroup",
	"alarmTopicArn":                "notifications.alarmTopicArn",
	"notificationTopicArn":         "notifications.topicArn",
	"notifyMinUsd":                 "notifications.minMonthlyUsd",
}

// LoadConfig reads the configuration file the context names (context
// config; default DeployConfigFile, else ExampleConfigFile) and the build
// locations (context distDir, repoRoot).
func LoadConfig(scope constructs.Construct) (Config, error) {
	get := func(key string) (string, bool) {
		v := scope.Node().TryGetContext(&key)
		if v == nil {
			return "", false
		}
		if s, ok := v.(string); ok {
			return s, true
		}
		b, _ := json.Marshal(v)
		return string(b), true
	}
	var retired []string
	for k, where := range retiredContext {
		if _, ok := get(k); ok {
			retired = append(retired, fmt.Sprintf("context %s is no longer read: set %s in the deployment configuration", k, where))
		}
	}
	if len(retired) > 0 {
		sort.Strings(retired)
		return Config{}, fmt.Errorf("orgscan CDK app: %s", strings.Join(retired, "; "))
	}
	c := Config{DistDir: "../../dist", RepoRoot: "../.."}
	if v, ok := get("distDir"); ok {
		c.DistDir = v
	}
	if v, ok := get("repoRoot"); ok {
		c.RepoRoot = v
	}
	path, ok := get("config")
	if !ok {
		path = DeployConfigFile
		if _, err := os.Stat(path); err != nil {
			path = ExampleConfigFile
		}
	}
	dc, err := deployconfig.Load(filepath.Clean(path))
	if err != nil {
		return Config{}, fmt.Errorf("orgscan CDK app: the deployment configuration is not valid:\n%w", err)
	}
	c.Config = dc
	return c, nil
}

// regionPlaceholder stands for the deployment region in the scheduled run
// request while it is validated (it must look like a region to pass the
// dispatcher's parser); the template gets ${AWS::Region}.
const regionPlaceholder = "zz-deployment-1"

// ScheduleInput is the scheduled run request as the schedule sends it: the
// configuration's, with the deployment region when no regions are given.
func (c Config) ScheduleInput(deploymentRegion string) (string, error) {
	req, err := c.RunRequest(regionPlaceholder)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(string(b), regionPlaceholder, deploymentRegion), nil
}
