package pipeline

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/orgscan/orgscan/pkg/finding"
)

// The exact-name list the decoder enforces is RunRequest's JSON tags, in
// order, so a new field cannot be added to one and forgotten in the other.
func TestRunRequestFieldsMatchTags(t *testing.T) {
	tags := func(typ reflect.Type) []string {
		var names []string
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			names = append(names, name)
		}
		return names
	}
	if got := tags(reflect.TypeFor[RunRequest]()); !reflect.DeepEqual(got, runRequestFields) {
		t.Fatalf("runRequestFields = %v, JSON tags = %v", runRequestFields, got)
	}
	if got := tags(reflect.TypeFor[finding.Exclusion]()); !reflect.DeepEqual(got, exclusionFields) {
		t.Fatalf("exclusionFields = %v, JSON tags = %v", exclusionFields, got)
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
