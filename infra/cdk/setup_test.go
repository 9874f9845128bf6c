package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The tests synthesize the app once (the jsii runtime and the synthesis take
// seconds) into a temporary cloud assembly, and read both templates from it.

const (
	testExternalID = "orgscan-test-external-id"
	testAccount    = "111111111111"
)

type synthesized struct {
	app      awscdk.App
	outdir   string
	pipeline *Pipeline
	member   awscdk.Stack
	// Templates as assertions sees them and as plain JSON.
	pipelineT, memberT       assertions.Template
	pipelineJSON, memberJSON map[string]any
}

var (
	synthOnce sync.Once
	synthed   *synthesized
	synthErr  error
	outRoot   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	if outRoot != "" {
		os.RemoveAll(outRoot)
	}
	os.Exit(code)
}

// requireBootstraps fails the test when `make build` has not produced the
// functions: the pipeline stack packages them as assets.
func requireBootstraps(t *testing.T) {
	t.Helper()
	for _, fn := range Functions {
		p := filepath.Join(defaultConfig().DistDir, fn, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is missing: run make build (or make functions) first", p)
		}
	}
}

// testApp returns an app with cdk.json's context plus extra, writing into a
// fresh directory.
func testApp(t *testing.T, extra map[string]any) (awscdk.App, string) {
	t.Helper()
	ctx, err := cdkJSONContext("cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		ctx[k] = v
	}
	if outRoot == "" {
		if outRoot, err = os.MkdirTemp("", "orgscan-cdk-test-"); err != nil {
			t.Fatal(err)
		}
	}
	out, err := os.MkdirTemp(outRoot, "cdk.out-")
	if err != nil {
		t.Fatal(err)
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)}), out
}

// synth returns the app synthesized with the default configuration plus the
// two values a deployment must give (externalId, pipelineAccountId).
// testNotificationTopic is the SNS topic the tested deployment sends run
// events to (the rule is optional; the tests synthesize it).
const testNotificationTopic = "arn:aws:sns:us-east-1:111111111111:orgscan-runs"

func synth(t *testing.T) *synthesized {
	t.Helper()
	requireBootstraps(t)
	synthOnce.Do(func() {
		synthErr = catch(func() error {
			app, out := testApp(t, map[string]any{
				"externalId": testExternalID, "pipelineAccountId": testAccount,
				"notificationTopicArn": testNotificationTopic,
				// With this flag (cdk.json) an error annotation, such as a
				// cdk-nag finding, fails the whole synthesis; here it stays
				// an annotation, so that TestNoUnsuppressedNagFindings names
				// each finding and the other tests still run.
				"@aws-cdk/core:annotationsInValidationReport": false,
			})
			p, m, err := Build(app)
			if err != nil {
				return err
			}
			app.Synth(nil)
			s := &synthesized{app: app, outdir: out, pipeline: p, member: m}
			s.pipelineT = assertions.Template_FromStack(p.Stack, nil)
			s.memberT = assertions.Template_FromStack(m, nil)
			for name, dst := range map[string]*map[string]any{PipelineStackName: &s.pipelineJSON, MemberStackName: &s.memberJSON} {
				b, err := os.ReadFile(filepath.Join(out, name+".template.json"))
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, dst); err != nil {
					return err
				}
			}
			synthed = s
			return nil
		})
	})
	if synthErr != nil {
		t.Fatalf("synthesize: %v", synthErr)
	}
	return synthed
}

// catch turns a jsii panic (a JavaScript exception, such as a failed
// assertions match) into an error, so one failed match fails one test.
func catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return fn()
}

// assert runs an assertions call and reports its failure.
func assert(t *testing.T, what string, fn func()) {
	t.Helper()
	if err := catch(func() error { fn(); return nil }); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// resources returns the template's resources of type typ by logical ID.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// props returns a resource's Properties.
func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// only returns the single resource of typ, failing otherwise.
func only(t *testing.T, tmpl map[string]any, typ string) (string, map[string]any) {
	t.Helper()
	rs := resources(tmpl, typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(rs), typ)
	}
	for id, r := range rs {
		return id, r
	}
	panic("unreachable")
}

// logicalID returns the logical ID of a construct's CloudFormation
// resource: the construct itself (L1) or its default child (L2).
func logicalID(stack awscdk.Stack, c constructs.IConstruct) string {
	if el, ok := c.(awscdk.CfnElement); ok {
		return *stack.GetLogicalId(el)
	}
	return *stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}
