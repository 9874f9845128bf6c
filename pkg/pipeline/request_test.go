package pipeline

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The exact names the decoders enforce are the types' JSON tags: these are
// the execution input's and an exclusion's field names (a contract with the
// state machine and the configuration docs).
func TestRequestFieldNames(t *testing.T) {
	want := []string{"runId", "accounts", "excludeAccounts", "organizationalUnits", "regions", "checks", "roleName", "lookbackDays", "params", "exclusions", "ignoreTag", "maxConcurrency"}
	if !reflect.DeepEqual(runRequestFields, want) {
		t.Errorf("runRequestFields = %v, want %v", runRequestFields, want)
	}
	if want := []string{"checks", "accounts", "regions", "resources", "tags", "reason"}; !reflect.DeepEqual(exclusionFields, want) {
		t.Errorf("exclusionFields = %v, want %v", exclusionFields, want)
	}
	if got, want := workItemFields, []string{"runId", "accountId", "accountName", "region", "roleArn", "checks", "lookbackDays", "optionsKey"}; !reflect.DeepEqual(got, want) {
		t.Errorf("workItemFields = %v, want %v", got, want)
	}
	if got, want := collectInputFields, []string{"Items", "childStartedAt", "BatchInput"}; !reflect.DeepEqual(got, want) {
		t.Errorf("collectInputFields = %v, want %v", got, want)
	}
}

// A request that still sets toleratedFailurePercentage (the Map now
// tolerates every failed child and records it) is refused like any unknown
// field, not silently ignored.
func TestToleratedFailurePercentageIsGone(t *testing.T) {
	_, err := DecodeRunRequest([]byte(`{"regions":["us-east-1"],"toleratedFailurePercentage":10}`))
	var ir *InvalidRequestError
	if !errors.As(err, &ir) || ir.Field != "toleratedFailurePercentage" || !strings.Contains(ir.Reason, "is not a run request field") {
		t.Fatalf("err = %v, want the unknown field named", err)
	}
}

// Of several unknown fields the first in sorted order is named, every time.
func TestDecodeRunRequestNamesUnknownFieldsDeterministically(t *testing.T) {
	for range 20 {
		_, err := DecodeRunRequest([]byte(`{"zeta":1,"alpha":2,"mid":3}`))
		var ir *InvalidRequestError
		if !errors.As(err, &ir) || ir.Field != "alpha" {
			t.Fatalf("err = %v, want the field alpha named", err)
		}
	}
}

// encoding/json would take "Regions" for "regions"; the decoder must not.
func TestDecodeRunRequestFieldNamesAreCaseSensitive(t *testing.T) {
	for _, tc := range []struct{ in, field string }{
		{`{"Regions":["us-east-1"]}`, "Regions"},
		{`{"regions":["us-east-1"],"REGIONS":["eu-west-1"]}`, "REGIONS"},
		{`{"RunId":"r1"}`, "RunId"},
	} {
		_, err := DecodeRunRequest([]byte(tc.in))
		var ir *InvalidRequestError
		if !errors.As(err, &ir) || ir.Field != tc.field {
			t.Errorf("%s: err = %v, want InvalidRequestError for field %q", tc.in, err, tc.field)
		}
	}
	r, err := DecodeRunRequest([]byte(`{"regions":["us-east-1"],"runId":"r1"}`))
	if err != nil || r.RunID != "r1" || len(r.Regions) != 1 {
		t.Fatalf("exact names: %+v, %v", r, err)
	}
}

// An unknown field inside an exclusion names the exclusions and the field.
func TestDecodeRunRequestUnknownExclusionField(t *testing.T) {
	_, err := DecodeRunRequest([]byte(`{"exclusions":[{"checks":["ec2-idle-instance"],"resourceIds":["i-1"]}]}`))
	var ir *InvalidRequestError
	if !errors.As(err, &ir) || ir.Field != "exclusions" || ir.Value != "resourceIds" {
		t.Fatalf("err = %v, want InvalidRequestError{exclusions resourceIds}", err)
	}
}

// The ignoreTag policy of a request is checked like the rest: exact names,
// known modes, valid accounts.
func TestRequestIgnoreTag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, field, value string }{
		{`{"ignoreTag":{"Honour":"none"}}`, "ignoreTag", "Honour"},
		{`{"ignoreTag":{"honour":"sometimes"}}`, "ignoreTag.honour", "sometimes"},
		{`{"ignoreTag":{"honour":"accounts"}}`, "ignoreTag.accounts", ""},
		{`{"ignoreTag":{"honour":"accounts","accounts":["12345"]}}`, "ignoreTag.accounts", "12345"},
		{`{"ignoreTag":{"honour":"none","accounts":["123456789012"]}}`, "ignoreTag.accounts", ""},
	} {
		_, err := DecodeRunRequest([]byte(tc.in))
		var ir *InvalidRequestError
		if !errors.As(err, &ir) || ir.Field != tc.field || ir.Value != tc.value {
			t.Errorf("%s: %v, want field %q value %q", tc.in, err, tc.field, tc.value)
		}
	}
	r, err := DecodeRunRequest([]byte(`{"ignoreTag":{"honour":"accounts","accounts":["123456789012"]}}`))
	if err != nil || r.IgnoreTag == nil || !r.IgnoreTag.Honours("123456789012") || r.IgnoreTag.Honours("210987654321") {
		t.Fatalf("valid policy: %+v %v", r.IgnoreTag, err)
	}
}
