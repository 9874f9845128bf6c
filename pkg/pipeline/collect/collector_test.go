package collect_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/store"
)

var clock = func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }

// countingFactory fails every pair with err, counting the calls: a pair
// that reached it had its options read.
type countingFactory struct {
	calls atomic.Int32
	err   error
}

func (f *countingFactory) Clients(context.Context, pipeline.WorkItem) (checks.Clients, error) {
	f.calls.Add(1)
	return checks.Clients{}, f.err
}

// countingBlobs counts Opens by key and fails the first failOpens of them.
type countingBlobs struct {
	store.Blobs
	mu        sync.Mutex
	opens     map[string]int
	failOpens int
}

func (b *countingBlobs) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	b.mu.Lock()
	if b.opens == nil {
		b.opens = map[string]int{}
	}
	b.opens[key]++
	fail := b.failOpens > 0
	b.failOpens--
	b.mu.Unlock()
	if fail {
		return nil, errors.New("connection reset (injected)")
	}
	return b.Blobs.Open(ctx, key)
}

func (b *countingBlobs) count(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opens[key]
}

func item(region string) pipeline.WorkItem {
	return pipeline.WorkItem{RunID: "r1", AccountID: "123456789012", Region: region, Checks: []string{"ec2-idle-instance"}, OptionsKey: pipeline.OptionsKey("r1")}
}

func put(t *testing.T, blobs store.Blobs, key, content string) {
	t.Helper()
	if err := blobs.Put(context.Background(), key, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
}

// AWS's messages are unbounded; a pair's are cut to MaxErrorMessageBytes at
// a UTF-8 boundary.
func TestScanCapsErrorMessages(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ü", 3000)
	col := &collect.Collector{Clients: &countingFactory{err: errors.New(long)}, Blobs: store.Dir{Root: t.TempDir()}, Clock: clock}
	res := col.Scan(context.Background(), pipeline.WorkItem{RunID: "r1", AccountID: "123456789012", Region: "us-east-1", Checks: []string{"ec2-idle-instance"}})
	if res.Status != pipeline.PairFailed || len(res.Errors) != 1 {
		t.Fatalf("result %+v", res)
	}
	m := res.Errors[0].Message
	body, cut := strings.CutSuffix(m, "…")
	if len(m) > pipeline.MaxErrorMessageBytes || !cut || !utf8.ValidString(m) || !strings.HasPrefix(long, body) {
		t.Fatalf("message of %d bytes (valid UTF-8 %v), ends %q", len(m), utf8.ValidString(m), m[len(m)-10:])
	}
}

// A run options object that is missing, malformed or invalid fails the pair
// with code InvalidRequestError naming the key, before any credentials are
// asked for.
func TestRunOptionsRefused(t *testing.T) {
	t.Parallel()
	key := pipeline.OptionsKey("r1")
	for _, tc := range []struct {
		name, content, says string
	}{
		{"missing", "", "names no run options object"},
		{"not JSON", `{"params":`, "is not a run options object"},
		{"unknown field", `{"exclusions":[],"toleratedFailurePercentage":5}`, `unknown field "toleratedFailurePercentage"`},
		{"data after the object", `{} {}`, "data after the JSON object"},
		{"mis-cased field", `{"Exclusions":[]}`, `field "Exclusions" is not one of params, exclusions, ignoreTag`},
		{"invalid tag policy", `{"ignoreTag":{"honour":"maybe"}}`, `ignoreTag.honour: "maybe"`},
		{"invalid exclusion", `{"exclusions":[{"regions":["mars"]}]}`, `exclusions[0].regions: "mars"`},
		{"parameter out of range", `{"params":{"ec2-idle-instance":{"cpuPercent":101}}}`, "cpuPercent=101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			blobs := store.Dir{Root: t.TempDir()}
			if tc.content != "" {
				put(t, blobs, key, tc.content)
			}
			f := &countingFactory{err: errors.New("unreached")}
			col := &collect.Collector{Clients: f, Blobs: blobs, Clock: clock}
			res := col.Scan(context.Background(), item("us-east-1"))
			if res.Status != pipeline.PairFailed || len(res.Errors) != 1 || res.Errors[0].Code != "InvalidRequestError" ||
				!strings.Contains(res.Errors[0].Message, tc.says) {
				t.Fatalf("result %+v, want failed with InvalidRequestError saying %q", res, tc.says)
			}
			if tc.name != "parameter out of range" && !strings.Contains(res.Errors[0].Message, key) {
				t.Errorf("message %q does not name %s", res.Errors[0].Message, key)
			}
			if f.calls.Load() != 0 {
				t.Error("credentials were asked for")
			}
		})
	}
	// An item naming another run's options is refused as it is decoded.
	it := item("us-east-1")
	it.OptionsKey = pipeline.OptionsKey("r2")
	var ir *pipeline.InvalidRequestError
	if err := it.Validate(); !errors.As(err, &ir) || ir.Field != "optionsKey" {
		t.Fatalf("err = %v", err)
	}
}

// The options object is read once per key, however many pairs ask at once,
// and a failed read is not remembered.
func TestRunOptionsReadOnce(t *testing.T) {
	t.Parallel()
	key := pipeline.OptionsKey("r1")
	blobs := &countingBlobs{Blobs: store.Dir{Root: t.TempDir()}, failOpens: 1}
	put(t, blobs, key, `{"params":{"ec2-idle-instance":{"cpuPercent":3}},"exclusions":[{"tags":{"team":"data"}}]}`)
	f := &countingFactory{err: errors.New("stop after the options")}
	col := &collect.Collector{Clients: f, Blobs: blobs, Clock: clock, Concurrency: 8}

	// The first read fails: the pair says so with its own code (not the
	// account's), and the next pair reads again.
	res := col.Scan(context.Background(), item("us-east-1"))
	if res.Status != pipeline.PairFailed || res.Errors[0].Code != "RunOptionsUnreadable" || !strings.Contains(res.Errors[0].Message, key) {
		t.Fatalf("result %+v, want RunOptionsUnreadable", res)
	}
	var items []pipeline.WorkItem
	for _, r := range []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "ap-south-1", "sa-east-1"} {
		items = append(items, item(r))
	}
	for range 2 {
		out, err := col.Handle(context.Background(), items)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out {
			if r.Errors[0].Code != "Error" || !strings.Contains(r.Errors[0].Message, "stop after the options") {
				t.Fatalf("pair %+v did not get past its options", r)
			}
		}
	}
	if n := blobs.count(key); n != 2 {
		t.Fatalf("options read %d times, want 2 (the failed read and one more)", n)
	}
	if n := f.calls.Load(); n != 20 {
		t.Fatalf("factory called %d times, want 20 (the failed read asked for none)", n)
	}
}
