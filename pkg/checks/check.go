// Package checks holds orgscan's checks and what they share: the Check type,
// the explicit registry, the per-pair Inventory that memoises every
// Describe/List call, and the narrow AWS interfaces checks depend on.
//
// A check runs in two phases so the collector can merge the metric queries of
// every check of a pair into the fewest GetMetricData calls: Select reads the
// inventory and returns candidates with the metric queries each one needs;
// after one merged fetch, Evaluate turns each candidate's evidence into a
// Verdict, or none.
package checks

import (
	"context"
	"time"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// Check is one kind of waste orgscan looks for. A Check is a value: it
// describes itself (for docs, the IAM policy and validation) and carries its
// two phases as functions. Select and Evaluate must be safe to call from many
// goroutines at once for different pairs.
type Check struct {
	ID           string
	Service      string
	ResourceType string // CloudFormation resource type name, e.g. AWS::EC2::Instance
	Category     finding.Category
	Description  string
	Params       []Param
	Actions      []string // IAM actions the member role needs for this check
	Metrics      []Metric // what it asks CloudWatch for; empty when it decides from describe data
	// MissingData says how the check reads a day or window without datapoints.
	MissingData string

	Select   func(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error)
	Evaluate func(c Candidate, m cwbatch.Results, env Env) (*Verdict, error)
}

// Metric names a CloudWatch metric a check queries.
type Metric struct{ Namespace, Name, Stat string }

// Param is a tunable threshold with its default, bounds and where the default
// comes from (declared in package catalog, which the functions that do not
// scan import instead of this package).
type Param = catalog.Param

// LookbackParam is the name of the parameter that sets a check's window.
const LookbackParam = catalog.LookbackParam

// Params are resolved parameter values by name.
type Params = catalog.Params

// Env is what a check knows about the pair it runs in.
type Env struct {
	Now       time.Time
	AccountID string
	Region    string
	Params    Params
	Prices    *pricing.Table
}

// LookbackDays is the check's window in whole days (0 when it has none).
func (e Env) LookbackDays() int { return int(e.Params[LookbackParam]) }

// Resource identifies what a candidate or finding is about.
type Resource struct {
	Type    string
	ID      string
	ARN     string
	Name    string
	State   string
	Created time.Time // zero when AWS does not say
	Tags    map[string]string
}

// Candidate is a resource a check wants to judge, with the metric queries it
// needs (keyed by a name the check picks) and any describe data it keeps.
type Candidate struct {
	Resource Resource
	Queries  map[string]cwbatch.Query
	Data     any
}

// Verdict is a check's judgement of a wasteful candidate. The collector adds
// the identity, account, region and run fields to make a finding.Finding.
type Verdict struct {
	Reason         string
	Evidence       map[string]float64
	MonthlyCostUSD *float64
}

// ParamError reports a parameter override that the check does not declare or
// that is out of bounds.
type ParamError = catalog.ParamError

// Resolve returns the check's parameters with overrides applied, rejecting
// names it does not declare and values outside [Min, Max].
func (c Check) Resolve(overrides map[string]float64) (Params, error) {
	return catalog.Resolve(c.ID, c.Params, overrides)
}

// HasParam reports whether the check declares the named parameter.
func (c Check) HasParam(name string) bool { return catalog.HasParam(c.Params, name) }

// Entry is the check's catalog entry.
func (c Check) Entry() catalog.Entry {
	return catalog.Entry{ID: c.ID, Service: c.Service, ResourceType: c.ResourceType, Params: c.Params}
}

// lookbackParam is the shared declaration of a check's window.
func lookbackParam(def float64, source string) Param {
	return Param{Name: LookbackParam, Default: def, Min: 1, Max: cwbatch.MaxLookbackDays, Unit: "days", Integer: true,
		Description: "days of metrics judged, and the minimum age of a judged resource", Source: source}
}
