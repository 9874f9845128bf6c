package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/orgscan/orgscan/internal/mototest"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
)

// rieBinary is the AWS Lambda Runtime Interface Emulator, installed into the
// project's bin/ by `make tools` (part of `make test`).
func rieBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ORGSCAN_RIE")
	if p == "" {
		p = filepath.Join("..", "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the Lambda runtime interface emulator is missing (%v): run `make tools`", err)
	}
	abs, _ := filepath.Abs(p)
	return abs
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// function is one orgscan Lambda function running under the emulator.
type function struct {
	url string
	log *bytes.Buffer
}

// buildFunctions builds the three functions exactly as `make functions`
// builds them for deployment (same target, same flags) but for this
// machine's architecture; it returns the directory holding <fn>/bootstrap.
func buildFunctions(t *testing.T) string {
	t.Helper()
	return makeFunctions(t, runtime.GOARCH)
}

// makeFunctions runs `make functions` for arch into a temporary directory.
func makeFunctions(t *testing.T, arch string) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("make", "-s", "functions", "FUNCTION_ARCH="+arch, "DIST="+dir)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make functions: %v\n%s", err, out)
	}
	return dir
}

// startFunction runs the built function under the emulator, as its
// `bootstrap`, with env added to the test's environment.
func startFunction(t *testing.T, rie, built, name string, env map[string]string) *function {
	t.Helper()
	dir := t.TempDir()
	if err := os.Rename(filepath.Join(built, name, "bootstrap"), filepath.Join(dir, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	port, apiPort := freePort(t), freePort(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), filepath.Join(dir, "bootstrap"))
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	// The emulator gives no readiness signal: probe its port until it
	// accepts a connection (bounded).
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator for %s did not listen: %v\n%s", name, err, log.String())
		}
		runtime.Gosched()
		time.Sleep(20 * time.Millisecond)
	}
	return &function{url: "http://" + addr + "/2015-03-31/functions/function/invocations", log: &log}
}

// invoke sends an event and returns the function's output, or the
// errorType and errorMessage of a failed invocation.
func (f *function) invoke(t *testing.T, event []byte, out any) (errorType, errorMessage string) {
	t.Helper()
	resp, err := http.Post(f.url, "application/json", bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &e) == nil && e.ErrorType != "" {
		return e.ErrorType, e.ErrorMessage
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("output %s: %v\nlog:\n%s", body, err, f.log.String())
		}
	}
	return "", ""
}

func event(t *testing.T, name string, vars map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	return []byte(s)
}

