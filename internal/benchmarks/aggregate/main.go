// Command aggregate measures the aggregator on 100,000 findings: a first run
// (everything new), then a second run of an unchanged estate. It prints
// findings/s, peak memory, Parquet bytes per finding and the state items
// each run wrote. Run by `make bench`.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/orgscan/orgscan/internal/procstat"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
)

func main() {
	total := flag.Int("findings", 100000, "findings per run")
	accounts := flag.Int("accounts", 1000, "accounts")
	flag.Parse()
	dir, err := os.MkdirTemp("", "orgscan-aggbench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	blobs := store.Dir{Root: dir}
	state := &memState{items: map[string]map[string]finding.Finding{}}
	regions := []string{"us-east-1", "eu-west-1"}
	perPair := *total / (*accounts * len(regions))
	ids := checks.IDs()

	pairsFor := func(runID string, at time.Time) []pipeline.PairResult {
		var pairs []pipeline.PairResult
		for a := 0; a < *accounts; a++ {
			acct := fmt.Sprintf("%012d", 100000000000+a)
			for _, r := range regions {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				enc := json.NewEncoder(zw)
				for i := 0; i < perPair; i++ {
					check := ids[i%len(ids)]
					res := fmt.Sprintf("res-%d-%s-%d", a, r, i)
					cost := float64(i%97) + 0.5
					f := finding.Finding{FindingID: finding.ID(check, acct, r, res), RunID: runID, CheckID: check, Category: finding.Idle,
						AccountID: acct, AccountName: "account-" + strconv.Itoa(a), Region: r, Service: "ec2", ResourceType: "AWS::EC2::Instance",
						ResourceID: res, ResourceARN: "arn:aws:ec2:" + r + ":" + acct + ":instance/" + res,
						Reason: "running m5.large idle for 14 days: daily average CPU at most 1.2%", Evidence: map[string]float64{"maxDailyCpuPercent": 1.2},
						MonthlyCostUSD: &cost, Tags: map[string]string{"team": "data"}, FirstSeen: at, LastSeen: at, Status: finding.Open}
					if err := enc.Encode(&f); err != nil {
						fail(err)
					}
				}
				if err := zw.Close(); err != nil {
					fail(err)
				}
				key := pipeline.ChunkKey(runID, acct, r)
				if err := blobs.Put(ctx, key, &buf); err != nil {
					fail(err)
				}
				pairs = append(pairs, pipeline.PairResult{RunID: runID, AccountID: acct, Region: r, Status: pipeline.PairOK, Findings: perPair,
					ChunkKey: key, Checks: ids})
			}
		}
		return pairs
	}
	day := 24 * time.Hour
	t0 := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	agg := &pipeline.Aggregator{Blobs: blobs, State: state, History: history.Parquet{}, Clock: time.Now}

	fmt.Printf("aggregator: %d accounts × %d regions × %d findings = %d findings per run\n", *accounts, len(regions), perPair, *accounts*len(regions)*perPair)
	fmt.Printf("%-34s %14s %14s\n", "", "first run", "unchanged run")
	var rows [][3]string
	var results []pipeline.RunSummary
	var elapsed []time.Duration
	var heapGrowth []float64
	for i, runID := range []string{"bench-1", "bench-2"} {
		at := t0.Add(time.Duration(i) * day)
		pairs := pairsFor(runID, at)
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := make(chan struct{})
		peak := make(chan uint64)
		go func() { // sample the heap while the aggregator runs
			var max uint64
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				max = maxU(max, ms.HeapAlloc)
				select {
				case <-stop:
					peak <- max
					return
				case <-t.C:
				}
			}
		}()
		start := time.Now()
		sum, err := agg.Handle(ctx, pipeline.AggregateRequest{RunID: runID, StartedAt: at, Pairs: pairs})
		if err != nil {
			fail(err)
		}
		elapsed = append(elapsed, time.Since(start))
		close(stop)
		heapGrowth = append(heapGrowth, float64(<-peak-base.HeapAlloc)/(1<<20))
		results = append(results, sum)
	}
	size := func(s pipeline.RunSummary) int64 {
		fi, err := os.Stat(filepath.Join(dir, s.HistoryKeys[pipeline.FindingsTable]))
		if err != nil {
			fail(err)
		}
		return fi.Size()
	}
	rows = append(rows,
		[3]string{"findings", strconv.Itoa(results[0].Findings), strconv.Itoa(results[1].Findings)},
		[3]string{"aggregation time", elapsed[0].Round(time.Millisecond).String(), elapsed[1].Round(time.Millisecond).String()},
		[3]string{"findings/s", fmt.Sprintf("%.0f", float64(results[0].Findings)/elapsed[0].Seconds()), fmt.Sprintf("%.0f", float64(results[1].Findings)/elapsed[1].Seconds())},
		[3]string{"peak heap above baseline (MiB)", fmt.Sprintf("%.1f", heapGrowth[0]), fmt.Sprintf("%.1f", heapGrowth[1])},
		[3]string{"state items written (DynamoDB)", strconv.Itoa(results[0].StateItemsWritten), strconv.Itoa(results[1].StateItemsWritten)},
		[3]string{"Parquet bytes per finding", fmt.Sprintf("%.1f", float64(size(results[0]))/float64(results[0].Findings)), fmt.Sprintf("%.1f", float64(size(results[1]))/float64(results[1].Findings))},
	)
	for _, r := range rows {
		fmt.Printf("%-34s %14s %14s\n", r[0], r[1], r[2])
	}
	fmt.Printf("%-34s %14s\n", "peak memory (RSS, whole process)", peakRSS())
}

// memState is an in-memory latest state, so the figures measure the
// aggregator and not a disk or a network.
type memState struct {
	mu    sync.Mutex
	items map[string]map[string]finding.Finding
	runs  map[string]store.RunRecord
}

func (m *memState) AccountFindings(_ context.Context, acct string) ([]finding.Finding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []finding.Finding
	for _, f := range m.items[acct] {
		out = append(out, f)
	}
	return out, nil
}

func (m *memState) PutFindings(_ context.Context, acct string, fs []finding.Finding) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items[acct] == nil {
		m.items[acct] = map[string]finding.Finding{}
	}
	for _, f := range fs {
		m.items[acct][f.FindingID] = f
	}
	return nil
}

func (m *memState) GetRun(_ context.Context, id string) (store.RunRecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	return r, ok, nil
}

func (m *memState) PutRun(_ context.Context, r store.RunRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runs == nil {
		m.runs = map[string]store.RunRecord{}
	}
	m.runs[r.RunID] = r
	return nil
}

func (m *memState) Runs(context.Context, int) ([]store.RunRecord, error) { return nil, nil }

// One aggregation at a time and in order: the bench needs no lease, no
// marks and nothing unfinished.
func (m *memState) UnfinishedRuns(context.Context) ([]store.RunRecord, error) { return nil, nil }
func (m *memState) AdvanceAccount(_ context.Context, _ string, mark store.RunMark) (bool, store.RunMark, error) {
	return true, mark, nil
}
func (m *memState) AcquireLease(context.Context, string, time.Time, time.Time) (bool, string, time.Time, error) {
	return true, "", time.Time{}, nil
}
func (m *memState) ReleaseLease(context.Context, string) error { return nil }

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

func peakRSS() string {
	if b := procstat.PeakRSS(); b > 0 {
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return "n/a"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "aggregate bench:", err)
	os.Exit(1)
}
