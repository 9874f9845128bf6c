package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	awspricing "github.com/aws/aws-sdk-go-v2/service/pricing"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/pricing/pricelist"
)

// priceListRegion is where the Price List Query API answers; the regions
// being priced are filters, not endpoints.
const priceListRegion = "us-east-1"

const pricingUsage = `Usage:
  orgscan pricing show               the embedded price table: date, source, regions
  orgscan pricing refresh [flags]    rebuild the table from the AWS Price List API
                                     (needs pricing:GetProducts; no account resources are read)

Run 'orgscan pricing refresh -h' for its flags.
`

// newPriceListAPI builds the Price List client for a profile; tests replace
// it with a fake.
var newPriceListAPI = func(ctx context.Context, profile string) (pricelist.PriceListAPI, error) {
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Profile: profile, Region: priceListRegion})
	if err != nil {
		return nil, err
	}
	return awspricing.NewFromConfig(cfg), nil
}

func (a *App) pricing(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("give a subcommand: refresh or show")
	}
	switch args[0] {
	case "show":
		return a.pricingShow(args[1:])
	case "refresh":
		return a.pricingRefresh(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(a.Stdout, pricingUsage)
		return errHelp
	default:
		return usagef("unknown subcommand %q (refresh, show)", args[0])
	}
}

// pricingShow summarizes the embedded table: what a scan prices with.
func (a *App) pricingShow(args []string) error {
	fs := flag.NewFlagSet("orgscan pricing show", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, "Usage: orgscan pricing show   (summarizes the embedded price table)")
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	t := pricing.Default()
	req := tableRequest(t, slices.Sorted(maps.Keys(t.Regions)))
	unpriced := map[string]int{}
	for _, m := range pricelist.Missing(t, req) {
		region, _, _ := strings.Cut(m, ":")
		unpriced[region]++
	}
	fmt.Fprintf(a.Stdout, "as of:           %s\n", t.AsOf)
	fmt.Fprintf(a.Stdout, "source:          %s\n", t.Source)
	fmt.Fprintf(a.Stdout, "hours per month: %g\n", t.HoursPerMonth)
	fmt.Fprintf(a.Stdout, "regions:         %d\n\n", len(t.Regions))
	tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tEC2 TYPES\tRDS CLASSES\tCACHE NODES\tEBS TYPES\tLB TYPES\tUNPRICED")
	for _, r := range req.Regions {
		p := t.Regions[r]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", r, len(p.EC2), len(p.RDS), len(p.ElastiCache),
			len(p.EBSGBMonth), len(p.LoadBalancerHour), unpriced[r])
	}
	return tw.Flush()
}

// pricingRefresh rebuilds the table from the Price List API for the
// embedded table's instance types, DB classes and node types.
func (a *App) pricingRefresh(ctx context.Context, args []string) error {
	def := pricing.Default()
	fs := flag.NewFlagSet("orgscan pricing refresh", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	regions := fs.String("regions", strings.Join(slices.Sorted(maps.Keys(def.Regions)), ","), "regions to price (comma list)")
	out := fs.String("out", "", "write the table to this file, replaced only once complete (default: stdout); it can replace pkg/pricing/prices.json")
	profile := fs.String("profile", "", "AWS shared-config profile (SSO profiles included; default: the SDK's default chain)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(a.Stdout)
			fmt.Fprintln(a.Stdout, "Usage: orgscan pricing refresh [flags]")
			fmt.Fprintln(a.Stdout, "Rebuilds the price table from the AWS Price List API (endpoint us-east-1) for the")
			fmt.Fprintln(a.Stdout, "instance types, DB classes and cache node types of the embedded table.")
			fs.PrintDefaults()
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags only)", fs.Arg(0))
	}
	var rs []string
	for _, r := range list(*regions) {
		if !pipeline.ValidRegion(r) {
			return usagef("--regions: %q is not an AWS region name (like us-east-1)", r)
		}
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return usagef("--regions %q: give a comma list of regions", *regions)
	}
	if *out != "" {
		if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
			return usagef("--out %q: no such directory %q", *out, filepath.Dir(*out))
		}
	}

	api, err := newPriceListAPI(ctx, *profile)
	if err != nil {
		return awsx.ExplainCredentials(err, *profile)
	}
	req := tableRequest(def, rs)
	req.AsOf = time.Now()
	start := time.Now()
	t, err := pricelist.Generate(ctx, api, req)
	if err != nil {
		return awsx.ExplainCredentials(unprefixed{err}, *profile)
	}
	b, err := t.Encode()
	if err != nil {
		return err
	}
	dest := "stdout"
	if *out == "" {
		if _, err := a.Stdout.Write(b); err != nil {
			return err
		}
	} else {
		if err := writeReplacing(*out, b); err != nil {
			return err
		}
		dest = *out
	}
	fmt.Fprintf(a.Stderr, "priced %d regions as of %s in %s; wrote %s\n", len(rs), t.AsOf, time.Since(start).Round(time.Second), dest)
	if missing := pricelist.Missing(t, req); len(missing) > 0 {
		fmt.Fprintf(a.Stderr, "%d prices not in the Price List answer, so unknown in the table:\n", len(missing))
		for _, m := range missing {
			fmt.Fprintf(a.Stderr, "  %s\n", m)
		}
	}
	return nil
}

// unprefixed drops the pricing package's "pricing: " from an error, which
// the command's own "orgscan pricing: " already says.
type unprefixed struct{ error }

func (e unprefixed) Error() string { return strings.TrimPrefix(e.error.Error(), "pricing: ") }
func (e unprefixed) Unwrap() error { return e.error }

// tableRequest asks for t's own instance types, DB classes and cache node
// types in regions.
func tableRequest(t *pricing.Table, regions []string) pricelist.Request {
	ec2, rds, cache := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range t.Regions {
		for k := range r.EC2 {
			ec2[k] = true
		}
		for k := range r.RDS {
			rds[k] = true
		}
		for k := range r.ElastiCache {
			cache[k] = true
		}
	}
	return pricelist.Request{
		Regions:        regions,
		InstanceTypes:  slices.Sorted(maps.Keys(ec2)),
		DBClasses:      slices.Sorted(maps.Keys(rds)),
		CacheNodeTypes: slices.Sorted(maps.Keys(cache)),
	}
}

// writeReplacing writes b to path through a temporary file in the same
// directory, so a failed write never leaves a truncated table behind.
func writeReplacing(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".prices-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
