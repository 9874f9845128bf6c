// Command scale runs orgscan's pipeline — the handlers deployed to Lambda,
// driven by the local runner — over a simulated organization, and prints
// what the scan did beside its floor: API calls by operation against the
// fewest requests AWS could have answered with, metric queries sent against
// the queries the candidates needed, wall time against the ideal, pairs/s,
// peak memory and the scan's estimated AWS cost. With -baseline it then
// scans the same organization again the way per-resource tools fetch
// metrics (one GetMetricData call per metric of each resource, like Cloud
// Custodian's metrics filter) and prints the same figures beside ours.
// Run by `make bench`.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/orgscan/orgscan/internal/procstat"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
)

type options struct {
	accounts, regions, resources, concurrency int
	latency, jitter                           time.Duration
	throttle                                  float64
	seed                                      uint64
	role                                      string
	baseline                                  bool
}

func main() {
	var o options
	flag.IntVar(&o.accounts, "accounts", 1000, "simulated member accounts")
	flag.IntVar(&o.regions, "regions", 17, "enabled regions (the first N of the 17 default commercial regions)")
	flag.IntVar(&o.resources, "resources", 50, "average resources per account × region")
	flag.IntVar(&o.concurrency, "concurrency", 128, "pairs scanned at once")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "latency of every API call")
	flag.DurationVar(&o.jitter, "jitter", 5*time.Millisecond, "latency jitter (±, uniform)")
	flag.Float64Var(&o.throttle, "throttle", 0.01, "share of API calls throttled")
	flag.Uint64Var(&o.seed, "seed", 1, "simulation seed")
	flag.StringVar(&o.role, "role", "OrgScanMemberRole", "member role name (each account's role is assumed once)")
	flag.BoolVar(&o.baseline, "baseline", true, "also scan the organization with per-resource metric calls")
	flag.Parse()
	if o.regions < 1 || o.regions > len(sim.CommercialRegions) || o.accounts < 1 || o.concurrency < 1 {
		fmt.Fprintln(os.Stderr, "scale: -accounts and -concurrency must be ≥ 1, -regions 1..17")
		os.Exit(2)
	}

	ours, err := scan(o, false)
	if err != nil {
		fail(err)
	}
	ours.rss = procstat.PeakRSS() // before the baseline, which holds as much again
	var base *result
	if o.baseline {
		b, err := scan(o, true)
		if err != nil {
			fail(err)
		}
		base = &b
	}
	report(os.Stdout, o, ours, base)
}

// result is what one scan of the organization did.
type result struct {
	sum       pipeline.RunSummary
	calls     map[string]int // requests the simulator served, retries included
	floor     map[string]int
	queries   int // metric queries GetMetricData requests carried
	needed    int // distinct metric queries the candidates needed
	pairs     int
	scanWall  time.Duration // dispatch to the last pair scanned
	aggWall   time.Duration
	throttled int
	rss       int64
}

func scan(o options, perResource bool) (result, error) {
	org, err := sim.New(sim.Config{Seed: o.seed, Accounts: o.accounts, Regions: sim.CommercialRegions[:o.regions], Resources: o.resources,
		Latency: o.latency, Jitter: o.jitter, ThrottleRate: o.throttle,
		// The simulator throttles at random, not at a rate: waiting before a
		// retry would only add idle time. Retried calls are in the counts.
		Retry: awsx.RetryOptions{NoBackoff: true}})
	if err != nil {
		return result{}, err
	}
	dir, err := os.MkdirTemp("", "orgscan-scale-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	blobs := store.Dir{Root: dir}
	var clients collect.ClientFactory = org
	name := "orgscan"
	if perResource {
		clients, name = perResourceClients{org}, "per-resource baseline"
	}
	var (
		mu       sync.Mutex
		needed   int
		gmdFloor int
		scanned  time.Time
	)
	start := time.Now()
	l := &pipeline.Local{
		Dispatcher:  &pipeline.Dispatcher{Discovery: org, Blobs: blobs, Clock: org.Now, DefaultRoleName: o.role},
		Collector:   &collect.Collector{Clients: clients, Blobs: blobs, Clock: org.Now, Prices: pricing.Default(), Concurrency: 1},
		Aggregator:  &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: &store.LocalState{Dir: dir + "/state"}, Clock: time.Now},
		Concurrency: o.concurrency,
		Progress: func(done, total int, last pipeline.PairResult) {
			mu.Lock()
			defer mu.Unlock()
			needed += last.MetricsRequested
			gmdFloor += (last.MetricsRequested + cwbatch.MaxQueriesPerCall - 1) / cwbatch.MaxQueriesPerCall
			if done == total {
				scanned = time.Now()
			}
			if done%1000 == 0 || done == total {
				fmt.Fprintf(os.Stderr, "\r%s: %d/%d pairs", name, done, total)
			}
		},
	}
	sum, err := l.Run(context.Background(), pipeline.RunRequest{})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return result{}, err
	}
	end := time.Now()
	floor := org.Floor()
	floor["cloudwatch:GetMetricData"] = gmdFloor
	// One AssumeRole per account: the collector's clients come from
	// assume.Factory, which the simulated STS answers.
	floor["sts:AssumeRole"] = sum.Accounts
	return result{sum: sum, calls: org.Calls(), floor: floor, queries: org.MetricQueries(), needed: needed, pairs: sum.Pairs,
		scanWall: scanned.Sub(start), aggWall: end.Sub(scanned), throttled: org.Throttled()}, nil
}

