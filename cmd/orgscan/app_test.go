package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
)

func runApp(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdout: &out, Stderr: &errb}
	code = app.Main(context.Background(), args)
	return code, out.String(), errb.String()
}

// Bad flags and values exit 2 with one line naming the bad value, and write
// nothing.
func TestBadInputExits2WithOneLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // must appear in the message
	}{
		{[]string{"run", "--simulate", "--concurrency", "0"}, "--concurrency 0"},
		{[]string{"run", "--simulate", "--concurrency", "-3"}, "--concurrency -3"},
		{[]string{"run", "--simulate", "--concurrency", "abc"}, `"abc"`},
		{[]string{"run", "--simulate", "--checks", "ec2-idle-instance,ec2-nope"}, `"ec2-nope"`},
		{[]string{"run", "--simulate", "--accounts", "12345"}, `"12345"`},
		{[]string{"run", "--simulate", "--accounts", "12345678901a"}, `"12345678901a"`},
		{[]string{"run", "--simulate", "--exclude-accounts", "x"}, `"x"`},
		{[]string{"run", "--simulate", "--accounts", "000000000000"}, `"000000000000"`},
		{[]string{"run", "--simulate", "--regions", "mars-1"}, `"mars-1"`},
		{[]string{"run", "--simulate", "--regions", "ap-east-1"}, `"ap-east-1"`},
		{[]string{"run", "--simulate", "--regions", ","}, `","`},
		{[]string{"run", "--simulate", "--lookback-days", "999"}, `"999"`},
		{[]string{"run", "--simulate", "--lookback-days", "-1"}, "-1"},
		{[]string{"run", "--simulate", "--run-id", "a/b"}, `"a/b"`},
		{[]string{"run", "--simulate", "--sim-throttle", "1.5"}, "1.5"},
		{[]string{"run", "--simulate", "--sim-accounts", "0"}, "0"},
		{[]string{"run", "--simulate", "--sim-regions", "99"}, "99"},
		{[]string{"run", "--simulate", "--sim-regions", "us-east-1,nowhere"}, `"nowhere"`},
		{[]string{"run", "--simulate", "--sim-deny-accounts", "42"}, `"42"`},
		{[]string{"run", "--simulate", "--sim-deny-ops", "DescribeInstances"}, `"DescribeInstances"`},
		{[]string{"run", "--simulate", "--sim-latency", "fast"}, `"fast"`},
		{[]string{"run", "--simulate", "--no-such-flag"}, "no-such-flag"},
		{[]string{"run", "--simulate", "extra"}, `"extra"`},
		{[]string{"run", "--seed", "3"}, "--seed needs --simulate"},
		{[]string{"run", "--simulate", "--org"}, "--org does not apply to --simulate"},
		{[]string{"run", "--simulate", "--profile", "p"}, "--profile does not apply"},
		{[]string{"run", "--simulate", "--as-of", "yesterday"}, `"yesterday"`},
		{[]string{"run", "--simulate", "--role-name", "a b"}, `"a b"`},
		{[]string{"run", "--organizational-units", "ou-abcd-12345678"}, "--organizational-units needs --org"},
		{[]string{"run", "--org", "--organizational-units", "ou-1"}, `"ou-1"`},
		{[]string{"frobnicate"}, `"frobnicate"`},
		{[]string{"run", "--simulate", "--config", "../../pkg/config/testdata/bad-type.yaml"}, `bad-type.yaml:4: checks.ec2-idle-instance.params.cpuPercent: must be a number, got "five"`},
		{[]string{"run", "--simulate", "--config", "../../pkg/config/testdata/unknown-check.yaml"}, "checks.ec2-idle-instnce: unknown check"},
		{[]string{"run", "--simulate", "--config", "no-such-file.yaml"}, "no-such-file.yaml"},
		{[]string{"checks", "--yaml"}, "yaml"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := append(append([]string{}, tc.args...), "--data", dir)
			if tc.args[0] != "run" {
				args = tc.args
			}
			code, stdout, stderr := runApp(t, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q: want one line naming %s", stderr, tc.want)
			}
			if stdout != "" {
				t.Fatalf("stdout %q", stdout)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("bad input wrote %v", entries)
			}
		})
	}
}

func TestRunSimulatedPrintsSummary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runApp(t, "run", "--simulate", "--sim-accounts", "6", "--seed", "4", "--data", dir, "--run-id", "cli-test")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range append(checks.IDs(), "orgscan run cli-test", "24 pairs (6 accounts × 4 regions)", "24 ok, 0 partial, 0 failed",
		"API CALLS BY OPERATION", "ec2:DescribeInstances", "cloudwatch:GetMetricData", "metrics requested:", "total", "findings: ") {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "runs", "cli-test", "findings.jsonl")); err != nil {
		t.Fatal(err)
	}
}

func TestRunJSONWritesFindingLines(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runApp(t, "run", "--simulate", "--sim-accounts", "3", "--json", "--data", t.TempDir(),
		"--checks", "ec2-unassociated-eip,lambda-unused-function")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no findings on stdout")
	}
	for _, l := range lines {
		var f finding.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if f.CheckID != "ec2-unassociated-eip" && f.CheckID != "lambda-unused-function" {
			t.Fatalf("finding of an unselected check: %s", f.CheckID)
		}
		if f.FindingID == "" || f.Reason == "" || f.Status != finding.Open {
			t.Fatalf("incomplete finding %+v", f)
		}
	}
	if !strings.Contains(stderr, "API CALLS BY OPERATION") {
		t.Fatal("the summary should go to stderr with --json")
	}
}

func TestDeniedAccountReported(t *testing.T) {
	t.Parallel()
	// Find an account ID of seed 1, then deny it.
	_, stdout, _ := runApp(t, "run", "--simulate", "--sim-accounts", "2", "--json", "--quiet", "--data", t.TempDir())
	var f finding.Finding
	if err := json.Unmarshal([]byte(strings.SplitN(stdout, "\n", 2)[0]), &f); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runApp(t, "run", "--simulate", "--sim-accounts", "2", "--sim-deny-accounts", f.AccountID, "--data", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "4 ok, 0 partial, 4 failed") || !strings.Contains(stdout, f.AccountID) || !strings.Contains(stdout, "AccessDenied") {
		t.Fatalf("summary does not say which pairs failed and why:\n%s", stdout)
	}
}

func TestChecksCommand(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runApp(t, "checks")
	if code != exitOK {
		t.Fatal(code)
	}
	for _, id := range checks.IDs() {
		if !strings.Contains(stdout, id) {
			t.Errorf("checks output lacks %s", id)
		}
	}
	code, stdout, _ = runApp(t, "checks", "--json")
	var infos []checkInfo
	if code != exitOK || json.Unmarshal([]byte(stdout), &infos) != nil || len(infos) != len(checks.IDs()) {
		t.Fatalf("checks --json: %d %q", code, stdout)
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{0: "$0.00", 3.5: "$3.50", 1234.567: "$1,234.57", 1234567.1: "$1,234,567.10", -45.2: "-$45.20", 999.999: "$1,000.00"} {
		if got := money(in); got != want {
			t.Errorf("money(%v) = %s, want %s", in, got, want)
		}
	}
}
