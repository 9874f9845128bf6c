package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/deployconfig"
	"github.com/orgscan/orgscan/pkg/doctor"
)

// externalID creates the SSM parameter holding the sts:ExternalId the
// member roles require (memberRole.externalIdParameter), or with --rotate
// gives it a new random value. It never prints the value.
func (a *App) externalID(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("orgscan external-id", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgFile := fs.String("config", "", "deployment configuration (infra/cdk/deploy.yaml)")
	rotate := fs.Bool("rotate", false, "replace the value with a new random one")
	profile := fs.String("profile", "", "AWS shared-config profile of the pipeline account (SSO profiles included)")
	region := fs.String("region", "", "the pipeline's region (default: the profile's or environment's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, "Usage: orgscan external-id --config infra/cdk/deploy.yaml [--rotate] [--profile P] [--region R]")
			fs.SetOutput(a.Stdout)
			fs.PrintDefaults()
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags only)", fs.Arg(0))
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
