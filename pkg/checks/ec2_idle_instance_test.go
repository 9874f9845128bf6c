package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

func instance(id, typ string, state ec2types.InstanceStateName, launched time.Time, tags ...string) ec2types.Instance {
	in := ec2types.Instance{
		InstanceId:   aws.String(id),
		InstanceType: ec2types.InstanceType(typ),
		State:        &ec2types.InstanceState{Name: state},
		Tags:         ec2Tags(tags...),
	}
	if !launched.IsZero() {
		in.LaunchTime = aws.Time(launched)
	}
	return in
}

// ec2Metrics cans the three series of an instance.
func ec2Metrics(f *fakeAWS, id string, cpu, netIn, netOut []point) {
	f.set(cwbatch.EC2("CPUUtilization", "Average", id), cpu)
	f.set(cwbatch.EC2("NetworkIn", "Sum", id), netIn)
	f.set(cwbatch.EC2("NetworkOut", "Sum", id), netOut)
}

// idleInstance is a t3.micro launched long ago with CPU 1% and 1 MB/day.
func idleInstance(f *fakeAWS, id string) {
	f.instances = append(f.instances, instance(id, "t3.micro", ec2types.InstanceStateNameRunning, daysAgo(100)))
	ec2Metrics(f, id, flat(14, 1), flat(14, 600_000), flat(14, 400_000))
}

