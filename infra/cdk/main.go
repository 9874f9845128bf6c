// Command cdk is orgscan's CDK app, built from one deployment configuration
// file (deploy.yaml, or the checked-in deploy.example.yaml): the pipeline
// stack and the member role's StackSet (the management or
// delegated-administrator account), and the management account's own
// member role. `go run .` synthesizes them into cdk.out; the CDK CLI runs
// the same command (cdk.json).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgscan/orgscan/pkg/deployconfig"
)

// Stack names, also the template file names in cdk.out.
const (
	PipelineStackName       = deployconfig.PipelineStackName
	StackSetStackName       = deployconfig.StackSetStackName
	ManagementRoleStackName = deployconfig.ManagementRoleStackName
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
	stacks, err := Build(app)
	if err != nil {
		return err
	}
	// A failed validation (a cdk-nag error, say) is a JavaScript exception,
	// a panic here; the CDK has already printed the violations.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesis failed: %v", r)
		}
	}()
	asm := app.Synth(nil)
	// What `make deploy` deploys with the pipeline account's credentials:
	// the management account's role too when that is the same account.
	deploy := []string{PipelineStackName, StackSetStackName}
	if stacks.ManagementRoleWithPipeline {
		deploy = append(deploy, ManagementRoleStackName)
	}
	return os.WriteFile(filepath.Join(*asm.Directory(), DeployStacksFile), []byte(strings.Join(deploy, " ")+"\n"), 0o644)
}

// DeployStacksFile, in the cloud assembly, names the stacks `make deploy`
// deploys from it with the pipeline account's credentials.
const DeployStacksFile = "orgscan-deploy-stacks.txt"

// Stacks are the app's stacks.
type Stacks struct {
	Pipeline *Pipeline
	// StackSet declares the member role's service-managed StackSet.
	StackSet awscdk.Stack
	// ManagementRole is the management account's member role;
	// ManagementRoleWithPipeline says it is deployed with the pipeline
	// (management mode) rather than with the management account's own
	// credentials (delegated-admin mode).
	ManagementRole             awscdk.Stack
	ManagementRoleWithPipeline bool
}

// Build adds the three stacks to app, configured by the deployment
// configuration its context names, with cdk-nag's AwsSolutions checks
// applied to all.
func Build(app awscdk.App) (*Stacks, error) {
	cfg, err := LoadConfig(app)
	if err != nil {
		return nil, err
	}
	p, err := NewPipelineStack(app, PipelineStackName, cfg, &awscdk.StackProps{
		Description:        jsii.String("orgscan: finds idle resources across the organization (dispatcher, Distributed Map of collectors, aggregator)"),
		AnalyticsReporting: jsii.Bool(false),
	})
	if err != nil {
		return nil, err
	}
	set, err := NewStackSetStack(app, StackSetStackName, cfg, &awscdk.StackProps{
		Description:        jsii.String("orgscan: the StackSet that puts the read-only member role into every account of the targets"),
		AnalyticsReporting: jsii.Bool(false),
	})
	if err != nil {
		return nil, err
	}
	mgmt := NewManagementRoleStack(app, ManagementRoleStackName, cfg)
	ApplyNag(app)
	return &Stacks{Pipeline: p, StackSet: set, ManagementRole: mgmt, ManagementRoleWithPipeline: cfg.Organization.Mode == deployconfig.ModeManagement}, nil
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
