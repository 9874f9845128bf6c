package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// cfnLintIgnored are the cfn-lint rules the test ignores, each for a reason:
//
//   - W3005 (DependsOn already enforced by a GetAtt): CDK makes a function
//     and the state machine depend on their role explicitly, besides the
//     role's ARN, so that the role's default policy exists first; the
//     redundancy is CDK's and harmless.
var cfnLintIgnored = []string{"W3005"}

// cfnLintMain is what the cfn-lint command runs (its console script).
const cfnLintMain = "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())"

// TestCfnLint runs cfn-lint on every synthesized template of both
// configurations and on the StackSet's member template and expects no
// error and no warning beyond cfnLintIgnored. (Informational findings, off
// by default, are style advice on CDK's output, such as I1022 "prefer
// Fn::Sub to Fn::Join".)
func TestCfnLint(t *testing.T) {
	s := synth(t)
	// The interpreter `make python-tools` chose (the one with the pinned
	// cfn-lint), as for moto server (internal/mototest).
	python := os.Getenv("ORGSCAN_PYTHON")
	if python == "" {
		python = "python3"
	}
	if err := exec.Command(python, "-c", "import cfnlint").Run(); err != nil {
		t.Fatalf("cfn-lint is not installed for %s (make python-tools): %v", python, err)
	}
	// The StackSet's member template is linted on its own too.
	body, err := json.Marshal(s.memberBody)
	if err != nil {
		t.Fatal(err)
	}
	memberTmpl := filepath.Join(t.TempDir(), "member.template.json")
	if err := os.WriteFile(memberTmpl, body, 0o600); err != nil {
		t.Fatal(err)
	}
	d := synthWith(t, delegatedConfig)
	for name, tmpl := range map[string]string{
		PipelineStackName:                            filepath.Join(s.outdir, PipelineStackName+".template.json"),
		StackSetStackName:                            filepath.Join(s.outdir, StackSetStackName+".template.json"),
		ManagementRoleStackName:                      filepath.Join(s.outdir, ManagementRoleStackName+".template.json"),
		"StackSet member template":                   memberTmpl,
		"delegated-admin " + PipelineStackName:       filepath.Join(d.outdir, PipelineStackName+".template.json"),
		"delegated-admin " + StackSetStackName:       filepath.Join(d.outdir, StackSetStackName+".template.json"),
		"delegated-admin " + ManagementRoleStackName: filepath.Join(d.outdir, ManagementRoleStackName+".template.json"),
	} {
		args := []string{"--format", "json"}
		for _, r := range cfnLintIgnored {
			args = append(args, "--ignore-checks", r)
		}
		cmd := exec.Command(python, append([]string{"-c", cfnLintMain}, append(args, "--", tmpl)...)...)
		out, err := cmd.Output()
		// cfn-lint's exit code is a bit mask of the levels it found (2
		// errors, 4 warnings, 8 informational): the JSON says which.
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("cfn-lint %s: %v", name, err)
		}
		var matches []struct {
			Rule struct {
				ID string `json:"Id"`
			} `json:"Rule"`
			Level    string `json:"Level"`
			Message  string `json:"Message"`
			Location struct {
				Path []any `json:"Path"`
			} `json:"Location"`
		}
		if err := json.Unmarshal(out, &matches); err != nil {
			t.Fatalf("cfn-lint %s: %v\n%s", name, err, out)
		}
		for _, m := range matches {
			t.Errorf("cfn-lint %s: %s %s at %v: %s", name, m.Level, m.Rule.ID, m.Location.Path, m.Message)
		}
	}
}