// The three functions, built as deployed and run under the Lambda runtime
// interface emulator against moto, handle the events in testdata/events:
// a scheduled EventBridge event, a manual console input, a batch of work
// items, and malformed input refused with the errorType the state machine
// matches.
func TestLambdaFunctionsUnderTheRuntimeEmulator(t *testing.T) {
	w := seeded(t)
	rie := rieBinary(t)
	// The functions use their bucket's root (as the state machine does):
	// a bucket of this test's own.
	const bucket, prefix = "orgscan-lambda-it", ""
	cfg, err := awsx.LoadConfig(context.Background(), awsx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s3c := awsx.NewS3(cfg)
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	_, state := stateTable(t)
	env := map[string]string{"ORGSCAN_BUCKET": bucket, "ORGSCAN_EXTERNAL_ID": "orgscan-it", "ORGSCAN_TABLE": state.Table}
	built := buildFunctions(t)
	dispatcher := startFunction(t, rie, built, "dispatcher", env)
	collector := startFunction(t, rie, built, "collector", env)
	aggregator := startFunction(t, rie, built, "aggregator", env)

	objects := func() int {
		out, err := s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Contents)
	}
	pairs := (len(w.Members) + 1) * len(w.Regions) // the management account is a member too

	var scheduled pipeline.DispatchResult
	if typ, msg := dispatcher.invoke(t, event(t, "scheduled.json", nil), &scheduled); typ != "" {
		t.Fatalf("scheduled event: %s: %s\n%s", typ, msg, dispatcher.log)
	}
	if scheduled.Pairs != pairs || len(scheduled.Checks) != 2 || scheduled.ManifestKey != pipeline.ManifestKey(scheduled.RunID) {
		t.Fatalf("scheduled dispatch %+v", scheduled)
	}
	var manual pipeline.DispatchResult
	if typ, msg := dispatcher.invoke(t, event(t, "manual.json", nil), &manual); typ != "" {
		t.Fatalf("manual input: %s: %s", typ, msg)
	}
	if manual.RunID != "manual-lambda-it" || manual.Pairs != pairs || len(manual.Checks) != len(checks.IDs()) {
		t.Fatalf("manual dispatch %+v", manual)
	}
	before := objects()
	if typ, msg := dispatcher.invoke(t, event(t, "malformed.json", nil), nil); typ != "InvalidRequestError" || !strings.Contains(msg, `"12345"`) {
		t.Fatalf("malformed request: errorType %q message %q", typ, msg)
	}
	if after := objects(); after != before {
		t.Fatalf("a refused request wrote %d objects", after-before)
	}

	member := w.Members[0].ID
	var collected pipeline.CollectOutput
	if typ, msg := collector.invoke(t, event(t, "workitem.json", map[string]string{"MEMBER": member}), &collected); typ != "" {
		t.Fatalf("work items: %s: %s\n%s", typ, msg, collector.log)
	}
	if len(collected.Results) != 2 {
		t.Fatalf("results %+v", collected.Results)
	}
	for _, r := range collected.Results {
		// The collector runs on the real clock: everything moto created is
		// minutes old, so only the age-free check (Elastic IPs) may report;
		// nothing younger than a lookback is ever called idle.
		if r.Status != pipeline.PairOK || r.Findings != 1 {
			t.Fatalf("pair %+v", r)
		}
	}
	if typ, _ := collector.invoke(t, event(t, "malformed-workitem.json", nil), nil); typ != "InvalidRequestError" {
		t.Fatalf("malformed work item: errorType %q", typ)
	}

	agg, _ := json.Marshal(pipeline.AggregateRequest{RunID: "manual-lambda-it", StartedAt: manual.StartedAt, Pairs: collected.Results})
	var res pipeline.AggregateResult
	if typ, msg := aggregator.invoke(t, agg, &res); typ != "" {
		t.Fatalf("aggregate: %s: %s\n%s", typ, msg, aggregator.log)
	}
	if res.Findings != 2 || res.New != 2 || res.Pairs != 2 || res.PairsFailed != 0 || res.Status != store.RunComplete ||
		res.SummaryKey != pipeline.SummaryKey("manual-lambda-it") {
		t.Fatalf("result %+v", res)
	}
	// The whole summary is in S3; the state machine gets the small result.
	src, err := store.S3{Client: s3c, Bucket: bucket, Prefix: prefix}.Open(context.Background(), res.SummaryKey)
	if err != nil {
		t.Fatal(err)
	}
	var sum pipeline.RunSummary
	err = json.NewDecoder(src).Decode(&sum)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Findings != 2 || len(sum.ByCheck) != 1 || sum.ByCheck[0].CheckID != "ec2-unassociated-eip" || sum.PairsOK != 2 || sum.New != 2 {
		t.Fatalf("summary %+v", sum)
	}
	// The latest state went to DynamoDB.
	items, err := state.AccountFindings(context.Background(), member)
	if err != nil || len(items) != 2 {
		t.Fatalf("state of %s: %d items, %v", member, len(items), err)
	}
	var got []mototest.Expected
	rc, err := store.S3{Client: s3c, Bucket: bucket, Prefix: prefix}.Open(context.Background(), sum.FindingsKey)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(rc)
	for dec.More() {
		var f struct{ CheckID, AccountID, Region, ResourceID string }
		if err := dec.Decode(&f); err != nil {
			t.Fatal(err)
		}
		got = append(got, mototest.Expected{CheckID: f.CheckID, AccountID: f.AccountID, Region: f.Region, ResourceID: f.ResourceID})
	}
	rc.Close()
	want := expectedFor(w, func(e mototest.Expected) bool { return e.AccountID == member && e.CheckID == "ec2-unassociated-eip" })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
}
