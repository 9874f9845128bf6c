// Package catalog is what the dispatcher and the aggregator need to know
// about the checks — their IDs, services, resource types and parameters —
// without the checks' code or the AWS SDK clients it uses. It keeps the
// Lambda functions that do not scan small: importing package checks links
// every scan service's SDK client.
//
// The entries are generated from package checks' registry (catalog_gen.go,
// `make docs`); a test in package checks fails when they differ.
package catalog

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
)

// Entry is what the catalog knows of one check.
type Entry struct {
	ID           string
	Service      string
	ResourceType string
	Params       []Param
}

// Param is a tunable threshold with its default, bounds and where the default
// comes from.
type Param struct {
	Name        string
	Default     float64
	Min, Max    float64
	Unit        string
	Description string
	Source      string
	// Integer parameters (days) accept whole numbers only.
	Integer bool
}

// MaxLookbackDays is the longest lookback a request may ask for: the
// metric batcher's limit (cwbatch.MaxLookbackDays, which a test compares),
// declared here so the dispatcher need not link the CloudWatch client.
const MaxLookbackDays = 454

// LookbackParam is the name of the parameter that sets a check's window.
const LookbackParam = "lookbackDays"

// Params are resolved parameter values by name.
type Params map[string]float64

// ParamError reports a parameter override that the check does not declare or
// that is out of bounds.
type ParamError struct {
	Check, Param string
	Value        float64
	Reason       string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("check %s: parameter %s=%v: %s", e.Check, e.Param, e.Value, e.Reason)
}

// UnknownCheckError names a check ID that is not registered.
type UnknownCheckError struct{ ID string }

func (e *UnknownCheckError) Error() string {
	return fmt.Sprintf("unknown check %q (known: %s)", e.ID, strings.Join(IDs(), ", "))
}

// CheckError records why a check could not (fully) judge a pair. Count is
// the number of failures folded into it (candidates left unjudged, say);
// Message is the first one. Check is empty when the whole pair failed.
type CheckError struct {
	Check   string `json:"check"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Count   int    `json:"count,omitempty"`
}

// Resolve returns the parameters of the check with ID id and params decl,
// with overrides applied, rejecting names it does not declare and values
// outside [Min, Max].
func Resolve(id string, decl []Param, overrides map[string]float64) (Params, error) {
	p := make(Params, len(decl))
	for _, d := range decl {
		p[d.Name] = d.Default
	}
	names := make([]string, 0, len(overrides))
	for n := range overrides {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := overrides[n]
		d, ok := find(decl, n)
		if !ok {
			return nil, &ParamError{Check: id, Param: n, Value: v, Reason: "unknown parameter (known: " + strings.Join(paramNames(decl), ", ") + ")"}
		}
		// Written so that NaN, which fails every comparison, is rejected too.
		if !(v >= d.Min && v <= d.Max) {
			return nil, &ParamError{Check: id, Param: n, Value: v, Reason: fmt.Sprintf("must be within [%v, %v]", d.Min, d.Max)}
		}
		if d.Integer && v != math.Trunc(v) {
			return nil, &ParamError{Check: id, Param: n, Value: v, Reason: "must be a whole number"}
		}
		p[n] = v
	}
	return p, nil
}

// Overrides are the overrides of one check: its own, plus lookbackDays > 0
// as its window when it has one.
func Overrides(decl []Param, own map[string]float64, lookbackDays int) map[string]float64 {
	o := make(map[string]float64, len(own)+1)
	for k, v := range own {
		o[k] = v
	}
	if _, ok := find(decl, LookbackParam); ok && lookbackDays > 0 {
		o[LookbackParam] = float64(lookbackDays)
	}
	return o
}

// HasParam reports whether decl declares the named parameter.
func HasParam(decl []Param, name string) bool { _, ok := find(decl, name); return ok }

func find(decl []Param, name string) (Param, bool) {
	for _, d := range decl {
		if d.Name == name {
			return d, true
		}
	}
	return Param{}, false
}

func paramNames(decl []Param) []string {
	out := make([]string, len(decl))
	for i, d := range decl {
		out[i] = d.Name
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// All returns every check's entry in registry order. The slice is a copy.
func All() []Entry { return append([]Entry(nil), entries...) }

// IDs returns the registered check IDs in registry order.
func IDs() []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

// Lookup returns the entry of the check with the given ID.
func Lookup(id string) (Entry, bool) {
	for _, e := range entries {
		if e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Select returns the entries named by ids in registry order, without
// duplicates; no ids selects all. An unknown ID is an *UnknownCheckError.
func Select(ids []string) ([]Entry, error) {
	if len(ids) == 0 {
		return All(), nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		if _, ok := Lookup(id); !ok {
			return nil, &UnknownCheckError{ID: id}
		}
		want[id] = true
	}
	var out []Entry
	for _, e := range entries {
		if want[e.ID] {
			out = append(out, e)
		}
	}
	return out, nil
}

// Validate checks what a collector would do with these checks, overrides
// and lookback, without the checks' code: the checks exist and every
// override resolves. It returns the first *UnknownCheckError or
// *ParamError.
func Validate(ids []string, overrides map[string]map[string]float64, lookbackDays int) error {
	es, err := Select(ids)
	if err != nil {
		return err
	}
	for _, e := range es {
		if _, err := Resolve(e.ID, e.Params, Overrides(e.Params, overrides[e.ID], lookbackDays)); err != nil {
			return err
		}
	}
	// Overrides of checks the request does not run are refused when wrong
	// too: a typo there would otherwise wait for the day the check is run.
	for _, id := range slices.Sorted(maps.Keys(overrides)) {
		if slices.ContainsFunc(es, func(e Entry) bool { return e.ID == id }) {
			continue
		}
		e, ok := Lookup(id)
		if !ok {
			return &UnknownCheckError{ID: id}
		}
		if _, err := Resolve(e.ID, e.Params, overrides[id]); err != nil {
			return err
		}
	}
	return nil
}

// allIDs is every check ID in registry order, shared by Shared's callers.
var allIDs = IDs()

// Shared returns ids, or — when they are every check in registry order, as
// most work items' are — one slice shared by every caller, so a run's
// thousands of pair results do not each hold a copy of the IDs. The result
// must not be modified.
func Shared(ids []string) []string {
	if slices.Equal(ids, allIDs) {
		return allIDs
	}
	return ids
}