// perResourceClients gives the collector clients whose GetMetricData asks
// for one metric per call, the way tools that fetch each resource's metrics
// on their own do.
type perResourceClients struct{ org *sim.Org }

func (p perResourceClients) Clients(ctx context.Context, item pipeline.WorkItem) (checks.Clients, error) {
	c, err := p.org.Clients(ctx, item)
	if err != nil {
		return c, err
	}
	c.CloudWatch = perMetric{c.CloudWatch}
	return c, nil
}

type perMetric struct{ next cwbatch.API }

func (p perMetric) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		one := *in
		one.MetricDataQueries = []cwtypes.MetricDataQuery{q}
		one.NextToken = nil
		for {
			r, err := p.next.GetMetricData(ctx, &one, opts...)
			if err != nil {
				return nil, err
			}
			out.MetricDataResults = append(out.MetricDataResults, r.MetricDataResults...)
			if r.NextToken == nil {
				break
			}
			one.NextToken = r.NextToken
		}
	}
	return out, nil
}

// idealWall is the wall time of a perfectly packed scan: every request's
// latency, pairs scanning their requests one after another (a pair's checks
// and its inventory calls run in sequence), o.concurrency pairs at once.
func idealWall(o options, r result) time.Duration {
	n := 0
	for op, c := range r.calls {
		if op != "sts:AssumeRole" {
			n += c
		}
	}
	return time.Duration(float64(n) * float64(o.latency) / float64(o.concurrency))
}

