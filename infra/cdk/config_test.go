package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	requireBootstraps(t)
	app, _ := testApp(t, nil)
	cfg, err := LoadConfig(app)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.PipelineAccountID = cfg.PipelineAccountID // CDK_DEFAULT_ACCOUNT, when the CLI runs the tests
	if cfg != want {
		t.Errorf("config %+v, want %+v", cfg, want)
	}
	if want.MemberRoleName != "OrgScanMember" || want.ScheduleCron != "cron(0 6 * * ? *)" || want.ScheduleInput != "{}" ||
		want.CollectorReservedConcurrency != 50 || want.AthenaBytesScannedCutoff != 10*1024*1024*1024 || want.ExternalID != "" {
		t.Errorf("defaults changed: %+v", want)
	}
}

func TestConfigRejectsBadContext(t *testing.T) {
	requireBootstraps(t)
	for _, tc := range []struct {
		key   string
		value any
		want  string
	}{
		{"scheduleInput", `{"acounts": ["111111111111"]}`, "acounts"},
		{"scheduleInput", `{"runId": "daily"}`, "must not set runId"},
		{"scheduleInput", `{"regions": ["mars-1"]}`, "mars-1"},
		{"externalId", "x", "sts:ExternalId"},
		{"pipelineAccountId", "12345", "12-digit"},
		{"logRetentionDays", 91, "retention period"},
		{"collectorReservedConcurrency", "many", "integer"},
		{"athenaBytesScannedCutoff", 1000, "integer in"},
		{"discovery", "everything", "organizations"},
		{"scheduleCron", "0 6 * * *", "cron("},
		{"tracing", "maybe", "true or false"},
	} {
		t.Run(tc.key+"="+strings.ReplaceAll(js(tc.value), "/", "_"), func(t *testing.T) {
			app, _ := testApp(t, map[string]any{tc.key: tc.value})
			_, err := LoadConfig(app)
			if err == nil || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadConfig with %s=%v: error %v, want one naming %s and %q", tc.key, tc.value, err, tc.key, tc.want)
			}
		})
	}
}

func TestPipelineNeedsTheBuild(t *testing.T) {
	requireBootstraps(t)
	app, _ := testApp(t, map[string]any{"distDir": t.TempDir()})
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
	app, _ := testApp(t, map[string]any{"repoRoot": root})
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
	got, err := contextArgs([]string{"-c", "externalId=abc", "--context", "scheduleInput={\"regions\":[\"us-east-1\"]}", "--context=x=y=z"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]interface{}{"externalId": "abc", "scheduleInput": `{"regions":["us-east-1"]}`, "x": "y=z"}
	if js(got) != js(want) {
		t.Errorf("contextArgs = %s, want %s", js(got), js(want))
	}
	for _, bad := range [][]string{{"-c"}, {"-c", "novalue"}, {"synth"}, {"-c", "=v"}} {
		if _, err := contextArgs(bad); err == nil {
			t.Errorf("contextArgs(%q) accepted", bad)
		}
	}
}