func TestEC2IdleInstance(t *testing.T) {
	t.Parallel()
	const id = "i-0idle"
	running := ec2types.InstanceStateNameRunning
	t3micro := priceOf(pricing.Default().EC2Instance(priced, "t3.micro"))
	if t3micro == nil || *t3micro != 7.59 { // 0.0104 $/h × 730 h
		t.Fatalf("pricing fixture changed: t3.micro in %s = %v", priced, fmtCost(t3micro))
	}
	// one instance, running since long ago, with the given series
	one := func(cpu, in, out []point) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.instances = []ec2types.Instance{instance(id, "t3.micro", running, daysAgo(100))}
			ec2Metrics(f, id, cpu, in, out)
		}
	}
	launchedAt := func(at time.Time) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			f.instances = []ec2types.Instance{instance(id, "t3.micro", running, at)}
			ec2Metrics(f, id, flat(14, 1), flat(14, 0), flat(14, 0))
		}
	}
	runCheckCases(t, checks.EC2IdleInstance, []checkCase{
		{
			name: "idle instance reported with its price",
			setup: func(f *fakeAWS) {
				f.instances = []ec2types.Instance{instance(id, "t3.micro", running, daysAgo(100), "Name", "web", "team", "a")}
				ec2Metrics(f, id, with(14, 2, 5, 3.4), with(14, 1_000_000, 9, 2_000_000), with(14, 500_000, 9, 1_250_000))
			},
			wantIDs: []string{id},
			wantJudged: []checks.Judged{{
				CheckID: "ec2-idle-instance",
				Resource: checks.Resource{Type: "AWS::EC2::Instance", ID: id, ARN: "arn:aws:ec2:us-east-1:111122223333:instance/" + id,
					Name: "web", State: "running", Created: daysAgo(100), Tags: map[string]string{"Name": "web", "team": "a"}},
				Verdict: checks.Verdict{
					Reason:         "running t3.micro idle for 14 days: daily average CPU at most 3.4% (threshold 5%), network at most 3.25 MB/day (threshold 5 MB)",
					Evidence:       map[string]float64{"maxDailyCpuPercent": 3.4, "maxDailyNetworkMB": 3.25, "lookbackDays": 14},
					MonthlyCostUSD: t3micro,
				},
			}},
			wantCalls: map[string]int{opDescribeInstances: 1, opGetMetricData: 1},
		},
		{
			name:        "unpriced region: nil cost and the reason says so",
			region:      unpriced,
			setup:       one(flat(14, 1), flat(14, 0), flat(14, 0)),
			wantIDs:     []string{id},
			wantReason:  []string{"no price known for t3.micro in sa-east-1", "CPU at most 1.0%"},
			wantNilCost: true,
		},
		{
			name: "unknown instance type in a priced region: nil cost",
			setup: func(f *fakeAWS) {
				f.instances = []ec2types.Instance{instance(id, "x9.huge", running, daysAgo(100))}
				ec2Metrics(f, id, flat(14, 1), flat(14, 0), flat(14, 0))
			},
			wantIDs:     []string{id},
			wantReason:  []string{"running x9.huge idle", "no price known for x9.huge in us-east-1"},
			wantNilCost: true,
		},
		{
			name:  "busy CPU is not reported",
			setup: one(flat(14, 40), flat(14, 0), flat(14, 0)),
		},
		{
			name:  "one busy CPU day clears the instance",
			setup: one(with(14, 1, 0, 50), flat(14, 0), flat(14, 0)),
		},
		{
			name:  "one busy network day clears the instance",
			setup: one(flat(14, 1), with(14, 0, 13, 100_000_000), flat(14, 0)),
		},
		{
			name:       "CPU exactly at the threshold is reported",
			setup:      one(with(14, 1, 7, 5), flat(14, 0), flat(14, 0)),
			wantIDs:    []string{id},
			wantReason: []string{"CPU at most 5.0% (threshold 5%)"},
			wantCost:   t3micro,
		},
		{
			name:  "CPU just above the threshold is not",
			setup: one(with(14, 1, 7, 5.01), flat(14, 0), flat(14, 0)),
		},
		{
			name:       "network exactly at the threshold (in+out) is reported",
			setup:      one(flat(14, 1), with(14, 0, 3, 3_000_000), with(14, 0, 3, 2_000_000)),
			wantIDs:    []string{id},
			wantReason: []string{"network at most 5.00 MB/day (threshold 5 MB)"},
		},
		{
			name:  "network one byte above the threshold is not",
			setup: one(flat(14, 1), with(14, 0, 3, 3_000_001), with(14, 0, 3, 2_000_000)),
		},
		{
			name:       "raised CPU threshold reports a 40% instance",
			params:     map[string]float64{"cpuPercent": 40},
			setup:      one(flat(14, 40), flat(14, 0), flat(14, 0)),
			wantIDs:    []string{id},
			wantReason: []string{"CPU at most 40.0% (threshold 40%)"},
		},
		{
			name:       "zero network threshold: zero traffic is reported",
			params:     map[string]float64{"networkMB": 0},
			setup:      one(flat(14, 1), flat(14, 0), flat(14, 0)),
			wantIDs:    []string{id},
			wantReason: []string{"network at most 0.00 MB/day (threshold 0 MB)"},
		},
		{
			name:   "zero network threshold: one byte is not",
			params: map[string]float64{"networkMB": 0},
			setup:  one(flat(14, 1), with(14, 0, 0, 1), flat(14, 0)),
		},
		{
			name:        "younger than the window: never a candidate",
			setup:       launchedAt(daysAgo(13)),
			wantNoFetch: true,
		},
		{
			name:        "launched one second too late for the window",
			setup:       launchedAt(daysAgo(14).Add(time.Second)),
			wantNoFetch: true,
		},
		{
			name:    "launched exactly one window ago is judged",
			setup:   launchedAt(daysAgo(14)),
			wantIDs: []string{id},
		},
		{
			name:        "unknown launch time: never a candidate",
			setup:       launchedAt(time.Time{}),
			wantNoFetch: true,
		},
		{
			name:       "shorter lookback judges a younger instance",
			params:     map[string]float64{"lookbackDays": 7},
			setup:      launchedAt(daysAgo(10)),
			wantIDs:    []string{id},
			wantReason: []string{"idle for 7 days"},
		},
		{
			name:  "a day without a CPU datapoint: not reported, no error",
			setup: one(daily(1, 1, 1, 1, 1, 1, nan, 1, 1, 1, 1, 1, 1, 1), flat(14, 0), flat(14, 0)),
		},
		{
			name:  "no CPU datapoints at all: not reported",
			setup: one(nil, flat(14, 0), flat(14, 0)),
		},
		{
			name:       "missing network datapoints count as no traffic",
			setup:      one(flat(14, 1), nil, daily(nan, 100, nan)),
			wantIDs:    []string{id},
			wantReason: []string{"network at most 0.00 MB/day"},
		},
		{
			name: "not running: stopped, stopping, pending, terminated and stateless instances need no metrics",
			setup: func(f *fakeAWS) {
				for i, s := range []ec2types.InstanceStateName{"stopped", "stopping", "pending", "terminated", "shutting-down"} {
					in := fmt.Sprintf("i-%d", i)
					f.instances = append(f.instances, instance(in, "t3.micro", s, daysAgo(100)))
					ec2Metrics(f, in, flat(14, 0), flat(14, 0), flat(14, 0))
				}
				f.instances = append(f.instances, ec2types.Instance{InstanceId: aws.String("i-nostate"), LaunchTime: aws.Time(daysAgo(100))})
			},
			wantNoFetch: true,
			wantCalls:   map[string]int{opDescribeInstances: 1},
		},
		{
			name: "many instances over many pages, in inventory order",
			setup: func(f *fakeAWS) {
				f.pageSize, f.metricPageSize = 2, 5
				for i := range 7 {
					idleInstance(f, fmt.Sprintf("i-%02d", i))
				}
				// A busy one in the middle.
				f.instances[3] = instance("i-03", "t3.micro", running, daysAgo(100))
				f.set(cwbatch.EC2("CPUUtilization", "Average", "i-03"), flat(14, 90))
			},
			wantIDs:  []string{"i-00", "i-01", "i-02", "i-04", "i-05", "i-06"},
			wantCost: t3micro,
			// 7 instances at 2 a page; 21 queries × 14 points at 5 a page.
			wantCalls: map[string]int{opDescribeInstances: 4, opGetMetricData: 59},
		},
		{
			name: "DescribeInstances denied",
			setup: func(f *fakeAWS) {
				idleInstance(f, id)
				f.errs = map[string]error{opDescribeInstances: accessDenied()}
			},
			wantErrs: []checks.CheckError{{Check: "ec2-idle-instance", Code: "AccessDenied", Message: "api error AccessDenied: not authorized", Count: 1}},
		},
	})
}

