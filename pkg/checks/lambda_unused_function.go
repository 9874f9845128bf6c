package checks

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// lambdaTimeLayout is how Lambda formats LastModified (ISO 8601 with a
// numeric zone and no colon, e.g. 2024-01-02T03:04:05.678+0000).
const lambdaTimeLayout = "2006-01-02T15:04:05.999-0700"

// LambdaUnusedFunction finds functions not invoked during the lookback. An
// unused function costs nothing by itself; it is reported as clutter and
// attack surface (cost 0, not unknown).
var LambdaUnusedFunction = Check{
	ID:           "lambda-unused-function",
	Service:      "lambda",
	ResourceType: "AWS::Lambda::Function",
	Category:     finding.Unused,
	Description:  "Lambda functions last changed before the lookback and not invoked during it.",
	Params: []Param{
		lookbackParam(30, "orgscan default: a monthly job still counts as used"),
	},
	Actions:     []string{"lambda:ListFunctions", "cloudwatch:GetMetricData"},
	Metrics:     []Metric{{"AWS/Lambda", "Invocations", "Sum"}},
	MissingData: "no Invocations datapoints means zero invocations (Lambda publishes none for a function that is not invoked)",
	Select:      selectUnusedFunctions,
	Evaluate:    evaluateUnusedFunction,
}

func selectUnusedFunctions(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	fns, err := inv.Functions(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, f := range fns {
		// Lambda exposes no creation time; LastModified is the latest it
		// can be, so a function changed within the window is too young.
		modified := parseLambdaTime(aws.ToString(f.LastModified)) // zero when unknown: never judged
		if !oldEnough(modified, env.Now, env.LookbackDays()) {
			continue
		}
		name := aws.ToString(f.FunctionName)
		out = append(out, Candidate{
			Resource: functionResource(f),
			Queries:  map[string]cwbatch.Query{"invocations": cwbatch.Lambda("Invocations", "Sum", name)},
		})
	}
	return out, nil
}

// parseLambdaTime reads LastModified as Lambda writes it, or as RFC 3339
// (what some emulators write); it returns the zero time when it cannot.
func parseLambdaTime(s string) time.Time {
	for _, layout := range []string{lambdaTimeLayout, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

func evaluateUnusedFunction(c Candidate, m cwbatch.Results, env Env) (*Verdict, error) {
	n := env.LookbackDays()
	d, err := lastDays(m, c.Queries["invocations"], env.Now, n)
	if err != nil {
		return nil, err
	}
	if d.sum() > 0 {
		return nil, nil
	}
	zero := 0.0
	return &Verdict{
		Reason: fmt.Sprintf("no invocations in %s; last modified %s. No direct cost, but unused code and its role are attack surface",
			days(n), c.Resource.Created.UTC().Format("2006-01-02")),
		Evidence:       map[string]float64{"invocations": 0, "lookbackDays": float64(n)},
		MonthlyCostUSD: &zero,
	}, nil
}
