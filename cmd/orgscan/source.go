package main

import (
	"context"
	"flag"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/awsx/assume"
	"github.com/orgscan/orgscan/pkg/awsx/discovery"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
)

// source is where a run's accounts, clients and present come from: a
// simulated organization or AWS.
type source struct {
	discovery pipeline.Discovery
	factory   collect.ClientFactory
	clock     func() time.Time
}

// checkModeFlags rejects simulation flags in an AWS scan and AWS flags in a
// simulation: a flag that would be ignored is a mistake worth hearing about.
func checkModeFlags(fs *flag.FlagSet, f runFlags) error {
	var bad string
	fs.Visit(func(fl *flag.Flag) {
		if bad != "" {
			return
		}
		isSim := strings.HasPrefix(fl.Name, "sim-") || fl.Name == "seed"
		isAWS := fl.Name == "profile" || fl.Name == "org" || fl.Name == "external-id" || fl.Name == "organizational-units"
		switch {
		case isSim && !f.simulate:
			bad = "--" + fl.Name + " needs --simulate"
		case isAWS && f.simulate:
			bad = "--" + fl.Name + " does not apply to --simulate"
		}
	})
	if bad != "" {
		return usagef("%s", bad)
	}
	if len(list(f.ous)) > 0 && !f.org {
		return usagef("--organizational-units needs --org")
	}
	return nil
}

func (a *App) source(ctx context.Context, f runFlags) (source, error) {
	if f.simulate {
		org, err := newSim(f)
		if err != nil {
			return source{}, err
		}
		return source{discovery: org, factory: org, clock: org.Now}, nil
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Profile: f.profile})
	if err != nil {
		return source{}, awsx.ExplainCredentials(err, f.profile)
	}
	src := source{factory: &assume.Factory{Base: cfg, ExternalID: f.externalID}, clock: time.Now}
	regions := ec2.NewFromConfig(cfg)
	switch accounts := list(f.accounts); {
	case f.org:
		src.discovery = &discovery.Organization{Org: organizations.NewFromConfig(cfg), EC2: regions}
	default:
		caller, err := discovery.CallerAccount(ctx, sts.NewFromConfig(cfg))
		if err != nil {
			return source{}, awsx.ExplainCredentials(err, f.profile)
		}
		if len(accounts) == 0 { // single-account mode
			src.discovery = &discovery.AccountList{List: []pipeline.Account{caller}, EC2: regions}
			break
		}
		list := make([]pipeline.Account, len(accounts))
		for i, id := range accounts {
			if id != caller.ID && f.roleName == "" {
				return source{}, usagef("--accounts %s: --role-name is needed to scan accounts other than the caller's (%s)", id, caller.ID)
			}
			list[i] = pipeline.Account{ID: id}
		}
		src.discovery = &discovery.AccountList{List: list, EC2: regions}
	}
	return src, nil
}
