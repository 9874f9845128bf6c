package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/orgscan/orgscan/internal/procstat"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/config"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/report"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
	"github.com/orgscan/orgscan/pkg/textsafe"
)

// maxConcurrency bounds --concurrency: beyond it a laptop only queues.
const maxConcurrency = 1024

type runFlags struct {
	simulate                          bool
	simAccounts, simResources, simDay int
	simRegions                        string
	seed                              uint64
	simLatency, simJitter             time.Duration
	simThrottle                       float64
	simDenyAccounts, simDenyOps       string
	accounts, exclude, regions        string
	checkIDs, runID, data             string
	lookbackDays, concurrency         int
	jsonOut, quiet, verbose           bool
	profile, roleName, externalID     string
	org                               bool
	ous, asOf, configFile             string
}

func (a *App) runFlagSet(f *runFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("orgscan run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.profile, "profile", "", "AWS shared-config profile (SSO profiles included; default: the SDK's default chain)")
	fs.BoolVar(&f.org, "org", false, "discover accounts from AWS Organizations (management or delegated administrator credentials)")
	fs.StringVar(&f.ous, "organizational-units", "", "with --org: only accounts under these OUs or roots, recursively (comma list)")
	fs.StringVar(&f.roleName, "role-name", "", "role to assume in each scanned account (default: scan the caller's own account with its credentials)")
	fs.StringVar(&f.externalID, "external-id", "", "sts:ExternalId the member roles require")
	fs.StringVar(&f.configFile, "config", "", "configuration file (YAML or JSON): per-check thresholds and exclusions")
	fs.StringVar(&f.asOf, "as-of", "", "judge resources as of this RFC 3339 time instead of now (emulators, reproducible re-evaluation)")
	fs.BoolVar(&f.simulate, "simulate", false, "scan a simulated organization (no AWS account, no network)")
	fs.IntVar(&f.simAccounts, "sim-accounts", 25, "simulated member accounts")
	fs.StringVar(&f.simRegions, "sim-regions", strings.Join(sim.DefaultRegions, ","), "simulated enabled regions: a comma list, or a count N for the first N of the 17 default commercial regions")
	fs.IntVar(&f.simDay, "sim-day", 0, "simulated days since day 0: each day deletes some resources and adds new ones (run day 0, then day 1, to see new and resolved findings)")
	fs.IntVar(&f.simResources, "sim-resources", 50, "average resources per simulated account × region")
	fs.Uint64Var(&f.seed, "seed", 1, "simulation seed: the same seed gives the same organization and findings")
	fs.DurationVar(&f.simLatency, "sim-latency", 0, "simulated latency per API call")
	fs.DurationVar(&f.simJitter, "sim-jitter", 0, "simulated latency jitter (±)")
	fs.Float64Var(&f.simThrottle, "sim-throttle", 0, "fraction of simulated API calls throttled (retried by the SDK retryer)")
	fs.StringVar(&f.simDenyAccounts, "sim-deny-accounts", "", "simulated accounts whose role cannot be assumed (comma list)")
	fs.StringVar(&f.simDenyOps, "sim-deny-ops", "", "simulated denied operations, as service:Operation or ACCOUNT/service:Operation (comma list)")
	fs.StringVar(&f.accounts, "accounts", "", "scan only these account IDs (comma list; default all)")
	fs.StringVar(&f.exclude, "exclude-accounts", "", "skip these account IDs (comma list)")
	fs.StringVar(&f.regions, "regions", "enabled", "regions to scan: 'enabled' or a comma list")
	fs.StringVar(&f.checkIDs, "checks", "", "checks to run (comma list; default all, see 'orgscan checks')")
	fs.IntVar(&f.lookbackDays, "lookback-days", 0, "override every check's lookback window (days; default each check's own)")
	fs.IntVar(&f.concurrency, "concurrency", 16, "pairs scanned at once")
	fs.StringVar(&f.data, "data", "./orgscan-data", "directory for run data (same layout as the S3 bucket)")
	fs.StringVar(&f.runID, "run-id", "", "run ID (default: start time and a random suffix)")
	fs.BoolVar(&f.jsonOut, "json", false, "write findings as JSON lines to stdout (summary goes to stderr)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fs.BoolVar(&f.verbose, "verbose", false, "structured JSON logs on stderr")
	return fs
}

// flagOf maps run request fields to the flags that set them.
var flagOf = map[string]string{
	"runId": "--run-id", "accounts": "--accounts", "excludeAccounts": "--exclude-accounts", "regions": "--regions",
	"checks": "--checks", "lookbackDays": "--lookback-days", "concurrency": "--concurrency",
	"roleName": "--role-name", "organizationalUnits": "--organizational-units",
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (a *App) run(ctx context.Context, args []string) error {
	var f runFlags
	fs := a.runFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(a.Stdout)
			fmt.Fprintln(a.Stdout, "Usage: orgscan run [flags]")
			fs.PrintDefaults()
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags only)", fs.Arg(0))
	}
	if f.concurrency < 1 || f.concurrency > maxConcurrency {
		return usagef("--concurrency %d: must be 1..%d", f.concurrency, maxConcurrency)
	}
	req := pipeline.RunRequest{RunID: f.runID, Accounts: list(f.accounts), ExcludeAccounts: list(f.exclude),
		Checks: list(f.checkIDs), LookbackDays: f.lookbackDays, RoleName: f.roleName, OrganizationalUnits: list(f.ous)}
	if f.regions != "enabled" {
		req.Regions = list(f.regions)
		if len(req.Regions) == 0 {
			return usagef("--regions %q: give 'enabled' or a comma list of regions", f.regions)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.lookbackDays < 0 || (set["lookback-days"] && f.lookbackDays == 0) {
		return usagef("--lookback-days %d: must be 1..%d (leave it out for each check's own window)", f.lookbackDays, catalog.MaxLookbackDays)
	}
	if f.configFile != "" {
		cfg, err := config.Load(f.configFile)
		if err != nil {
			return usagef("--config: %v", err)
		}
		req.Params, req.Exclusions, req.IgnoreTag = cfg.Params, cfg.Exclusions, cfg.IgnoreTag
	}
	if err := req.Validate(); err != nil {
		return requestUsage(err)
	}
	if err := checkModeFlags(fs, f); err != nil {
		return err
	}
	var asOf time.Time
	if f.asOf != "" {
		t, err := time.Parse(time.RFC3339, f.asOf)
		if err != nil {
			return usagef("--as-of %q: not an RFC 3339 time (like 2026-11-26T00:00:00Z)", f.asOf)
		}
		asOf = t
	}
	src, err := a.source(ctx, f)
	if err != nil {
		return err
	}
	if !asOf.IsZero() {
		src.clock = func() time.Time { return asOf }
	}

	blobs := store.Dir{Root: f.data}
	logger := slog.New(slog.DiscardHandler)
	if f.verbose {
		logger = slog.New(slog.NewJSONHandler(a.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	local := &pipeline.Local{
		Dispatcher:  &pipeline.Dispatcher{Discovery: src.discovery, Blobs: blobs, Clock: time.Now, Logger: logger},
		Collector:   &collect.Collector{Clients: src.factory, Blobs: blobs, Clock: src.clock, Prices: pricing.Default(), Logger: logger},
		Aggregator:  &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: &store.LocalState{Dir: f.data}, Reporter: report.HTML{}, Clock: time.Now, Logger: logger},
		Concurrency: f.concurrency,
	}
	var bar *progressbar.ProgressBar
	if a.StderrIsTTY && !f.quiet && !f.verbose {
		local.Progress = func(done, total int, _ pipeline.PairResult) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(a.Stderr), progressbar.OptionSetDescription("scanning pairs"),
					progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("pairs"),
					progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
			}
			_ = bar.Set(done)
		}
	}
	sum, err := local.Run(ctx, req)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		var ir *pipeline.InvalidRequestError
		if errors.As(err, &ir) {
			return requestUsage(err)
		}
		return awsx.ExplainCredentials(err, f.profile)
	}
	out := a.Stdout
	if f.jsonOut {
		out = a.Stderr
		rc, err := blobs.Open(ctx, sum.FindingsKey)
		if err != nil {
			return err
		}
		_, err = io.Copy(a.Stdout, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	printSummary(out, sum, blobs)
	return nil
}

// requestUsage turns an invalid request into a one-line usage error naming
// the flag and the value.
func requestUsage(err error) error {
	var ir *pipeline.InvalidRequestError
	if !errors.As(err, &ir) {
		return err
	}
	name, ok := flagOf[ir.Field]
	if !ok {
		name = ir.Field
	}
	if ir.Value == "" {
		return usagef("%s: %s", name, ir.Reason)
	}
	return usagef("%s: %q %s", name, ir.Value, ir.Reason)
}

func newSim(f runFlags) (*sim.Org, error) {
	if f.simAccounts < 1 {
		return nil, usagef("--sim-accounts %d: must be at least 1", f.simAccounts)
	}
	if f.simResources < 1 {
		return nil, usagef("--sim-resources %d: must be at least 1", f.simResources)
	}
	regions := list(f.simRegions)
	if n, err := strconv.Atoi(f.simRegions); err == nil {
		if n < 1 || n > len(sim.CommercialRegions) {
			return nil, usagef("--sim-regions %d: must be 1..%d (or a comma list)", n, len(sim.CommercialRegions))
		}
		regions = sim.CommercialRegions[:n]
	}
	for _, r := range regions {
		if err := (pipeline.RunRequest{Regions: []string{r}}).Validate(); err != nil {
			return nil, usagef("--sim-regions: %q is not an AWS region name", r)
		}
	}
	for _, id := range list(f.simDenyAccounts) {
		if !pipeline.ValidAccountID(id) {
			return nil, usagef("--sim-deny-accounts: %q is not a 12-digit AWS account ID", id)
		}
	}
	for _, op := range list(f.simDenyOps) {
		o := op
		if acct, rest, ok := strings.Cut(op, "/"); ok {
			if !pipeline.ValidAccountID(acct) {
				return nil, usagef("--sim-deny-ops: %q: %q is not a 12-digit AWS account ID", op, acct)
			}
			o = rest
		}
		if svc, name, ok := strings.Cut(o, ":"); !ok || svc == "" || name == "" {
			return nil, usagef("--sim-deny-ops: %q is not service:Operation or ACCOUNT/service:Operation", op)
		}
	}
	org, err := sim.New(sim.Config{Seed: f.seed, Accounts: f.simAccounts, Regions: regions, Resources: f.simResources, Day: f.simDay,
		Latency: f.simLatency, Jitter: f.simJitter, ThrottleRate: f.simThrottle,
		DenyAccounts: list(f.simDenyAccounts), DenyOperations: list(f.simDenyOps),
		Retry: awsx.RetryOptions{MaxBackoff: 2 * time.Second}})
	if err != nil {
		return nil, usagef("%s", simFlagError(err))
	}
	return org, nil
}

// maxProblemsShown bounds the failed and partial pairs printed.
const maxProblemsShown = 20

func printSummary(w io.Writer, s pipeline.RunSummary, blobs store.Dir) {
	pairsPath := blobs.Path(pipeline.PairsKey(s.RunID))
	dur := time.Duration(s.DurationMs) * time.Millisecond
	rate := 0.0
	if dur > 0 {
		rate = float64(s.Pairs) / dur.Seconds()
	}
	fmt.Fprintf(w, "\norgscan run %s\n", s.RunID)
	fmt.Fprintf(w, "scanned %d pairs (%d accounts × %d regions) in %s, %.0f pairs/s\n", s.Pairs, s.Accounts, s.Regions, dur.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "pairs: %d ok, %d partial, %d failed\n", s.PairsOK, s.PairsPartial, s.PairsFailed)
	fmt.Fprintf(w, "findings: %d open, %d new since the previous state, %d resolved, %d suppressed (%d state items written)\n\n", s.Findings, s.New, s.Resolved, s.Suppressed, s.StateItemsWritten)

	nameW := len("total")
	for _, c := range s.ByCheck {
		nameW = max(nameW, len(c.CheckID))
	}
	row := func(name, findings, usd, unpriced string) {
		fmt.Fprintf(w, "%-*s  %8s  %14s  %8s\n", nameW, name, findings, usd, unpriced)
	}
	row("CHECK", "FINDINGS", "MONTHLY USD", "UNPRICED")
	for _, c := range s.ByCheck {
		row(c.CheckID, strconv.Itoa(c.Findings), money(c.MonthlyCostUSD), strconv.Itoa(c.Unpriced))
	}
	row("total", strconv.Itoa(s.Findings), money(s.MonthlyCostUSD), strconv.Itoa(s.Unpriced))

	if len(s.Problems) > 0 {
		fmt.Fprintln(w, "\nPAIRS THAT FAILED OR WERE PARTLY SCANNED")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		shown := s.Problems
		if len(shown) > maxProblemsShown {
			shown = shown[:maxProblemsShown]
		}
		for _, p := range shown {
			for i, e := range p.Errors {
				what := e.Code + ": " + e.Message
				if e.Check != "" {
					what = e.Check + ": " + what
				}
				if e.Count > 1 {
					what += fmt.Sprintf(" (×%d)", e.Count)
				}
				// Account names and error messages are member text: each
				// value stays one line and one cell.
				what = textsafe.Terminal(what)
				if i == 0 {
					fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s\n", textsafe.Terminal(p.AccountID), paren(textsafe.Terminal(p.AccountName)),
						textsafe.Terminal(p.Region), textsafe.Terminal(string(p.Status)), what)
				} else {
					fmt.Fprintf(tw, "\t\t\t%s\n", what)
				}
			}
		}
		tw.Flush()
		if more := s.ProblemsOmitted + len(s.Problems) - len(shown); more > 0 {
			fmt.Fprintf(w, "  … and %d more pairs (every pair's result: %s)\n", more, pairsPath)
		}
	}

	if len(s.Carried) > 0 {
		fmt.Fprintf(w, "\ncarried the changes of runs whose aggregation died: %s\n", textsafe.Terminal(strings.Join(s.Carried, ", ")))
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintln(w, "\nWARNINGS")
		for _, m := range s.Warnings {
			fmt.Fprintf(w, "  %s\n", textsafe.Terminal(m)) // warnings quote account IDs and error messages
		}
		if s.WarningsOmitted > 0 {
			fmt.Fprintf(w, "  … and %d more\n", s.WarningsOmitted)
		}
	}

	fmt.Fprintln(w, "\nAPI CALLS BY OPERATION")
	opW, total := len("total"), 0
	for op, n := range s.APICalls {
		opW = max(opW, len(op))
		total += n
	}
	for _, op := range checks.SortedOps(s.APICalls) {
		fmt.Fprintf(w, "  %-*s  %8d\n", opW, op, s.APICalls[op])
	}
	fmt.Fprintf(w, "  %-*s  %8d\n", opW, "total", total)
	c := s.ScanCost
	fmt.Fprintf(w, "\nmetrics requested: %d in %d GetMetricData calls\n", s.MetricsRequested, s.GetMetricDataCalls)
	fmt.Fprintf(w, "estimated scan cost in AWS: $%.4f = GetMetricData $%.4f + S3 $%.4f (%d requests) + Lambda $%.4f (%.1f GB-s at %d MB) + Step Functions $%.4f (%d transitions, %d child executions)\n",
		c.TotalUSD, c.MetricsUSD, c.S3USD, c.S3Requests, c.LambdaUSD, c.LambdaGBSeconds, pipeline.CollectorMemoryMB,
		c.StepFunctionsUSD, c.StateTransitions, c.ChildExecutions)
	if rss := procstat.PeakRSS(); rss > 0 {
		fmt.Fprintf(w, "peak memory (RSS): %.1f MiB\n", float64(rss)/(1<<20))
	}
	fmt.Fprintf(w, "run data: %s (findings.jsonl, pairs.jsonl, summary.json)\n", blobs.Path("runs/"+s.RunID)+string(os.PathSeparator))
	fmt.Fprintf(w, "history:  %s (query it with `orgscan query`)\n", blobs.Path(s.HistoryKeys[pipeline.FindingsTable]))
	if s.ReportKey != "" {
		fmt.Fprintf(w, "report:   %s (open it in a browser)\n", blobs.Path(s.ReportKey))
	}
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// money formats dollars for the summary.
func money(v float64) string { return pricing.USD(v) }

// simFlagError names the flag behind a simulator configuration error.
func simFlagError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "sim: ")
	for prefix, flagName := range map[string]string{"accounts": "--sim-accounts", "day": "--sim-day", "resources": "--sim-resources",
		"throttle rate": "--sim-throttle", "latency": "--sim-latency/--sim-jitter"} {
		if strings.HasPrefix(msg, prefix) {
			return flagName + ": " + msg
		}
	}
	return msg
}
