package sim_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/report"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
)

// The simulator's functions hold a secret in their environment, as real
// ones do, and ListFunctions answers with it; orgscan's listing drops it
// whichever client it goes through.
func TestListFunctionsAnswersWithSecretsTheInventoryDrops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, err := sim.New(sim.Config{Seed: 17, Accounts: 2, Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	accts, _ := o.Accounts(ctx, nil)
	p, err := o.Pair(accts[0].ID, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Functions) == 0 {
		t.Fatal("the pair has no functions")
	}
	for i, f := range out.Functions {
		if f.Environment == nil || f.Environment.Variables["DB_PASSWORD"] != sim.FunctionSecret(aws.ToString(f.FunctionName)) {
			t.Fatalf("%s: ListFunctions answered without the function's secret: %+v", aws.ToString(f.FunctionName), f.Environment)
		}
		out.Functions[i].Environment = nil // a caller's change to its page must not reach the world
	}

	sdk, err := o.Clients(ctx, pipeline.WorkItem{AccountID: accts[0].ID, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]checks.Clients{"pair": p.APIClients(), "SDK": sdk} {
		fns, err := checks.NewInventory(c).Functions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(fns) != len(out.Functions) {
			t.Fatalf("%s: listed %d functions, want %d", name, len(fns), len(out.Functions))
		}
		for _, f := range fns {
			if f.Environment != nil {
				t.Errorf("%s client: %s kept its environment", name, aws.ToString(f.FunctionName))
			}
		}
		b, _ := json.Marshal(fns)
		if bytes.Contains(b, []byte(sim.FunctionSecretPrefix)) || bytes.Contains(b, []byte("DB_PASSWORD")) {
			t.Errorf("%s client: the listed functions marshal with a secret", name)
		}
	}

	again, err := p.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Functions[0].Environment == nil {
		t.Fatal("dropping the secrets from a page changed the simulated world")
	}
}

// A whole local run over functions that hold secrets writes no secret to
// any file of the data directory — chunks, inventory records, findings,
// pairs, state, report, Parquet (whose GZIP pages are inflated and read) —
// and every directory it creates is 0700 and every file 0600.
func TestRunWritesNoSecretAndOnlyPrivateFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	org, err := sim.New(sim.Config{Seed: 23, Accounts: 4, Regions: []string{"us-east-1", "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "orgscan-data") // created by the run
	blobs := store.Dir{Root: dir}
	clock := func() time.Time { return org.Now().Add(6 * time.Hour) }
	local := &pipeline.Local{
		Dispatcher:  &pipeline.Dispatcher{Discovery: org, Blobs: blobs, Clock: clock},
		Collector:   &collect.Collector{Clients: org, Blobs: blobs, Clock: org.Now, Prices: pricing.Default()},
		Aggregator:  &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{}, State: &store.LocalState{Dir: dir}, Reporter: report.HTML{}, Clock: clock},
		Concurrency: 4,
	}
	sum, err := local.Run(ctx, pipeline.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.PairsOK != 8 {
		t.Fatalf("pairs: %+v", sum)
	}

	var files int
	var lambdaFindings, lambdaRecords, parquetPages int
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if e.IsDir() {
			if info.Mode() != fs.ModeDir|0o700 {
				t.Errorf("%s: mode %v, want drwx------", rel, info.Mode())
			}
			return nil
		}
		files++
		if info.Mode() != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", rel, info.Mode())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var texts [][]byte
		switch {
		case strings.HasSuffix(path, ".gz"):
			texts = append(texts, gunzip(t, rel, b))
		case strings.HasSuffix(path, ".parquet"):
			pages := inflateAll(b)
			parquetPages += len(pages)
			texts = append(pages, b)
		default:
			texts = append(texts, b)
		}
		for _, text := range texts {
			for _, s := range []string{sim.FunctionSecretPrefix, "DB_PASSWORD"} {
				if bytes.Contains(text, []byte(s)) {
					t.Errorf("%s holds %q", rel, s)
				}
			}
			lambdaFindings += bytes.Count(text, []byte(`"checkId":"lambda-unused-function"`))
			if strings.Contains(rel, "inventory") {
				lambdaRecords += countLines(text, `"resourceType":"AWS::Lambda::Function"`)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 || lambdaFindings == 0 || lambdaRecords == 0 || parquetPages == 0 {
		t.Fatalf("the run wrote %d files, %d Lambda findings, %d Lambda inventory records, %d Parquet pages: the test read nothing to check",
			files, lambdaFindings, lambdaRecords, parquetPages)
	}
}

func gunzip(t *testing.T, name string, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// inflateAll returns every GZIP member found anywhere in b, inflated: the
// compressed pages of a Parquet file.
func inflateAll(b []byte) [][]byte {
	var out [][]byte
	for i := 0; i+3 <= len(b); i++ {
		if b[i] != 0x1f || b[i+1] != 0x8b || b[i+2] != 0x08 {
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(b[i:]))
		if err != nil {
			continue
		}
		zr.Multistream(false)
		if page, err := io.ReadAll(zr); err == nil {
			out = append(out, page)
		}
	}
	return out
}

func countLines(text []byte, s string) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}
