// Command cdk is orgscan's CDK app: the pipeline stack (management or
// delegated-administrator account) and the member role stack (every member
// account, as a StackSet). `go run .` synthesizes both into cdk.out; the
// CDK CLI runs the same command (cdk.json).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Stack names, also the template file names in cdk.out.
const (
	PipelineStackName = "OrgScanPipeline"
	MemberStackName   = "OrgScanMemberRole"
)

func main() {
	err := run()
	jsii.Close() // stops the Node.js process that runs the CDK
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() (err error) {
	ctx, err := cdkJSONContext("cdk.json")
	if err != nil {
		return err
	}
	args, err := contextArgs(os.Args[1:])
	if err != nil {
		return err
	}
	for k, v := range args {
		ctx[k] = v
	}
	props := &awscdk.AppProps{Context: &ctx}
	if os.Getenv("CDK_OUTDIR") == "" {
		// Run without the CLI (make synth): write where the CLI would.
		props.Outdir = jsii.String("cdk.out")
	}
	app := awscdk.NewApp(props)
	if _, _, err := Build(app); err != nil {
		return err
	}
	// A failed validation (a cdk-nag error, say) is a JavaScript exception,
	// a panic here; the CDK has already printed the violations.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesis failed: %v", r)
		}
	}()
	app.Synth(nil)
	return nil
}

// Build adds the two stacks to app, configured by its context, with
// cdk-nag's AwsSolutions checks applied to both.
func Build(app awscdk.App) (*Pipeline, awscdk.Stack, error) {
	cfg, err := LoadConfig(app)
	if err != nil {
		return nil, nil, err
	}
	p, err := NewPipelineStack(app, PipelineStackName, cfg, &awscdk.StackProps{
		Description:        jsii.String("orgscan: finds idle resources across the organization (dispatcher, Distributed Map of collectors, aggregator)"),
		AnalyticsReporting: jsii.Bool(false),
	})
	if err != nil {
		return nil, nil, err
	}
	m, err := NewMemberStack(app, MemberStackName, cfg, &awscdk.StackProps{
		Description: jsii.String("orgscan: the read-only role the pipeline account's collector assumes (deploy to every member account with a StackSet)"),
		// A StackSet template cannot check the CDK bootstrap version: member
		// accounts are not bootstrapped.
		Synthesizer:        awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{GenerateBootstrapVersionRule: jsii.Bool(false)}),
		AnalyticsReporting: jsii.Bool(false),
	})
	if err != nil {
		return nil, nil, err
	}
	// The trust policy names the collector role, which IAM requires to
	// exist: `cdk deploy --all` deploys the pipeline first.
	m.AddStackDependency(p.Stack, jsii.String("the member role trusts the pipeline's collector role"))
	ApplyNag(app)
	return p, m, nil
}

// contextArgs parses `-c key=value` (or --context) arguments, the CDK CLI's
// syntax, for runs without the CLI (make synth). Under the CLI, which passes
// context in CDK_CONTEXT_JSON and no arguments, there are none.
func contextArgs(args []string) (map[string]interface{}, error) {
	out := map[string]interface{}{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var kv string
		switch {
		case a == "-c" || a == "--context":
			if i+1 == len(args) {
				return nil, fmt.Errorf("%s needs key=value", a)
			}
			i++
			kv = args[i]
		case strings.HasPrefix(a, "--context="):
			kv = strings.TrimPrefix(a, "--context=")
		default:
			return nil, fmt.Errorf("unknown argument %q (usage: go run . [-c key=value]...)", a)
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("context %q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// cdkJSONContext reads the "context" of cdk.json (feature flags and any
// defaults), so that `go run .` without the CLI and the tests synthesize
// what the CLI would. Context from the CLI (-c) takes precedence.
func cdkJSONContext(path string) (map[string]interface{}, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var f struct {
		Context map[string]interface{} `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Context == nil {
		f.Context = map[string]interface{}{}
	}
	return f.Context, nil
}
