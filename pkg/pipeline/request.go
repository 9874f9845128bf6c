package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/finding"
)

// InvalidRequestError is a run request (or work item) that orgscan refuses
// before doing any work. Its Go type name is the Lambda errorType the state
// machine matches, so it must not be renamed.
type InvalidRequestError struct {
	Field  string // JSON field name, e.g. "accounts"
	Value  string // the offending value, as given
	Reason string
}

func (e *InvalidRequestError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("invalid request: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("invalid request: %s: %q %s", e.Field, e.Value, e.Reason)
}

var (
	// Run IDs become S3 key parts and Step Functions execution names.
	runIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)
	ouRe    = regexp.MustCompile(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
	roleRe  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	// roleARNRe is an IAM role ARN; the submatch is its account.
	roleARNRe = regexp.MustCompile(`^arn:aws(?:-[a-z]+)*:iam::([0-9]{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
)

// ValidAccountID reports whether s is a 12-digit AWS account ID
// (finding.ValidAccountID).
func ValidAccountID(s string) bool { return finding.ValidAccountID(s) }

// ValidRegion reports whether s looks like an AWS region name
// (finding.ValidRegion).
func ValidRegion(s string) bool { return finding.ValidRegion(s) }

// DecodeRunRequest parses a run request from JSON, rejecting unknown fields
// and trailing data, and validates it.
func DecodeRunRequest(b []byte) (RunRequest, error) {
	var r RunRequest
	if err := json.Unmarshal(b, &r); err != nil {
		var ir *InvalidRequestError
		if errors.As(err, &ir) {
			return RunRequest{}, err
		}
		return RunRequest{}, &InvalidRequestError{Field: "input", Reason: "is not valid JSON for a run request: " + err.Error()}
	}
	return r, r.Validate()
}

// UnmarshalJSON rejects unknown fields, so a typo in an execution input
// ("acounts") fails loudly instead of scanning everything.
func (r *RunRequest) UnmarshalJSON(b []byte) error {
	// encoding/json matches field names case-insensitively, so "Regions"
	// would be taken for "regions" (and of two spellings the last would win
	// silently). Execution inputs are case-sensitive JSON: require the exact
	// names first.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return &InvalidRequestError{Field: "input", Reason: "is not valid JSON for a run request: " + err.Error()}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) { // sorted: the same input, the same error
		if !slices.Contains(runRequestFields, k) {
			return unknownRequestField(k)
		}
	}
	if raw, ok := keys["ignoreTag"]; ok {
		var policy map[string]json.RawMessage
		if json.Unmarshal(raw, &policy) == nil {
			if err := exactNames(policy, tagPolicyFields, "ignoreTag"); err != nil {
				return err
			}
		}
	}
	type plain RunRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			// The top-level names were checked above: this one is nested,
			// and exclusions are the only nested objects with fixed fields.
			return &InvalidRequestError{Field: "exclusions", Value: strings.Trim(f, `"`), Reason: "is not an exclusion field (known: " + strings.Join(exclusionFields, ", ") + ")"}
		}
		return &InvalidRequestError{Field: "input", Reason: "is not valid JSON for a run request: " + err.Error()}
	}
	if dec.More() {
		return &InvalidRequestError{Field: "input", Reason: "has data after the JSON object"}
	}
	*r = RunRequest(p)
	return nil
}

// runRequestFields, exclusionFields and tagPolicyFields are RunRequest's,
// finding.Exclusion's and finding.TagPolicy's JSON names, spelled exactly.
var (
	runRequestFields = jsonNames(reflect.TypeFor[RunRequest]())
	exclusionFields  = jsonNames(reflect.TypeFor[finding.Exclusion]())
	tagPolicyFields  = jsonNames(reflect.TypeFor[finding.TagPolicy]())
)

func unknownRequestField(name string) error {
	return &InvalidRequestError{Field: name, Reason: "is not a run request field (known: " + strings.Join(runRequestFields, ", ") + ")"}
}

