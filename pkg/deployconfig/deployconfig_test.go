package deployconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const examplePath = "../../infra/cdk/deploy.example.yaml"

func TestExampleParses(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if c.Organization.Mode != ModeManagement || !reflect.DeepEqual(c.Organization.Targets, []string{"r-a1b2"}) {
		t.Errorf("organization = %+v", c.Organization)
	}
	if !reflect.DeepEqual(c.Regions, []string{"us-east-1", "eu-west-1"}) || c.Schedule.Enabled || c.Concurrency.CollectorReserved != 0 {
		t.Errorf("config = %+v", c)
	}
	req, err := c.RunRequest("eu-central-1")
	if err != nil {
		t.Fatal(err)
	}
	if req.OrganizationalUnits != nil || !reflect.DeepEqual(req.Regions, c.Regions) || req.MaxConcurrency != 40 {
		t.Errorf("run request = %+v", req)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("min.yaml", []byte("organization: {targets: [ou-ab12-cdef3456]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.File = "min.yaml"
	want.Organization.Targets = []string{"ou-ab12-cdef3456"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	req, err := c.RunRequest("ap-southeast-2")
	if err != nil {
		t.Fatal(err)
	}
	// The deployment region alone, and the OU scanned.
	if !reflect.DeepEqual(req.Regions, []string{"ap-southeast-2"}) || !reflect.DeepEqual(req.OrganizationalUnits, []string{"ou-ab12-cdef3456"}) {
		t.Errorf("run request = %+v", req)
	}
}

func TestOptionsFileGoesIntoTheRunRequest(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "orgscan.yaml"), []byte("checks:\n  ec2-idle-instance:\n    params: {cpuPercent: 3}\n    exclude:\n      - tags: {env: dev}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(path, []byte("organization: {targets: [r-abcd]}\nscan: {optionsFile: orgscan.yaml}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.RunRequest("us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if req.Params["ec2-idle-instance"]["cpuPercent"] != 3 || len(req.Exclusions) != 1 {
		t.Errorf("run request = %+v", req)
	}
}

// Each bad value is refused with its field named and the line it is on.
func TestBadValuesNameTheirField(t *testing.T) {
	base := "organization:\n  targets: [r-abcd]\n"
	for _, tc := range []struct {
		name, yaml, field string
		line              int
	}{
		{"mode", "organization:\n  mode: member\n  targets: [r-abcd]\n", "organization.mode", 2},
		{"no targets", "organization:\n  mode: management\n", "organization.targets", 2},
		{"bad OU", "organization:\n  targets: [ou-x]\n", "organization.targets[0]", 2},
		{"root and OU", "organization:\n  targets: [r-abcd, ou-ab12-cdef3456]\n", "organization.targets", 2},
		{"delegated admin without management account", "organization:\n  mode: delegated-admin\n  targets: [r-abcd]\n", "organization.managementAccountId", 2},
		{"org ID", base + "  organizationId: org-1\n", "organization.organizationId", 3},
		{"role name", base + "memberRole:\n  name: 'bad role'\n", "memberRole.name", 4},
		{"external ID parameter", base + "memberRole:\n  externalIdParameter: external-id\n", "memberRole.externalIdParameter", 4},
		{"region", base + "regions: [us-east-1, mars-1]\n", "regions[1]", 3},
		{"duplicate region", base + "regions: [us-east-1, us-east-1]\n", "regions[1]", 3},
		{"schedule", base + "schedule:\n  expression: every day\n", "schedule.expression", 4},
		{"schedule enabled", base + "schedule:\n  enabled: sometimes\n", "schedule.enabled", 4},
		{"exclude account", base + "scan:\n  excludeAccounts: ['12345']\n", "scan.excludeAccounts[0]", 4},
		{"unknown check", base + "scan:\n  checks: [ec2-nope]\n", "scan.checks[0]", 4},
		{"missing options file", base + "scan:\n  optionsFile: nowhere.yaml\n", "scan.optionsFile", 4},
		{"topic ARN", base + "notifications:\n  topicArn: finops\n", "notifications.topicArn", 4},
		{"topic policy not acknowledged", base + "notifications:\n  topicArn: arn:aws:sns:us-east-1:111111111111:finops\n", "notifications.topicPolicyAllowsEventBridge", 4},
		{"reservation over the quota", base + "concurrency:\n  collectorReserved: 950\n", "concurrency.collectorReserved", 4},
		{"reservation below the Map", base + "concurrency:\n  collectorReserved: 10\n", "concurrency.collectorReserved", 4},
		{"max concurrency", base + "concurrency:\n  maxConcurrency: 0\n", "concurrency.maxConcurrency", 4},
		{"not a number", base + "concurrency:\n  maxConcurrency: lots\n", "concurrency.maxConcurrency", 4},
		{"log retention", base + "advanced:\n  logRetentionDays: 10\n", "advanced.logRetentionDays", 4},
		{"unknown field", base + "schedule:\n  cron: cron(0 6 * * ? *)\n", "schedule.cron", 4},
		{"repeated field", base + "regions: [us-east-1]\nregions: [eu-west-1]\n", "regions", 4},
		{"section not a mapping", base + "schedule: daily\n", "schedule", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("deploy.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T %v is not Errors", err, err)
			}
			found := false
			for _, e := range es {
				if e.Field == tc.field && e.Line == tc.line && e.File == "deploy.yaml" {
					found = true
				}
			}
			if !found {
				t.Errorf("error does not name %s at line %d: %v", tc.field, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message does not name %s: %v", tc.field, err)
			}
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	_, err := Parse("deploy.yaml", []byte("organization:\n  mode: x\nregions: [mars-1]\nconcurrency: {pairConcurrency: 0}\n"))
	var es Errors
	if !errors.As(err, &es) || len(es) != 4 {
		t.Fatalf("want 4 problems (mode, targets, region, pairConcurrency), got %v", err)
	}
}
