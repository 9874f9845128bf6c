package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/deployconfig"
	"github.com/orgscan/orgscan/pkg/doctor"
)

// externalID creates the SSM parameter holding the sts:ExternalId the
// member roles require (memberRole.externalIdParameter), or with --rotate
// gives it a new random value. Only --cdk-parameters prints the value (the
// external ID is a confused-deputy guard, not a secret), for make
// deploy-management-role.
func (a *App) externalID(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("orgscan external-id", flag.ContinueOnError)
	cfgFile := fs.String("config", "", "deployment configuration (infra/cdk/deploy.yaml)")
	rotate := fs.Bool("rotate", false, "replace the value with a new random one")
	cdkParams := fs.Bool("cdk-parameters", false, "print, for the management account's role stack (delegated-admin mode), the CDK CLI arguments that pass the current external ID and the pipeline account: --parameters ExternalId=… --parameters PipelineAccountId=… (the only output that holds the value; nothing is changed)")
	profile := fs.String("profile", "", "AWS shared-config profile of the pipeline account (SSO profiles included)")
	region := fs.String("region", "", "the pipeline's region (default: the profile's or environment's)")
	if err := a.parseFlags(fs, args, "Usage: orgscan external-id --config infra/cdk/deploy.yaml [--rotate | --cdk-parameters] [--profile P] [--region R]"); err != nil {
		return err
	}
	if *rotate && *cdkParams {
		return usagef("--rotate and --cdk-parameters: give one")
	}
	if *cfgFile == "" {
		return usagef("--config: give the deployment configuration (infra/cdk/deploy.yaml)")
	}
	cfg, err := deployconfig.Load(*cfgFile)
	if err != nil {
		return usagef("%v", err)
	}
	awsCfg, err := awsx.LoadConfig(ctx, awsx.Options{Profile: *profile, Region: *region})
	if err != nil {
		return awsx.ExplainCredentials(err, *profile)
	}
	if *cdkParams {
		return a.externalIDParameters(ctx, awsCfg, cfg, *profile)
	}
	ch, err := doctor.EnsureExternalID(ctx, ssm.NewFromConfig(awsCfg), cfg.MemberRole.ExternalIDParameter, *rotate, nil)
	if err != nil {
		return awsx.ExplainCredentials(err, *profile)
	}
	switch {
	case ch.Rotated:
		fmt.Fprintf(a.Stdout, "rotated %s to version %d: run make deploy (and make deploy-management-role in delegated-admin mode) so that the collector and every member role take it\n", ch.Name, ch.Version)
	case ch.Created:
		fmt.Fprintf(a.Stdout, "created %s (version %d)\n", ch.Name, ch.Version)
	default:
		fmt.Fprintf(a.Stdout, "%s exists (version %d); nothing changed\n", ch.Name, ch.Version)
	}
	return nil
}

// externalIDParameters prints the CDK CLI arguments that deploy
// OrgScanManagementRole with the management account's credentials: the
// external ID read from the pipeline account's parameter, and the pipeline
// account (the caller's).
func (a *App) externalIDParameters(ctx context.Context, awsCfg aws.Config, cfg deployconfig.Config, profile string) error {
	name := cfg.MemberRole.ExternalIDParameter
	out, err := ssm.NewFromConfig(awsCfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("%s does not exist in the pipeline account: make deploy creates it (or orgscan external-id --config …)", name)
		}
		return awsx.ExplainCredentials(err, profile)
	}
	id, err := sts.NewFromConfig(awsCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return awsx.ExplainCredentials(err, profile)
	}
	value := ""
	if out.Parameter != nil {
		value = aws.ToString(out.Parameter.Value)
	}
	// The value must be one the member role's parameter accepts, and
	// nothing a shell would expand: it is pasted into a command line.
	if len(value) < 2 || len(value) > 1224 || !externalIDValueRe.MatchString(value) {
		return fmt.Errorf("%s holds a value that is not an sts:ExternalId (2-1224 of letters, digits and +=,.@:/-_): rotate it with orgscan external-id --rotate", name)
	}
	fmt.Fprintf(a.Stdout, "--parameters ExternalId=%s --parameters PipelineAccountId=%s\n", value, aws.ToString(id.Account))
	return nil
}

var externalIDValueRe = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
