package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/store"
)

// Fuzz targets for every decoder of untrusted input the handlers have
// (`make fuzz` runs each for a bounded time; seeds are below and under
// testdata/fuzz/). The property: never panic, refuse with a typed error, and
// what is accepted survives a round trip.

func FuzzDispatchInput(f *testing.F) {
	for _, s := range []string{`{}`, `null`, ``, `{"accounts":["123456789012"],"regions":["us-east-1"]}`,
		`{"source":"aws.events","detail-type":"Scheduled Event","detail":{"checks":["ec2-idle-instance"]}}`,
		`{"acounts":[]}`, `{"lookbackDays":-1}`, `{"params":{"ec2-idle-instance":{"cpuPercent":101}}}`,
		`{"exclusions":[{"resources":["i-[abc"]}]}`, `{"maxConcurrency":0,"toleratedFailurePercentage":10}`, `[1,2]`, `{"runId":"../x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseDispatchInput(b)
		if err != nil {
			var ir *InvalidRequestError
			if !errors.As(err, &ir) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeRunRequest(again)
		if err != nil {
			t.Fatalf("accepted %q but refused its own encoding %s: %v", b, again, err)
		}
		if !reflect.DeepEqual(normal(req), normal(back)) {
			t.Fatalf("round trip changed the request: %+v vs %+v", req, back)
		}
	})
}

// normal makes nil and empty collections compare equal.
func normal(r RunRequest) string {
	b, _ := json.Marshal(r)
	return string(b)
}

func FuzzCollectInput(f *testing.F) {
	for _, s := range []string{`{"runId":"r1","accountId":"123456789012","region":"us-east-1","checks":["ec2-idle-instance"]}`,
		`{"Items":[{"runId":"r1","accountId":"123456789012","region":"us-east-1"}],"BatchInput":{}}`,
		`{"Items":[{"runId":"r1","accountId":"123456789012","region":"us-east-1","optionsKey":"runs/r1/options.json"}],"childStartedAt":"2026-11-26T06:00:00.123Z"}`,
		`{"Items":[{"runId":"r1","accountId":"123456789012","region":"us-east-1"}],"childStartedAt":"yesterday"}`,
		`{"Items":[]}`, `{"Items":null}`, `{"accountId":1}`, `"x"`, `{"runId":"r1","accountId":"123456789012","region":"us-east-1","optionsKey":"runs/r2/options.json"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := ParseCollectInput(b)
		if err != nil {
			var ir *InvalidRequestError
			if !errors.As(err, &ir) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		if len(items) == 0 {
			t.Fatal("accepted an empty batch")
		}
		for _, it := range items {
			if err := it.Validate(); err != nil {
				t.Fatalf("accepted an invalid item %+v: %v", it, err)
			}
		}
	})
}

func FuzzAggregateInput(f *testing.F) {
	for _, s := range []string{`{"runId":"r1","startedAt":"2026-11-26T06:00:00Z"}`,
		`{"runId":"r1","startedAt":"2026-11-26T06:00:00Z","collect":{"resultWriter":{"Bucket":"b","Key":"runs/r1/map/x/manifest.json"}}}`,
		`{"runId":"r1","startedAt":"2026-11-26T06:00:00Z","collect":{"Error":"States.ItemReaderFailed","Cause":"x"}}`,
		`{"runId":"r1","pairs":[{"runId":"r1","accountId":"123456789012","region":"us-east-1","status":"ok","checks":[]}]}`,
		`{"RunID":"r1"}`, `{"runId":"r1"} {}`, `{"runId":"r1","pair":[]}`, `[]`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseAggregateInput(b)
		if err != nil {
			var ir *InvalidRequestError
			if !errors.As(err, &ir) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseAggregateInput(again)
		if err != nil {
			t.Fatalf("accepted %q but refused its own encoding %s: %v", b, again, err)
		}
		if b2, _ := json.Marshal(back); string(b2) != string(again) {
			t.Fatalf("round trip changed the request: %s vs %s", again, b2)
		}
	})
}

// FuzzMapExecution decodes one child execution of a ResultWriter results
// file (written by Step Functions from the collector's output): every work
// item of a failed child becomes exactly one failed pair carrying the
// child's error; a succeeded child's results are what the collector
// returned.
func FuzzMapExecution(f *testing.F) {
	items := `{"Items":[{"runId":"r1","accountId":"123456789012","region":"us-east-1"},{"runId":"r1","accountId":"123456789012","region":"eu-west-1"}]}`
	for _, e := range []mapExecution{
		{Status: "SUCCEEDED", Input: items, Output: `{"results":[{"runId":"r1","accountId":"123456789012","region":"us-east-1","status":"ok","checks":[]}]}`},
		{Status: "SUCCEEDED", Input: items, Output: `{"failedBatch":{"items":[{"runId":"r1","accountId":"123456789012","region":"us-east-1"}],"error":"AccountAccessError","cause":"denied"}}`},
		{Status: "SUCCEEDED", Input: items, Output: `{"resultsKey":"runs/r1/results/123456789012.json","pairs":2}`},
		{Status: "SUCCEEDED", Input: items, Output: `{"resultsKey":"../../etc/passwd","pairs":2}`},
		{Status: "FAILED", Input: items, Error: "States.Timeout", Cause: "timed out"},
		{Status: "FAILED", Input: `{"Items":7}`, Error: "x"},
		{Status: "", Output: `null`},
	} {
		f.Add(e.Status, e.Input, e.Output, e.Error, e.Cause)
	}
	a := &Aggregator{Blobs: store.Dir{Root: f.TempDir()}}
	f.Fuzz(func(t *testing.T, status, input, output, code, cause string) {
		e := mapExecution{Status: status, Input: input, Output: output, Error: code, Cause: cause}
		pairs, err := a.pairsOf(context.Background(), "r1", e)
		if err != nil {
			return // refused: the aggregation fails loudly
		}
		if status == "SUCCEEDED" || (status == "" && output != "") {
			var o failedBatchOutput
			if json.Unmarshal([]byte(output), &o) != nil {
				t.Fatalf("accepted an output that does not decode: %q", output)
			}
			if o.FailedBatch != nil && len(pairs) != len(o.FailedBatch.Items) {
				t.Fatalf("failed batch of %d items gave %d pairs", len(o.FailedBatch.Items), len(pairs))
			}
			return
		}
		var in CollectInput
		if err := json.Unmarshal([]byte(input), &in); err != nil {
			t.Fatalf("accepted an input that does not decode: %q", input)
		}
		if len(pairs) != len(in.Items) {
			t.Fatalf("failed child of %d items gave %d pairs", len(in.Items), len(pairs))
		}
		for _, p := range pairs {
			if p.Status != PairFailed || len(p.Errors) != 1 || p.Errors[0].Code != code || p.Errors[0].Message != cause || p.RunID != "r1" {
				t.Fatalf("failed child's pair %+v", p)
			}
		}
	})
}

// FuzzJSONLines reads a chunk or inventory object (gzipped JSON lines
// written by the collector): arbitrary bytes are refused or read item by
// item, and findings written by WriteJSONLines read back equal.
func FuzzJSONLines(f *testing.F) {
	f.Add([]byte(`{"findingId":"a","checkId":"ec2-idle-instance","tags":{"k":"v"}}`+"\n"), "ec2-idle-instance", "i-1", "team", "<\u202e\x00")
	f.Add([]byte("{}\n{}\nnot json\n"), "", "", "", "")
	f.Add([]byte{}, "x", "y", "", "")
	f.Fuzz(func(t *testing.T, raw []byte, check, resource, tagKey, tagValue string) {
		ctx := context.Background()
		blobs := store.Dir{Root: t.TempDir()}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(raw)
		zw.Close()
		if err := blobs.Put(ctx, "raw.jsonl.gz", &buf); err != nil {
			t.Fatal(err)
		}
		var got []finding.Finding
		n, err := readLines(ctx, blobs, "raw.jsonl.gz", func(f finding.Finding) { got = append(got, f) })
		if err == nil && n != len(got) {
			t.Fatalf("read %d lines, counted %d", len(got), n)
		}

		for _, s := range []string{check, resource, tagKey, tagValue} {
			if !utf8.ValidString(s) {
				return // JSON cannot carry invalid UTF-8 unchanged
			}
		}
		want := []finding.Finding{{FindingID: finding.ID(check, "123456789012", "us-east-1", resource), CheckID: check,
			AccountID: "123456789012", Region: "us-east-1", ResourceID: resource, Tags: map[string]string{tagKey: tagValue},
			MonthlyCostUSD: finding.Cost(1.5), Status: finding.Open}}
		if err := WriteJSONLines(ctx, blobs, "chunk.jsonl.gz", want); err != nil {
			t.Fatal(err)
		}
		var back []finding.Finding
		if _, err := readLines(ctx, blobs, "chunk.jsonl.gz", func(f finding.Finding) { back = append(back, f) }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, back) {
			t.Fatalf("round trip: %+v vs %+v", want, back)
		}
	})
}