func TestEC2IdleInstanceQueriesOnlyRunningCandidates(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{}
	idleInstance(f, "i-run")
	f.instances = append(f.instances,
		instance("i-stopped", "t3.micro", ec2types.InstanceStateNameStopped, daysAgo(100)),
		instance("i-young", "t3.micro", ec2types.InstanceStateNameRunning, daysAgo(3)))
	res := scan(t, f, priced, []checks.Check{checks.EC2IdleInstance}, nil)
	want := []string{
		"AWS/EC2|CPUUtilization|Average|InstanceId=i-run",
		"AWS/EC2|NetworkIn|Sum|InstanceId=i-run",
		"AWS/EC2|NetworkOut|Sum|InstanceId=i-run",
	}
	if diff := cmp.Diff(want, f.requestedKeys()); diff != "" {
		t.Errorf("queried keys (-want +got):\n%s", diff)
	}
	if res.Candidates != 1 || res.Metrics.Queries != 3 || res.Metrics.Calls != 1 {
		t.Errorf("candidates %d, metric stats %+v; want 1 candidate, 3 queries in 1 call", res.Candidates, res.Metrics)
	}
	for _, p := range f.gmdPeriods {
		if p != 86400 {
			t.Fatalf("period %d, want a daily period", p)
		}
	}
	wantWindow := cwbatch.Window{Start: midnight.AddDate(0, 0, -14), End: midnight, Period: cwbatch.Day}
	if diff := cmp.Diff([]cwbatch.Window{wantWindow}, f.gmdWindows, cmp.AllowUnexported(cwbatch.Window{})); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
}

func TestEC2IdleInstanceMetricsUnavailable(t *testing.T) {
	t.Parallel()
	for _, metric := range []struct{ name, stat string }{{"CPUUtilization", "Average"}, {"NetworkIn", "Sum"}, {"NetworkOut", "Sum"}} {
		t.Run(metric.name, func(t *testing.T) {
			t.Parallel()
			testMetricsUnavailable(t, checks.EC2IdleInstance, func(f *fakeAWS) { idleInstance(f, "i-1") },
				cwbatch.EC2(metric.name, metric.stat, "i-1"))
		})
	}
}
