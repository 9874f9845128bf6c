package checks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// Configured is a check with its resolved parameters.
type Configured struct {
	Check  Check
	Params Params
}

// Configure resolves the parameters of each check: overrides[checkID] are
// that check's overrides, and lookbackDays > 0 replaces the lookback of every
// check that has one.
func Configure(cs []Check, overrides map[string]map[string]float64, lookbackDays int) ([]Configured, error) {
	out := make([]Configured, 0, len(cs))
	for _, c := range cs {
		p, err := c.Resolve(catalog.Overrides(c.Params, overrides[c.ID], lookbackDays))
		if err != nil {
			return nil, err
		}
		out = append(out, Configured{Check: c, Params: p})
	}
	return out, nil
}

// ScanInput is one account × region to scan.
type ScanInput struct {
	AccountID string
	Region    string
	Now       time.Time
	Clients   Clients
	Checks    []Configured
	Prices    *pricing.Table
}

// Judged is one wasteful resource found by a check.
type Judged struct {
	CheckID  string
	Resource Resource
	Verdict  Verdict
}

// CheckError records why a check could not (fully) judge a pair.
type CheckError = catalog.CheckError

// ScanResult is what scanning a pair found and cost.
type ScanResult struct {
	Judged []Judged
	Errors []CheckError
	// Selected is how many checks finished their describe phase.
	Selected   int
	Candidates int
	Calls      map[string]int
	Metrics    cwbatch.Stats
	// Records are every resource the pair's inventory described.
	Records []Resource
}

// Scan runs the checks on one pair in two phases: every check selects its
// candidates from one shared inventory; the metric queries of all candidates
// of all checks are fetched together (⌈queries/500⌉ GetMetricData calls over
// the longest lookback); then each check evaluates its candidates. A check's
// error or panic becomes a CheckError for that check only. When ctx is done,
// checks not yet started are recorded as DeadlineExceeded and Scan returns
// what it has.
func Scan(ctx context.Context, in ScanInput) ScanResult {
	inv := NewInventory(in.Clients)
	var res ScanResult
	errs := map[string]*CheckError{}
	record := func(check string, err error) {
		if e, ok := errs[check]; ok {
			e.Count++
			return
		}
		errs[check] = &CheckError{Check: check, Code: Code(err), Message: Message(err), Count: 1}
	}

	type selected struct {
		cfg   Configured
		env   Env
		cands []Candidate
	}
	var sel []selected
	var queries []cwbatch.Query
	maxLookback := 0
	for _, cfg := range in.Checks {
		if err := ctx.Err(); err != nil {
			record(cfg.Check.ID, err)
			continue
		}
		env := Env{Now: in.Now, AccountID: in.AccountID, Region: in.Region, Params: cfg.Params, Prices: in.Prices}
		var cands []Candidate
		err := protect(func() error {
			var err error
			cands, err = cfg.Check.Select(ctx, inv, env)
			return err
		})
		if err != nil {
			record(cfg.Check.ID, err)
			continue
		}
		res.Selected++
		res.Candidates += len(cands)
		sel = append(sel, selected{cfg, env, cands})
		for _, c := range cands {
			for _, q := range c.Queries {
				queries = append(queries, q)
			}
			if len(c.Queries) > 0 {
				maxLookback = max(maxLookback, env.LookbackDays())
			}
		}
	}

	var metrics cwbatch.Results
	var fetchErr error
	if len(queries) > 0 {
		if in.Clients.CloudWatch == nil {
			fetchErr = fmt.Errorf("cloudwatch:GetMetricData: %w", ErrNoClient)
		} else if w, err := cwbatch.DailyWindow(in.Now, maxLookback); err != nil {
			fetchErr = err
		} else {
			metrics, res.Metrics, fetchErr = cwbatch.Fetch(ctx, in.Clients.CloudWatch, w, sortedQueries(queries))
		}
	}

	for _, s := range sel {
		for _, c := range s.cands {
			var v *Verdict
			err := protect(func() error {
				var err error
				v, err = s.cfg.Check.Evaluate(c, metrics, s.env)
				return err
			})
			var mu *MetricsUnavailableError
			if err != nil && fetchErr != nil && errors.As(err, &mu) && mu.Status == "not fetched" {
				err = fetchErr // say why it was not fetched
			}
			if err != nil {
				record(s.cfg.Check.ID, err)
				continue
			}
			if v != nil {
				res.Judged = append(res.Judged, Judged{CheckID: s.cfg.Check.ID, Resource: c.Resource, Verdict: *v})
			}
		}
	}

	res.Calls = inv.Calls()
	res.Records = inv.Records(Env{Now: in.Now, AccountID: in.AccountID, Region: in.Region})
	if res.Metrics.Calls > 0 {
		res.Calls["cloudwatch:GetMetricData"] += res.Metrics.Calls
	}
	for _, cfg := range in.Checks {
		if e, ok := errs[cfg.Check.ID]; ok {
			res.Errors = append(res.Errors, *e)
		}
	}
	return res
}

// sortedQueries orders queries by key so that a pair's requests, and so the
// simulator's answers, are the same from run to run.
func sortedQueries(qs []cwbatch.Query) []cwbatch.Query {
	// Each key is built once: building it in the comparison was a third of
	// a pair's CPU time.
	keyed := make([]struct {
		key string
		q   cwbatch.Query
	}, len(qs))
	for i, q := range qs {
		keyed[i].key, keyed[i].q = q.Key(), q
	}
	sort.Slice(keyed, func(i, j int) bool { return keyed[i].key < keyed[j].key })
	for i := range keyed {
		qs[i] = keyed[i].q
	}
	return qs
}

// PanicError is a recovered panic of a check.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("check panicked: %v", e.Value) }

func protect(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: string(debug.Stack())}
		}
	}()
	return f()
}

// Message is err said briefly: for an AWS API error, the operation and AWS's
// own message, without the SDK's wrapping ("operation error …, https
// response error …").
func Message(err error) string {
	var op *smithy.OperationError
	var api smithy.APIError
	if errors.As(err, &op) && errors.As(err, &api) {
		return fmt.Sprintf("%s:%s: %s", strings.ToLower(op.ServiceID), op.OperationName, api.ErrorMessage())
	}
	return err.Error()
}

// Code classifies an error for reports and for the state machine: the AWS
// error code when there is one, else a name for orgscan's own kinds.
func Code(err error) string {
	var api smithy.APIError
	var mu *MetricsUnavailableError
	var pe *PanicError
	var we *cwbatch.WindowError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	case errors.As(err, &mu):
		return "MetricsUnavailable"
	case errors.As(err, &pe):
		return "Panic"
	case errors.As(err, &we):
		return "InvalidWindow"
	case errors.Is(err, ErrNoClient):
		return "NoClient"
	}
	return "Error"
}