func report(w io.Writer, o options, ours result, base *result) {
	fmt.Fprintf(w, "orgscan at organization scale: %s accounts × %d regions = %s pairs, ~%d resources a pair, %s ± %s a call, %.0f%% of calls throttled, %d pairs at once\n\n",
		num(o.accounts), o.regions, num(ours.pairs), o.resources, o.latency, o.jitter, o.throttle*100, o.concurrency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) {
		cells[0] = fmt.Sprintf("%-44s", cells[0]) // labels left, figures right
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	head := []string{"API calls by operation", "orgscan", "floor", "orgscan/floor"}
	if base != nil {
		head = append(head, "per-resource", "per-resource/orgscan")
	}
	row(head...)
	ops := slices.Sorted(func(yield func(string) bool) {
		for op := range ours.floor {
			if !yield(op) {
				return
			}
		}
	})
	totalCalls, totalFloor, totalBase := 0, 0, 0
	for _, op := range ops {
		c, f := ours.calls[op], ours.floor[op]
		totalCalls += c
		totalFloor += f
		cells := []string{op, num(c), num(f), ratio(c, f)}
		if base != nil {
			totalBase += base.calls[op]
			cells = append(cells, num(base.calls[op]), ratio(base.calls[op], c))
		}
		row(cells...)
	}
	cells := []string{"all operations", num(totalCalls), num(totalFloor), ratio(totalCalls, totalFloor)}
	if base != nil {
		cells = append(cells, num(totalBase), ratio(totalBase, totalCalls))
	}
	row(cells...)
	tw.Flush()
	fmt.Fprintf(w, "  floor: each listing's pages at the API's maximum page size, one request per table and target group, ⌈metric queries/500⌉ GetMetricData a pair, one AssumeRole an account\n")
	fmt.Fprintf(w, "  throttled and retried: %s of orgscan's calls (in the counts above)\n\n", num(ours.throttled))

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head = []string{"", "orgscan", "floor / ideal", "orgscan/floor"}
	if base != nil {
		head = append(head, "per-resource", "per-resource/orgscan")
	}
	row(head...)
	line := func(name string, get func(result) string, floor, r string, baseRatio func(result, result) string) {
		cells := []string{name, get(ours), floor, r}
		if base != nil {
			cells = append(cells, get(*base), baseRatio(*base, ours))
		}
		row(cells...)
	}
	none := func(result, result) string { return "" }
	line("metric queries sent", func(r result) string { return num(r.queries) }, num(ours.needed), ratio(ours.queries, ours.needed),
		func(b, r result) string { return ratio(b.queries, r.queries) })
	line("GetMetricData calls", func(r result) string { return num(r.calls["cloudwatch:GetMetricData"]) }, num(ours.floor["cloudwatch:GetMetricData"]),
		ratio(ours.calls["cloudwatch:GetMetricData"], ours.floor["cloudwatch:GetMetricData"]),
		func(b, r result) string {
			return ratio(b.calls["cloudwatch:GetMetricData"], r.calls["cloudwatch:GetMetricData"])
		})
	ideal := idealWall(o, ours)
	line("wall time, scan", func(r result) string { return secs(r.scanWall) }, secs(ideal), fmt.Sprintf("%.2f", ours.scanWall.Seconds()/ideal.Seconds()),
		func(b, r result) string { return fmt.Sprintf("%.1f×", b.scanWall.Seconds()/r.scanWall.Seconds()) })
	line("wall time, aggregation", func(r result) string { return secs(r.aggWall) }, "", "", none)
	line("pairs/s", func(r result) string { return strconv.FormatFloat(float64(r.pairs)/r.scanWall.Seconds(), 'f', 0, 64) }, "", "", none)
	line("findings (open + suppressed)", func(r result) string { return num(r.sum.Findings + r.sum.Suppressed) }, "", "", none)
	line("resources described", func(r result) string { return num(r.sum.Resources) }, "", "", none)
	line("peak RSS (orgscan run)", func(r result) string {
		if r.rss == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f MiB", float64(r.rss)/(1<<20))
	}, "", "", none)
	line("estimated scan cost", func(r result) string { return fmt.Sprintf("$%.2f", r.sum.ScanCost.TotalUSD) }, "", "",
		func(b, r result) string {
			return fmt.Sprintf("%.1f×", b.sum.ScanCost.TotalUSD/r.sum.ScanCost.TotalUSD)
		})
	tw.Flush()
	c := ours.sum.ScanCost
	fmt.Fprintf(w, "  orgscan's estimate: GetMetricData $%.2f (%s metrics) + S3 $%.2f (%s requests) + Lambda $%.2f (%.0f GB-s at %d MB) + Step Functions $%.2f (%s transitions, %s child executions)\n",
		c.MetricsUSD, num(c.Metrics), c.S3USD, num(c.S3Requests), c.LambdaUSD, c.LambdaGBSeconds, pipeline.CollectorMemoryMB,
		c.StepFunctionsUSD, num(c.StateTransitions), num(c.ChildExecutions))
	fmt.Fprintf(w, "  ideal wall = requests × %s ÷ %d pairs at once; peak RSS includes the simulator's generated organization\n", o.latency, o.concurrency)
	if ours.rss > 0 && ours.sum.Findings > 0 {
		fmt.Fprintf(w, "  memory per finding held: %.1f KiB; per pair scanned: %.1f KiB\n",
			float64(ours.rss)/1024/float64(ours.sum.Findings+ours.sum.Suppressed), float64(ours.rss)/1024/float64(ours.pairs))
	}
}

func num(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func ratio(a, b int) string {
	switch {
	case b != 0:
	case a == 0:
		return "1.00"
	default:
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}
