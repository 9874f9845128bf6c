package pipeline

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Local runs the whole pipeline in one process: the dispatcher writes the
// manifest, a bounded pool of workers stands in for the Distributed Map and
// feeds each work item to the collector, and the aggregator merges the
// results. The handlers are the ones deployed to Lambda.
type Local struct {
	Dispatcher  *Dispatcher
	Collector   BatchCollector
	Aggregator  *Aggregator
	Concurrency int
	// Progress, when set, is called after each pair with the pairs done and
	// the total. Calls are serialised.
	Progress func(done, total int, last PairResult)
}

// Run executes a run end to end. It fails only when the run cannot complete
// (invalid request, manifest or findings not written); failed pairs are
// reported in the summary, not as an error.
func (l *Local) Run(ctx context.Context, req RunRequest) (RunSummary, error) {
	if l.Concurrency < 1 {
		return RunSummary{}, &InvalidRequestError{Field: "concurrency", Value: fmt.Sprint(l.Concurrency), Reason: "must be at least 1"}
	}
	d, err := l.Dispatcher.Handle(ctx, req)
	if err != nil {
		return RunSummary{}, err
	}
	results := make([]PairResult, 0, d.Pairs)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.Concurrency)
	err = ReadManifest(gctx, l.Dispatcher.Blobs, d.ManifestKey, func(item WorkItem) error {
		if err := gctx.Err(); err != nil {
			return err
		}
		g.Go(func() error {
			rs, err := l.Collector.Handle(gctx, []WorkItem{item})
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			results = append(results, rs...)
			if l.Progress != nil {
				l.Progress(len(results), d.Pairs, rs[0])
			}
			return nil
		})
		return nil
	})
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return RunSummary{}, fmt.Errorf("collect: %w", err)
	}
	return l.Aggregator.Handle(ctx, AggregateRequest{RunID: d.RunID, StartedAt: d.StartedAt, Pairs: results})
}
