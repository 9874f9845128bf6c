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

// The configurations the tests synthesize: the checked-in example (what
// make synth uses on a fresh checkout) and a delegated-administrator one
// with every optional feature.
const (
	exampleConfig   = ExampleConfigFile
	delegatedConfig = "testdata/deploy.delegated.yaml"
)

type synthesized struct {
	app    awscdk.App
	outdir string
	stacks *Stacks
	// The pipeline, for the many tests about it.
	pipeline *Pipeline
	// Templates as assertions sees them and as plain JSON, by stack name;
	// memberBody is the StackSet's template (its TemplateBody).
	templates  map[string]assertions.Template
	json       map[string]map[string]any
	memberBody map[string]any
	// For the pipeline stack.
	pipelineT    assertions.Template
	pipelineJSON map[string]any
}

var (
	synthMu sync.Mutex
	synthed = map[string]*synthesized{}
	outRoot string
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
		p := filepath.Join("../../dist", fn, "bootstrap")
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

// synth returns the app synthesized with the example configuration.
func synth(t *testing.T) *synthesized { return synthWith(t, exampleConfig) }

// synthWith returns the app synthesized with the configuration file at
// path (once per path).
func synthWith(t *testing.T, path string) *synthesized {
	t.Helper()
	requireBootstraps(t)
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthed[path]; ok {
		if s == nil {
			t.Fatalf("synthesize %s failed before", path)
		}
		return s
	}
	synthed[path] = nil
	var s *synthesized
	err := catch(func() error {
		app, out := testApp(t, map[string]any{
			"config": path,
			// With this flag (cdk.json) an error annotation, such as a
			// cdk-nag finding, fails the whole synthesis; here it stays
			// an annotation, so that TestNoUnsuppressedNagFindings names
			// each finding and the other tests still run.
			"@aws-cdk/core:annotationsInValidationReport": false,
		})
		stacks, err := Build(app)
		if err != nil {
			return err
		}
		app.Synth(nil)
		s = &synthesized{app: app, outdir: out, stacks: stacks, pipeline: stacks.Pipeline,
			templates: map[string]assertions.Template{}, json: map[string]map[string]any{}}
		for name, st := range map[string]awscdk.Stack{PipelineStackName: stacks.Pipeline.Stack, StackSetStackName: stacks.StackSet, ManagementRoleStackName: stacks.ManagementRole} {
			s.templates[name] = assertions.Template_FromStack(st, nil)
			b, err := os.ReadFile(filepath.Join(out, name+".template.json"))
			if err != nil {
				return err
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			s.json[name] = m
		}
		s.pipelineT, s.pipelineJSON = s.templates[PipelineStackName], s.json[PipelineStackName]
		for _, r := range s.json[StackSetStackName]["Resources"].(map[string]any) {
			if body, ok := props(r.(map[string]any))["TemplateBody"].(string); ok {
				if err := json.Unmarshal([]byte(body), &s.memberBody); err != nil {
					return fmt.Errorf("StackSet TemplateBody: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("synthesize %s: %v", path, err)
	}
	synthed[path] = s
	return s
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
