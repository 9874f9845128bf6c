package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/finding"
)

func TestValidFiles(t *testing.T) {
	t.Parallel()
	cfg, err := Load(filepath.Join("testdata", "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]map[string]float64{"ec2-idle-instance": {"cpuPercent": 3, "lookbackDays": 21}}, cfg.Params); d != "" {
		t.Fatalf("params (-want +got):\n%s", d)
	}
	want := []finding.Exclusion{
		{Checks: []string{"ec2-idle-instance"}, Tags: map[string]string{"env": "dev*"}, Reason: "dev boxes are idle by design"},
		{Accounts: []string{"123456789012"}, Regions: []string{"eu-west-1"}, Resources: []string{"i-0abc*", "arn:aws:ec2:*:*:volume/vol-0def"}},
	}
	if d := cmp.Diff(want, cfg.Exclusions); d != "" {
		t.Fatalf("exclusions (-want +got):\n%s", d)
	}
	if d := cmp.Diff(&finding.TagPolicy{Honour: finding.HonourAccounts, Accounts: []string{"111111111111", "222222222222"}}, cfg.IgnoreTag); d != "" {
		t.Fatalf("ignoreTag (-want +got):\n%s", d)
	}
	cfg, err = Load(filepath.Join("testdata", "valid.json"))
	if err != nil || cfg.Params["rds-idle-instance"]["maxConnections"] != 2 || len(cfg.Exclusions) != 1 {
		t.Fatalf("json: %+v %v", cfg, err)
	}
	if cfg, err := Parse("empty.yaml", nil); err != nil || len(cfg.Exclusions) != 0 {
		t.Fatalf("empty: %+v %v", cfg, err)
	}
}

// Each malformed file is refused with the line and the field at fault.
func TestMalformedFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file  string
		line  int
		field string
		says  string
	}{
		{"bad-type.yaml", 4, "checks.ec2-idle-instance.params.cpuPercent", `must be a number, got "five"`},
		{"unknown-check.yaml", 2, "checks.ec2-idle-instnce", "unknown check"},
		{"bad-glob.yaml", 4, "checks.*.exclude[0]", "not a valid glob"},
		{"negative-threshold.yaml", 4, "checks.ec2-idle-instance.params.networkMB", "must be within [0, 1e+06], got -1"},
		{"duplicate-check.yaml", 5, "checks.ec2-idle-instance", "given twice (first on line 2)"},
		{"duplicate-param.json", 3, "checks.ebs-unattached-volume.params.minAgeDays", "given twice (first on line 2)"},
		{"unknown-param.yaml", 4, "checks.ec2-idle-instance.params.cpu", "unknown parameter"},
		{"fractional-days.yaml", 4, "checks.ec2-idle-instance.params.lookbackDays", "whole number"},
		{"bad-account.yaml", 4, "checks.*.exclude[0].accounts", `"12345" is not a 12-digit AWS account ID`},
		{"bad-region.yaml", 4, "checks.*.exclude[0].regions", `"mars" is not an AWS region name`},
		{"empty-exclusion.yaml", 4, "checks.*.exclude[0]", "matches nothing"},
		{"unknown-top-field.yaml", 1, "check", "unknown field"},
		{"list-expected.yaml", 4, "checks.*.exclude[0].accounts", "must be a list"},
		{"not-yaml.yaml", 0, "", "not valid YAML"},
		{"tag-not-string.yaml", 4, "checks.ec2-idle-instance.exclude[0].tags.env", "must be a string"},
		{"params-for-all.yaml", 3, "checks.*.params", "belong to one check"},
		{"bad-ignoretag-mode.yaml", 3, "ignoreTag.honour", `"sometimes" must be any, none or accounts`},
		{"ignoretag-accounts-unused.yaml", 3, "ignoreTag.accounts", "only read with honour: accounts"},
		{"bad-ignoretag-account.yaml", 3, "ignoreTag.accounts", `"1111" is not a 12-digit AWS account ID`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			_, err := Load(filepath.Join("testdata", tc.file))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			if ce.Line != tc.line || ce.Field != tc.field || !strings.Contains(ce.Reason, tc.says) {
				t.Fatalf("got line %d field %q reason %q; want line %d field %q reason ~%q", ce.Line, ce.Field, ce.Reason, tc.line, tc.field, tc.says)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Fatalf("message %q does not name the file", err)
			}
		})
	}
	if _, err := Load(filepath.Join("testdata", "missing.yaml")); !errors.As(err, new(*Error)) {
		t.Fatalf("missing file: %v", err)
	}
}
