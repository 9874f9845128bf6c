package pipeline

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
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
