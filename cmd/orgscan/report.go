package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/report"
	"github.com/orgscan/orgscan/pkg/store"
)

// report writes a run's HTML report from the local data directory, the
// same report the aggregator writes in AWS: the run's summary, its most
// expensive open findings, its failed and partial pairs and the trend of
// every recorded run.
func (a *App) report(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("orgscan report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "./orgscan-data", "data directory of the runs")
	runID := fs.String("run", "", "run ID (default: the newest run)")
	out := fs.String("out", "", "report file (default: DATA/reports/RUN.html)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(a.Stdout, "Usage: orgscan report [--data DIR] [--run ID] [--out FILE]")
			fmt.Fprintln(a.Stdout, "Writes a run's report, one self-contained HTML file, and prints its path.")
			fs.SetOutput(a.Stdout)
			fs.PrintDefaults()
			return errHelp
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags only)", fs.Arg(0))
	}
	if *runID != "" {
		if err := (pipeline.RunRequest{RunID: *runID}).Validate(); err != nil {
			return usagef("--run %q: not a run ID", *runID)
		}
	}
	state := &store.LocalState{Dir: *data}
	recs, err := state.Runs(ctx, 0)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		if _, err := os.Stat(*data); err != nil {
			return fmt.Errorf("no data directory %s: run `orgscan run` first (or pass --data)", *data)
		}
		return fmt.Errorf("no runs in %s: run `orgscan run` first (or pass --data)", *data)
	}
	rec := recs[0] // newest first; by default the newest completed run
	for _, r := range recs {
		if pipeline.Completed(r) {
			rec = r
			break
		}
	}
	if *runID != "" {
		found := false
		for _, r := range recs {
			if r.RunID == *runID {
				rec, found = r, true
				break
			}
		}
		if !found {
			return usagef("--run %q: no such run in %s (newest: %s)", *runID, *data, recs[0].RunID)
		}
	}
	in, err := reportInput(ctx, store.Dir{Root: *data}, rec, recs)
	if err != nil {
		return fmt.Errorf("run %s: %w", rec.RunID, err)
	}
	var buf bytes.Buffer
	if err := (report.HTML{}).Render(&buf, in); err != nil {
		return err
	}
	// Dir.Put writes beside the target and renames: no half-written
	// report, mode 0600 like the rest of the data (the report lists the
	// organization's resources), and no symbolic link followed below the
	// data directory (or, for --out, at the file's own name).
	dir, key := store.Dir{Root: *data}, pipeline.ReportKey(rec.RunID)
	path := dir.Path(key)
	if *out != "" {
		dir, key, path = store.Dir{Root: filepath.Dir(*out)}, filepath.Base(*out), *out
	}
	if err := dir.Put(ctx, key, &buf); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintln(a.Stdout, path)
	return nil
}

// reportInput gathers what the report of rec shows; recs are every run
// record, newest first.
func reportInput(ctx context.Context, blobs store.Dir, rec store.RunRecord, recs []store.RunRecord) (pipeline.ReportInput, error) {
	var in pipeline.ReportInput
	if err := json.Unmarshal(rec.Summary, &in.Summary); err != nil {
		return in, fmt.Errorf("summary of the run record: %w", err)
	}
	in.Trend = pipeline.Trend(recs)

	top := pipeline.TopFindings{Max: pipeline.MaxReportFindings}
	suppressed := pipeline.TopFindings{Max: pipeline.MaxReportSuppressed}
	err := readJSONLines(ctx, blobs, pipeline.FindingsKey(rec.RunID), func(f finding.Finding) {
		switch f.Status {
		case finding.Open:
			top.Add(f)
		case finding.Suppressed:
			suppressed.Add(f)
		}
	})
	if errors.Is(err, store.ErrNotFound) {
		return in, fmt.Errorf("no %s: the run was not aggregated", pipeline.FindingsKey(rec.RunID))
	}
	if err != nil {
		return in, err
	}
	in.Findings, in.FindingsTotal = top.Sorted(), top.Total
	in.Suppressed, in.SuppressedTotal = suppressed.Sorted(), suppressed.Total

	var failed, partial []pipeline.PairProblem
	err = readJSONLines(ctx, blobs, pipeline.PairsKey(rec.RunID), func(p pipeline.PairResult) {
		pp := pipeline.PairProblem{AccountID: p.AccountID, AccountName: p.AccountName, Region: p.Region, Status: p.Status, Errors: p.Errors}
		switch p.Status {
		case pipeline.PairFailed:
			failed = append(failed, pp)
		case pipeline.PairPartial:
			partial = append(partial, pp)
		}
	})
	if errors.Is(err, store.ErrNotFound) {
		return in, nil // the summary's list of problems stands in
	}
	in.Problems = append(failed, partial...)
	return in, err
}

// readJSONLines calls fn on each line of a JSON-lines blob.
func readJSONLines[T any](ctx context.Context, blobs store.Blobs, key string, fn func(T)) error {
	rc, err := blobs.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for n := 1; ; n++ {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: item %d: %w", key, n, err)
		}
		fn(v)
	}
}
