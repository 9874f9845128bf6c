package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxBootstrapBytes is the size budget of each function's bootstrap: small
// binaries start faster, and a function that links code it never runs is a
// packaging mistake.
const maxBootstrapBytes = 15_000_000

// The deployed functions (arm64, `make functions`) fit the budget.
func TestFunctionBinariesFitTheBudget(t *testing.T) {
	dir := makeFunctions(t, "arm64")
	for _, fn := range []string{"dispatcher", "collector", "aggregator"} {
		st, err := os.Stat(filepath.Join(dir, fn, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.1f MB", fn, float64(st.Size())/1e6)
		if st.Size() > maxBootstrapBytes {
			t.Errorf("%s bootstrap is %d bytes, over the %d budget (see TestFunctionsLinkOnlyWhatTheyRun)", fn, st.Size(), maxBootstrapBytes)
		}
	}
}

// Each function links only the code it runs. The budget above depends on
// it: the scan services' clients belong to the collector alone, and
// text/template (html/template) makes the linker keep every exported method
// of every type stored in an interface, which links whole SDK clients.
func TestFunctionsLinkOnlyWhatTheyRun(t *testing.T) {
	scanServices := []string{"rds", "lambda", "elasticache", "elasticloadbalancingv2", "cloudwatchlogs", "cloudwatch"}
	everywhere := []string{"text/template", "html/template", "github.com/parquet-go/parquet-go", "google.golang.org/protobuf/proto",
		"github.com/aws/aws-sdk-go-v2/service/pricing", "github.com/duckdb/duckdb-go/v2"}
	forbidden := map[string][]string{
		// The dispatcher reads the account's unreserved concurrency
		// (lambda:GetAccountSettings) to cap the Map: the Lambda client is
		// the only scan service client it links.
		"dispatcher": append(services(withoutString(scanServices, "lambda")...), append(everywhere, "github.com/orgscan/orgscan/pkg/checks", "github.com/orgscan/orgscan/pkg/report")...),
		"collector":  append(services("organizations", "eventbridge"), everywhere...),
		"aggregator": append(services(append(scanServices, "ec2", "organizations")...), append(everywhere, "github.com/orgscan/orgscan/pkg/checks")...),
	}
	for fn, bad := range forbidden {
		cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "./functions/"+fn)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", fn, err)
		}
		deps := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			deps[p] = true
		}
		for _, p := range bad {
			if deps[p] {
				t.Errorf("%s links %s", fn, p)
			}
		}
	}
}

func services(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "github.com/aws/aws-sdk-go-v2/service/" + n
	}
	return out
}

func withoutString(xs []string, x string) []string {
	var out []string
	for _, v := range xs {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}
