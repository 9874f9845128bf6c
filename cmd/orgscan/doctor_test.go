package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgscan/orgscan/pkg/doctor"
)

// Bad input to doctor and external-id exits 2 with one line naming what is
// wrong (a configuration error names file:line: field), before any AWS call.
func TestDoctorAndExternalIDUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(bad, []byte("organization:\n  mode: management\n  targets: [ou-nope]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"doctor"}, "--config: give the deployment configuration"},
		{[]string{"doctor", "--config", bad}, bad + `:3: organization.targets[0]: "ou-nope" is not a root ID`},
		{[]string{"doctor", "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml: open"},
		{[]string{"doctor", "--config", bad, "--concurrency", "0"}, "--concurrency 0: must be 1..1024"},
		{[]string{"doctor", "--config", bad, "--stack", ""}, "--stack: give the pipeline stack's name"},
		{[]string{"doctor", "--config", bad, "extra"}, `unexpected argument "extra"`},
		{[]string{"doctor", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"external-id"}, "--config: give the deployment configuration"},
		{[]string{"external-id", "--config", bad}, bad + `:3: organization.targets[0]`},
		{[]string{"external-id", "--config", bad, "--rotate=maybe"}, "invalid boolean value"},
		{[]string{"no-such"}, "(commands: run, start, doctor, external-id, "},
	} {
		code, stdout, stderr := runApp(t, tc.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d stdout %q stderr %q; want 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
	for _, cmd := range []string{"doctor", "external-id"} {
		code, stdout, _ := runApp(t, cmd, "-h")
		if code != exitOK || !strings.Contains(stdout, "Usage: orgscan "+cmd+" --config") {
			t.Errorf("%s -h: exit %d\n%s", cmd, code, stdout)
		}
	}
	if code, stdout, _ := runApp(t, "help"); code != exitOK || !strings.Contains(stdout, "orgscan doctor --config F") || !strings.Contains(stdout, "orgscan external-id --config F") {
		t.Errorf("help: %s", stdout)
	}
}

// The report's output and exit code: failures exit 1, warnings alone 0;
// --json is one object with the counts and every row.
func TestDoctorReportOutput(t *testing.T) {
	t.Parallel()
	failing := doctor.Report{Failures: 1, Warnings: 1, Accounts: 2, Regions: []string{"us-east-1"}, Targets: []string{"r-ab12"}, Results: []doctor.Result{
		{Check: doctor.CheckBucket, Subject: "b", Status: doctor.Fail, Message: "bucket b does not exist", Fix: "make deploy"},
		{Check: doctor.CheckSchedule, Subject: "s", Status: doctor.Warn, Message: "schedule is disabled", Fix: "enable it"},
		{Check: doctor.CheckTable, Subject: "t", Status: doctor.OK, Message: "table is ACTIVE"},
	}}
	warningOnly := failing
	warningOnly.Failures, warningOnly.OK, warningOnly.Results = 0, true, failing.Results[1:]

	for _, tc := range []struct {
		rep      doctor.Report
		jsonOut  bool
		failed   bool
		contains string
	}{
		{failing, false, true, "FAIL  bucket    b: bucket b does not exist — make deploy\n"},
		{warningOnly, false, false, "doctor: the deployment is ready for its first run (mind the warnings)\n"},
		{failing, true, true, `"failures": 1`},
	} {
		var out bytes.Buffer
		a := &App{Stdout: &out, Stderr: &out}
		err := a.writeDoctorReport(tc.rep, tc.jsonOut)
		if (err != nil) != tc.failed || !strings.Contains(out.String(), tc.contains) {
			t.Errorf("err %v, output:\n%s\nwant %q", err, out.String(), tc.contains)
		}
		if tc.jsonOut {
			var got struct {
				OK       bool
				Failures int
				Warnings int
				Accounts int
				Results  []map[string]any
			}
			if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.OK || got.Failures != 1 || got.Warnings != 1 || got.Accounts != 2 || len(got.Results) != 3 ||
				got.Results[0]["check"] != "bucket" || got.Results[0]["status"] != "fail" || got.Results[0]["fix"] != "make deploy" {
				t.Errorf("JSON %s: %+v %v", out.String(), got, err)
			}
		}
	}
	if err := (&App{Stdout: &bytes.Buffer{}}).writeDoctorReport(failing, false); err == nil || err.Error() != "the deployment is not ready: 1 failure" {
		t.Errorf("err %v", err)
	}
}