// Validate checks the request's syntax: IDs and names well formed, checks
// registered, parameters within their bounds. Whether accounts and regions
// exist is the dispatcher's business (it needs discovery for that).
func (r RunRequest) Validate() error {
	if r.RunID != "" && !runIDRe.MatchString(r.RunID) {
		return &InvalidRequestError{Field: "runId", Value: r.RunID, Reason: "must be 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit"}
	}
	for _, list := range []struct {
		field string
		ids   []string
	}{{"accounts", r.Accounts}, {"excludeAccounts", r.ExcludeAccounts}} {
		for _, id := range list.ids {
			if !ValidAccountID(id) {
				return &InvalidRequestError{Field: list.field, Value: id, Reason: "is not a 12-digit AWS account ID"}
			}
		}
	}
	for _, ou := range r.OrganizationalUnits {
		if !ouRe.MatchString(ou) {
			return &InvalidRequestError{Field: "organizationalUnits", Value: ou, Reason: "is not an organization root (r-…) or OU ID (ou-…-…)"}
		}
	}
	for _, reg := range r.Regions {
		if !ValidRegion(reg) {
			return &InvalidRequestError{Field: "regions", Value: reg, Reason: "is not an AWS region name (like us-east-1)"}
		}
	}
	if r.RoleName != "" && !roleRe.MatchString(r.RoleName) {
		return &InvalidRequestError{Field: "roleName", Value: r.RoleName, Reason: "is not an IAM role name"}
	}
	if r.LookbackDays != 0 && (r.LookbackDays < 1 || r.LookbackDays > catalog.MaxLookbackDays) {
		return &InvalidRequestError{Field: "lookbackDays", Value: fmt.Sprint(r.LookbackDays), Reason: fmt.Sprintf("must be 1..%d (CloudWatch keeps hourly data 455 days)", catalog.MaxLookbackDays)}
	}
	if _, err := catalog.Select(r.Checks); err != nil {
		var u *catalog.UnknownCheckError
		if errors.As(err, &u) {
			return &InvalidRequestError{Field: "checks", Value: u.ID, Reason: "is not a registered check (see `orgscan checks`)"}
		}
		return err
	}
	for id := range r.Params {
		if _, ok := catalog.Lookup(id); !ok {
			return &InvalidRequestError{Field: "params", Value: id, Reason: "is not a registered check"}
		}
	}
	if err := catalog.Validate(r.Checks, r.Params, r.LookbackDays); err != nil {
		return &InvalidRequestError{Field: "params", Reason: err.Error()}
	}
	if r.MaxConcurrency != 0 && (r.MaxConcurrency < 1 || r.MaxConcurrency > 10000) {
		return &InvalidRequestError{Field: "maxConcurrency", Value: fmt.Sprint(r.MaxConcurrency), Reason: "must be 1..10000 (the Distributed Map's limit)"}
	}
	for i, e := range r.Exclusions {
		if err := e.Validate(); err != nil {
			return exclusionError(i, err)
		}
		for _, id := range e.Checks {
			if _, ok := catalog.Lookup(id); !ok {
				return &InvalidRequestError{Field: fmt.Sprintf("exclusions[%d].checks", i), Value: id, Reason: "is not a registered check"}
			}
		}
	}
	return tagPolicyError(r.IgnoreTag)
}

// tagPolicyError is the InvalidRequestError of a tag policy's validation,
// or nil when there is no policy or it is valid.
func tagPolicyError(p *finding.TagPolicy) error {
	if p == nil {
		return nil
	}
	if err := p.Validate(); err != nil {
		var ee *finding.ExclusionError
		if errors.As(err, &ee) {
			return &InvalidRequestError{Field: ee.Field, Value: ee.Value, Reason: ee.Reason}
		}
		return &InvalidRequestError{Field: "ignoreTag", Reason: err.Error()}
	}
	return nil
}

// exclusionError is the InvalidRequestError of exclusion i's validation
// error, naming the exclusion's field and value.
func exclusionError(i int, err error) *InvalidRequestError {
	var ee *finding.ExclusionError
	if errors.As(err, &ee) && ee.Field != "exclusion" {
		return &InvalidRequestError{Field: fmt.Sprintf("exclusions[%d].%s", i, ee.Field), Value: ee.Value, Reason: ee.Reason}
	}
	return &InvalidRequestError{Field: fmt.Sprintf("exclusions[%d]", i), Reason: err.Error()}
}
