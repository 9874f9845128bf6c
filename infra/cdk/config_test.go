package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigFromTheExample(t *testing.T) {
	requireBootstraps(t)
	app, _ := testApp(t, map[string]any{"config": exampleConfig})
	cfg, err := LoadConfig(app)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Organization.Mode != "management" || cfg.MemberRole.Name != "OrgScanMember" || cfg.Concurrency.CollectorReserved != 0 ||
		cfg.Schedule.Enabled || cfg.DistDir != "../../dist" || cfg.RepoRoot != "../.." {
		t.Errorf("config %+v", cfg)
	}
	in, err := cfg.ScheduleInput("${AWS::Region}")
	if err != nil || in != `{"regions":["us-east-1","eu-west-1"],"maxConcurrency":40}` {
		t.Errorf("schedule input %s, %v", in, err)
	}
}

// TestBadConfigFailsTheSynth: each bad value of the deployment
// configuration fails the app (make synth runs it) before a construct is
// built, naming the file, line and field.
func TestBadConfigFailsTheSynth(t *testing.T) {
	requireBootstraps(t)
	base := "organization:\n  targets: [r-abcd]\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"mode", "organization:\n  mode: member-account\n  targets: [r-abcd]\n", "deploy.yaml:2: organization.mode"},
		{"targets", "organization:\n  mode: management\n", "organization.targets: is required"},
		{"target ID", "organization:\n  targets: [ou-nope]\n", "deploy.yaml:2: organization.targets[0]"},
		{"management account", "organization:\n  mode: delegated-admin\n  targets: [r-abcd]\n", "organization.managementAccountId: is required"},
		{"region", base + "regions: [us-east-1, mars-1]\n", "deploy.yaml:3: regions[1]"},
		{"schedule", base + "schedule:\n  expression: daily at six\n", "deploy.yaml:4: schedule.expression"},
		{"schedule enabled", base + "schedule:\n  enabled: soon\n", "deploy.yaml:4: schedule.enabled: must be true or false"},
		{"exclusion", base + "scan:\n  excludeAccounts: [12345]\n", "deploy.yaml:4: scan.excludeAccounts[0]"},
		{"check", base + "scan:\n  checks: [ec2-idle]\n", "deploy.yaml:4: scan.checks[0]"},
		{"topic", base + "notifications:\n  topicArn: arn:aws:sns:us-east-1:111111111111:t\n", "notifications.topicPolicyAllowsEventBridge: must be true"},
		{"reservation", base + "concurrency:\n  collectorReserved: 901\n", "deploy.yaml:4: concurrency.collectorReserved: 901 is over 900"},
		{"unknown field", base + "concurrency:\n  reserved: 10\n", "deploy.yaml:4: concurrency.reserved: unknown field"},
		{"log retention", base + "advanced:\n  logRetentionDays: 45\n", "deploy.yaml:4: advanced.logRetentionDays"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "deploy.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			app, _ := testApp(t, map[string]any{"config": path})
			_, err := Build(app)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// Context keys of earlier versions are refused with the field that
// replaced them, not silently ignored.
func TestRetiredContextIsRefused(t *testing.T) {
	requireBootstraps(t)
	app, _ := testApp(t, map[string]any{"config": exampleConfig, "externalId": "abc", "collectorReservedConcurrency": 50})
	_, err := LoadConfig(app)
	if err == nil || !strings.Contains(err.Error(), "context externalId is no longer read") || !strings.Contains(err.Error(), "concurrency.collectorReserved") {
		t.Errorf("LoadConfig: %v", err)
	}
}

func TestPipelineNeedsTheBuild(t *testing.T) {
	requireBootstraps(t)
	app, _ := testApp(t, map[string]any{"config": exampleConfig, "distDir": t.TempDir()})
	cfg, err := LoadConfig(app)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPipelineStack(app, "Missing", cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "run make build") {
		t.Errorf("NewPipelineStack without dist/: %v, want an error saying to run make build", err)
	}
}

func TestPipelineRejectsUnknownPlaceholder(t *testing.T) {
	requireBootstraps(t)
	root := t.TempDir()
	asl, err := os.ReadFile(filepath.Join("..", "..", ASLPath))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(asl), "${BucketName}", "${ResultsBucket}", 1)
	if err := os.MkdirAll(filepath.Join(root, "statemachine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ASLPath), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	app, _ := testApp(t, map[string]any{"config": exampleConfig, "repoRoot": root})
	cfg, err := LoadConfig(app)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPipelineStack(app, "BadASL", cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "${ResultsBucket}") {
		t.Errorf("NewPipelineStack with an unknown placeholder: %v", err)
	}
}

func TestContextArgs(t *testing.T) {
	got, err := contextArgs([]string{"-c", "config=deploy.yaml", "--context", "distDir=../../dist", "--context=x=y=z"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]interface{}{"config": "deploy.yaml", "distDir": "../../dist", "x": "y=z"}
	if js(got) != js(want) {
		t.Errorf("contextArgs = %s, want %s", js(got), js(want))
	}
	for _, bad := range [][]string{{"-c"}, {"-c", "novalue"}, {"synth"}, {"-c", "=v"}} {
		if _, err := contextArgs(bad); err == nil {
			t.Errorf("contextArgs(%q) accepted", bad)
		}
	}
}
