package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
)

// lambdaTime formats t the way Lambda reports LastModified.
func lambdaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

func function(name, lastModified string) lambdatypes.FunctionConfiguration {
	return lambdatypes.FunctionConfiguration{
		FunctionName: aws.String(name),
		FunctionArn:  aws.String("arn:aws:lambda:us-east-1:111122223333:function:" + name),
		LastModified: aws.String(lastModified),
		State:        lambdatypes.StateActive,
		Runtime:      lambdatypes.RuntimePython312,
	}
}

func invocations(f *fakeAWS, name string, pts []point) {
	f.set(cwbatch.Lambda("Invocations", "Sum", name), pts)
}

// unusedFunction adds a function last changed long ago, with no datapoints.
func unusedFunction(f *fakeAWS, name string) {
	f.functions = append(f.functions, function(name, lambdaTime(daysAgo(200))))
}

func TestLambdaUnusedFunction(t *testing.T) {
	t.Parallel()
	const name = "old-cron"
	zero := usd(0)
	modifiedAt := func(lm string) func(f *fakeAWS) {
		return func(f *fakeAWS) { f.functions = []lambdatypes.FunctionConfiguration{function(name, lm)} }
	}
	one := func(pts []point) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			unusedFunction(f, name)
			invocations(f, name, pts)
		}
	}
	runCheckCases(t, checks.LambdaUnusedFunction, []checkCase{
		{
			name:    "no Invocations datapoints means zero invocations: reported at a known zero cost",
			setup:   modifiedAt("2026-09-01T10:20:30.123+0000"),
			wantIDs: []string{name},
			wantJudged: []checks.Judged{{
				CheckID: "lambda-unused-function",
				Resource: checks.Resource{Type: "AWS::Lambda::Function", ID: name, ARN: "arn:aws:lambda:us-east-1:111122223333:function:" + name,
					Name: name, State: "Active", Created: time.Date(2026, 9, 1, 10, 20, 30, 123e6, time.UTC)},
				Verdict: checks.Verdict{
					Reason:         "no invocations in 30 days; last modified 2026-09-01. No direct cost, but unused code and its role are attack surface",
					Evidence:       map[string]float64{"invocations": 0, "lookbackDays": 30},
					MonthlyCostUSD: zero,
				},
			}},
			wantCalls: map[string]int{opListFunctions: 1, opGetMetricData: 1},
		},
		{
			name:         "unpriced region: cost is still a known zero",
			region:       unpriced,
			setup:        one(nil),
			wantIDs:      []string{name},
			wantCost:     zero,
			wantNoReason: []string{"no price known"},
		},
		{
			name:     "zero-valued datapoints (exactly the threshold): reported",
			setup:    one(flat(30, 0)),
			wantIDs:  []string{name},
			wantCost: zero,
		},
		{
			name:  "one invocation on one day: not reported",
			setup: one(with(30, 0, 29, 1)),
		},
		{
			name:  "one invocation on the oldest day of the window: not reported",
			setup: one(daily(append([]float64{1}, make([]float64, 29)...)...)),
		},
		{
			name:        "modified within the window: never a candidate",
			setup:       modifiedAt(lambdaTime(daysAgo(29))),
			wantNoFetch: true,
		},
		{
			name:        "modified one second too late for the window",
			setup:       modifiedAt(lambdaTime(daysAgo(30).Add(time.Second))),
			wantNoFetch: true,
		},
		{
			name:    "modified exactly one window ago: judged",
			setup:   modifiedAt(lambdaTime(daysAgo(30))),
			wantIDs: []string{name},
		},
		{
			name:    "a non-UTC offset is honoured",
			setup:   modifiedAt(daysAgo(30).In(time.FixedZone("", 3600)).Format("2006-01-02T15:04:05.000-0700")),
			wantIDs: []string{name},
		},
		{
			name:        "a non-UTC offset is honoured (one second late)",
			setup:       modifiedAt(daysAgo(30).Add(time.Second).In(time.FixedZone("", 3600)).Format("2006-01-02T15:04:05.000-0700")),
			wantNoFetch: true,
		},
		{
			name:       "LastModified without fractional seconds parses",
			setup:      modifiedAt("2026-09-01T10:20:30+0000"),
			wantIDs:    []string{name},
			wantReason: []string{"last modified 2026-09-01"},
		},
		{
			name:        "unparsable LastModified: unknown age, never judged",
			setup:       modifiedAt("last tuesday"),
			wantNoFetch: true,
		},
		{
			name:        "empty LastModified: never judged",
			setup:       modifiedAt(""),
			wantNoFetch: true,
		},
		{
			name:       "shorter lookback judges a recently changed function",
			params:     map[string]float64{"lookbackDays": 7},
			setup:      modifiedAt(lambdaTime(daysAgo(10))),
			wantIDs:    []string{name},
			wantReason: []string{"no invocations in 7 days"},
		},
		{
			name: "functions over many pages (Marker/NextMarker)",
			setup: func(f *fakeAWS) {
				f.pageSize = 2
				for i := range 5 {
					unusedFunction(f, fmt.Sprintf("fn-%d", i))
				}
				invocations(f, "fn-1", flat(30, 4))
			},
			wantIDs:   []string{"fn-0", "fn-2", "fn-3", "fn-4"},
			wantCost:  zero,
			wantCalls: map[string]int{opListFunctions: 3, opGetMetricData: 1},
		},
		{
			name: "ListFunctions denied",
			setup: func(f *fakeAWS) {
				unusedFunction(f, name)
				f.errs = map[string]error{opListFunctions: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "lambda-unused-function", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
	})
}

func TestLambdaUnusedFunctionMetricsUnavailable(t *testing.T) {
	t.Parallel()
	testMetricsUnavailable(t, checks.LambdaUnusedFunction, func(f *fakeAWS) {
		unusedFunction(f, "fn")
		invocations(f, "fn", flat(30, 0))
	}, cwbatch.Lambda("Invocations", "Sum", "fn"))
}
