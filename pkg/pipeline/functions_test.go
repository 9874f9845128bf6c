package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/sim"
	"github.com/orgscan/orgscan/pkg/store"
)

func TestParseDispatchInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		regions  []string
		errField string
	}{
		{"plain request", `{"regions":["eu-west-1"]}`, []string{"eu-west-1"}, ""},
		{"empty", ``, nil, ""},
		{"null", `null`, nil, ""},
		{"scheduled event with detail", `{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{"regions":["us-east-1"]}}`, []string{"us-east-1"}, ""},
		{"scheduled event, empty detail", `{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`, nil, ""},
		{"scheduled event, no detail", `{"source":"aws.events","detail-type":"Scheduled Event"}`, nil, ""},
		{"event with a bad detail", `{"source":"aws.events","detail-type":"Scheduled Event","detail":{"regions":["moon-1"]}}`, nil, "regions"},
		{"unknown field", `{"region":"us-east-1"}`, nil, "region"},
		{"not JSON", `{"regions":`, nil, "input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := pipeline.ParseDispatchInput([]byte(tc.in))
			var ir *pipeline.InvalidRequestError
			if tc.errField != "" {
				if !errors.As(err, &ir) || ir.Field != tc.errField {
					t.Fatalf("err = %v, want InvalidRequestError on %s", err, tc.errField)
				}
				return
			}
			if err != nil || strings.Join(req.Regions, ",") != strings.Join(tc.regions, ",") {
				t.Fatalf("req %+v err %v", req, err)
			}
		})
	}
}

func TestParseCollectInput(t *testing.T) {
	t.Parallel()
	item := `{"runId":"r1","accountId":"123456789012","region":"us-east-1","checks":["ec2-idle-instance"]}`
	items, err := pipeline.ParseCollectInput([]byte(`{"Items":[` + item + `,` + item + `],"BatchInput":{"x":1}}`))
	if err != nil || len(items) != 2 {
		t.Fatalf("batch: %v %v", items, err)
	}
	if items, err := pipeline.ParseCollectInput([]byte(item)); err != nil || len(items) != 1 {
		t.Fatalf("single: %v %v", items, err)
	}
	for _, bad := range []string{`{"Items":[]}`, `{"Items":[{"runId":"r1","accountId":"1","region":"us-east-1"}]}`,
		`{"runId":"r1","accountId":"123456789012","region":"us-east-1","extra":true}`, `[1]`, `{"Items":[` + item + `],"More":1}`} {
		var ir *pipeline.InvalidRequestError
		if _, err := pipeline.ParseCollectInput([]byte(bad)); !errors.As(err, &ir) {
			t.Errorf("%s: err = %v, want InvalidRequestError", bad, err)
		}
	}
}

// A batch whose account denies the role is an AccountAccessError (its Go
// type name is the errorType the state machine catches); a batch with one
// healthy pair returns results.
func TestCollectFunctionAccountAccessError(t *testing.T) {
	t.Parallel()
	base, _ := sim.New(sim.Config{Seed: 3, Accounts: 2})
	accts, _ := base.Accounts(context.Background(), nil)
	org, _ := sim.New(sim.Config{Seed: 3, Accounts: 2, DenyAccounts: []string{accts[0].ID}})
	fn := pipeline.CollectFunction{Collector: &collect.Collector{Clients: org, Blobs: store.Dir{Root: t.TempDir()}, Clock: org.Now, Prices: pricing.Default()}}
	batch := func(account string) json.RawMessage {
		var items []pipeline.WorkItem
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			items = append(items, pipeline.WorkItem{RunID: "r", AccountID: account, Region: r, Checks: checks.IDs()})
		}
		b, _ := json.Marshal(pipeline.CollectInput{Items: items})
		return b
	}
	_, err := fn.Handle(context.Background(), batch(accts[0].ID))
	var ae *pipeline.AccountAccessError
	if !errors.As(err, &ae) || ae.AccountID != accts[0].ID || ae.Code != "AccessDenied" || strings.Join(ae.Regions, ",") != "us-east-1,eu-west-1" {
		t.Fatalf("err = %#v", err)
	}
	out, err := fn.Handle(context.Background(), batch(accts[1].ID))
	if err != nil || len(out.Results) != 2 || out.Results[0].Status != pipeline.PairOK {
		t.Fatalf("healthy batch: %+v %v", out, err)
	}
}
