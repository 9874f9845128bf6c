package checks_test

import (
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

var (
	actionRE = regexp.MustCompile(`^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$`)
	idRE     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)
	cfnRE    = regexp.MustCompile(`^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$`)
)

func TestRegistryIDs(t *testing.T) {
	t.Parallel()
	want := []string{"ec2-idle-instance", "ebs-unattached-volume", "ec2-unassociated-eip", "vpc-idle-nat-gateway", "lambda-unused-function", "rds-idle-instance",
		"ec2-stopped-instance", "ebs-orphan-snapshot", "ec2-unused-security-group", "ec2-detached-eni", "vpc-idle-interface-endpoint",
		"elb-no-targets", "elb-idle", "elb-unused-target-group", "elasticache-idle-cluster", "dynamodb-idle-provisioned-table", "logs-no-retention"}
	if diff := cmp.Diff(want, checks.IDs()); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	seen := map[string]bool{}
	for i, c := range checks.All() {
		if c.ID == "" || !idRE.MatchString(c.ID) {
			t.Errorf("check %d: bad ID %q", i, c.ID)
		}
		if seen[c.ID] {
			t.Errorf("duplicate ID %q", c.ID)
		}
		seen[c.ID] = true
		if got, ok := checks.Lookup(c.ID); !ok || got.ID != c.ID {
			t.Errorf("Lookup(%q) = %q, %v", c.ID, got.ID, ok)
		}
	}
	if _, ok := checks.Lookup("no-such-check"); ok {
		t.Error("Lookup of an unknown ID succeeded")
	}
}

func TestRegistryChecksDescribeThemselves(t *testing.T) {
	t.Parallel()
	categories := []finding.Category{finding.Idle, finding.Unused, finding.Hygiene}
	for _, c := range checks.All() {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			if c.Service == "" || c.Description == "" || c.MissingData == "" {
				t.Errorf("service %q, description %q, missing data %q: all required", c.Service, c.Description, c.MissingData)
			}
			if !cfnRE.MatchString(c.ResourceType) {
				t.Errorf("ResourceType %q is not a CloudFormation type name", c.ResourceType)
			}
			if !slices.Contains(categories, c.Category) {
				t.Errorf("Category %q", c.Category)
			}
			if c.Select == nil || c.Evaluate == nil {
				t.Fatal("Select and Evaluate are required")
			}
			if len(c.Actions) == 0 {
				t.Error("no IAM actions")
			}
			for _, a := range c.Actions {
				if !actionRE.MatchString(a) {
					t.Errorf("action %q is not service:Action", a)
				}
			}
			needsCW := slices.Contains(c.Actions, "cloudwatch:GetMetricData")
			if needsCW != (len(c.Metrics) > 0) {
				t.Errorf("Metrics %v but cloudwatch:GetMetricData in actions = %v", c.Metrics, needsCW)
			}
			names := map[string]bool{}
			for _, p := range c.Params {
				if p.Name == "" || names[p.Name] {
					t.Errorf("param name %q empty or repeated", p.Name)
				}
				names[p.Name] = true
				if !(p.Min <= p.Default && p.Default <= p.Max) {
					t.Errorf("param %s: want Min %v ≤ Default %v ≤ Max %v", p.Name, p.Min, p.Default, p.Max)
				}
				if p.Source == "" || p.Description == "" || p.Unit == "" {
					t.Errorf("param %s: source %q, description %q, unit %q: all required", p.Name, p.Source, p.Description, p.Unit)
				}
			}
			if len(c.Metrics) > 0 {
				if !c.HasParam(checks.LookbackParam) {
					t.Fatalf("check with metrics lacks %s", checks.LookbackParam)
				}
				for _, p := range c.Params {
					if p.Name == checks.LookbackParam && (p.Min < 1 || p.Max > cwbatch.MaxLookbackDays || p.Default != math.Trunc(p.Default)) {
						t.Errorf("lookback %+v: want whole days within [1, %d]", p, cwbatch.MaxLookbackDays)
					}
				}
			}
			for _, m := range c.Metrics {
				if !strings.HasPrefix(m.Namespace, "AWS/") || m.Name == "" || m.Stat == "" {
					t.Errorf("metric %+v", m)
				}
			}
			if p, err := c.Resolve(nil); err != nil || len(p) != len(c.Params) {
				t.Errorf("Resolve(nil) = %v, %v; want every default", p, err)
			}
		})
	}
}

// populated is a pair with something for every real check to select.
func populated() *fakeAWS {
	f := &fakeAWS{}
	everything(f, 1, 1, 1, 1)
	return f
}

// TestRegistryActionsCoverCalls runs each check alone and asserts that every
// API it calls is among its declared IAM actions, and that it needs every
// action it declares.
func TestRegistryActionsCoverCalls(t *testing.T) {
	t.Parallel()
	for _, c := range checks.All() {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			f := populated()
			res := scan(t, f, priced, []checks.Check{c}, nil)
			if len(res.Errors) != 0 || len(res.Judged) == 0 {
				t.Fatalf("judged %d, errors %+v; want findings and no error", len(res.Judged), res.Errors)
			}
			called := checks.SortedOps(f.Calls())
			declared := append([]string(nil), c.Actions...)
			sort.Strings(declared)
			if diff := cmp.Diff(declared, called); diff != "" {
				t.Errorf("declared actions (-) vs calls made (+):\n%s", diff)
			}
		})
	}
}

// TestRegistryMetricsMatchQueries asserts that the queries a check's Select
// makes are exactly the metrics it declares.
func TestRegistryMetricsMatchQueries(t *testing.T) {
	t.Parallel()
	for _, c := range checks.All() {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			p, err := c.Resolve(nil)
			if err != nil {
				t.Fatal(err)
			}
			env := checks.Env{Now: now, AccountID: account, Region: priced, Params: p}
			cands, err := c.Select(context.Background(), checks.NewInventory(populated().clients()), env)
			if err != nil || len(cands) == 0 {
				t.Fatalf("Select: %d candidates, %v", len(cands), err)
			}
			used := map[checks.Metric]bool{}
			for _, cand := range cands {
				for _, q := range cand.Queries {
					used[checks.Metric{Namespace: q.Namespace, Name: q.Metric, Stat: q.Stat}] = true
				}
			}
			declared := map[checks.Metric]bool{}
			for _, m := range c.Metrics {
				declared[m] = true
			}
			if diff := cmp.Diff(declared, used, cmp.Comparer(func(a, b map[checks.Metric]bool) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
				t.Errorf("declared (-) vs queried (+) metrics:\n%s", diff)
			}
		})
	}
}

func TestAllReturnsACopy(t *testing.T) {
	t.Parallel()
	all := checks.All()
	all[0].ID = "mutated"
	if checks.All()[0].ID == "mutated" || checks.IDs()[0] == "mutated" {
		t.Error("All exposes the registry itself")
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		ids       []string
		want      []string
		isUnknown bool
		unknown   string
	}{
		{name: "nil selects all", ids: nil, want: checks.IDs()},
		{name: "empty selects all", ids: []string{}, want: checks.IDs()},
		{name: "registry order, not request order", ids: []string{"rds-idle-instance", "ec2-idle-instance"}, want: []string{"ec2-idle-instance", "rds-idle-instance"}},
		{name: "duplicates once", ids: []string{"ebs-unattached-volume", "ebs-unattached-volume"}, want: []string{"ebs-unattached-volume"}},
		{name: "unknown ID", ids: []string{"ec2-idle-instance", "ec2-idle-instanse"}, isUnknown: true, unknown: "ec2-idle-instanse"},
		{name: "empty ID", ids: []string{""}, isUnknown: true, unknown: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := checks.Select(tc.ids)
			if tc.isUnknown {
				var ue *checks.UnknownCheckError
				if !errors.As(err, &ue) || ue.ID != tc.unknown {
					t.Fatalf("err = %v, want *UnknownCheckError for %q", err, tc.unknown)
				}
				if !strings.Contains(err.Error(), `"`+tc.unknown+`"`) || !strings.Contains(err.Error(), "ec2-idle-instance") {
					t.Errorf("message %q should name the unknown ID and the known ones", err)
				}
				if got != nil {
					t.Errorf("checks %v alongside the error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if diff := cmp.Diff(tc.want, ids); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionsUnion(t *testing.T) {
	t.Parallel()
	got := checks.Actions(checks.All())
	want := []string{
		"cloudwatch:GetMetricData",
		"dynamodb:DescribeTable", "dynamodb:ListTables",
		"ec2:DescribeAddresses", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeNatGateways", "ec2:DescribeNetworkInterfaces",
		"ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSnapshots", "ec2:DescribeVolumes", "ec2:DescribeVpcEndpoints",
		"elasticache:DescribeCacheClusters",
		"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
		"lambda:ListFunctions",
		"logs:DescribeLogGroups",
		"rds:DescribeDBInstances",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Actions (-want +got):\n%s", diff)
	}
	if got := checks.Actions(nil); len(got) != 0 {
		t.Errorf("Actions(nil) = %v", got)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ec2 := checks.EC2IdleInstance
	for _, tc := range []struct {
		name      string
		check     checks.Check
		overrides map[string]float64
		want      checks.Params
		wantErr   *checks.ParamError
		reason    string
	}{
		{name: "defaults", check: ec2, want: checks.Params{"lookbackDays": 14, "cpuPercent": 5, "networkMB": 5}},
		{name: "override", check: ec2, overrides: map[string]float64{"cpuPercent": 10}, want: checks.Params{"lookbackDays": 14, "cpuPercent": 10, "networkMB": 5}},
		{name: "bounds are inclusive", check: ec2, overrides: map[string]float64{"cpuPercent": 100, "lookbackDays": 1, "networkMB": 0},
			want: checks.Params{"lookbackDays": 1, "cpuPercent": 100, "networkMB": 0}},
		{name: "max lookback", check: ec2, overrides: map[string]float64{"lookbackDays": cwbatch.MaxLookbackDays},
			want: checks.Params{"lookbackDays": cwbatch.MaxLookbackDays, "cpuPercent": 5, "networkMB": 5}},
		{name: "unknown parameter", check: ec2, overrides: map[string]float64{"cpu": 3},
			wantErr: &checks.ParamError{Check: "ec2-idle-instance", Param: "cpu", Value: 3}, reason: "unknown parameter (known: lookbackDays, cpuPercent, networkMB)"},
		{name: "unknown parameter on a check without any", check: checks.EC2UnassociatedEIP, overrides: map[string]float64{"x": 1},
			wantErr: &checks.ParamError{Check: "ec2-unassociated-eip", Param: "x", Value: 1}, reason: "unknown parameter (known: none)"},
		{name: "below Min", check: ec2, overrides: map[string]float64{"cpuPercent": -1},
			wantErr: &checks.ParamError{Check: "ec2-idle-instance", Param: "cpuPercent", Value: -1}, reason: "must be within [0, 100]"},
		{name: "above Max", check: ec2, overrides: map[string]float64{"cpuPercent": 100.5},
			wantErr: &checks.ParamError{Check: "ec2-idle-instance", Param: "cpuPercent", Value: 100.5}, reason: "must be within [0, 100]"},
		{name: "lookback beyond CloudWatch retention", check: ec2, overrides: map[string]float64{"lookbackDays": 455},
			wantErr: &checks.ParamError{Check: "ec2-idle-instance", Param: "lookbackDays", Value: 455}, reason: "must be within [1, 454]"},
		{name: "zero lookback", check: checks.RDSIdleInstance, overrides: map[string]float64{"lookbackDays": 0},
			wantErr: &checks.ParamError{Check: "rds-idle-instance", Param: "lookbackDays", Value: 0}, reason: "must be within [1, 454]"},
		{name: "infinite", check: checks.RDSIdleInstance, overrides: map[string]float64{"maxConnections": math.Inf(1)},
			wantErr: &checks.ParamError{Check: "rds-idle-instance", Param: "maxConnections", Value: math.Inf(1)}, reason: "must be within [0, 1e+06]"},
		{name: "first bad name in sorted order is reported", check: ec2, overrides: map[string]float64{"zzz": 1, "aaa": 2},
			wantErr: &checks.ParamError{Check: "ec2-idle-instance", Param: "aaa", Value: 2}, reason: "unknown parameter (known: lookbackDays, cpuPercent, networkMB)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.check.Resolve(tc.overrides)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("params (-want +got):\n%s", diff)
				}
				return
			}
			var pe *checks.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParamError", err)
			}
			want := *tc.wantErr
			want.Reason = tc.reason
			if diff := cmp.Diff(want, *pe); diff != "" {
				t.Errorf("ParamError (-want +got):\n%s", diff)
			}
			if !strings.Contains(pe.Error(), tc.check.ID) || !strings.Contains(pe.Error(), want.Param) {
				t.Errorf("message %q should name the check and parameter", pe.Error())
			}
			if got != nil {
				t.Errorf("params %v alongside the error", got)
			}
		})
	}
}

func TestResolveDoesNotMutateOverrides(t *testing.T) {
	t.Parallel()
	o := map[string]float64{"cpuPercent": 9}
	p, err := checks.EC2IdleInstance.Resolve(o)
	if err != nil {
		t.Fatal(err)
	}
	p["cpuPercent"] = 1
	if diff := cmp.Diff(map[string]float64{"cpuPercent": 9}, o); diff != "" {
		t.Errorf("overrides changed (-want +got):\n%s", diff)
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		overrides map[string]map[string]float64
		lookback  int
		want      map[string]checks.Params
		wantErr   string // Param of the expected *ParamError
	}{
		{
			name: "defaults",
			want: map[string]checks.Params{
				"ec2-idle-instance":      {"lookbackDays": 14, "cpuPercent": 5, "networkMB": 5},
				"ebs-unattached-volume":  {"minAgeDays": 7},
				"ec2-unassociated-eip":   {},
				"vpc-idle-nat-gateway":   {"lookbackDays": 32},
				"lambda-unused-function": {"lookbackDays": 30},
				"rds-idle-instance":      {"lookbackDays": 14, "maxConnections": 0},
			},
		},
		{
			name:     "a global lookback applies to every check that has one, and only to them",
			lookback: 20,
			want: map[string]checks.Params{
				"ec2-idle-instance":      {"lookbackDays": 20, "cpuPercent": 5, "networkMB": 5},
				"ebs-unattached-volume":  {"minAgeDays": 7},
				"ec2-unassociated-eip":   {},
				"vpc-idle-nat-gateway":   {"lookbackDays": 20},
				"lambda-unused-function": {"lookbackDays": 20},
				"rds-idle-instance":      {"lookbackDays": 20, "maxConnections": 0},
			},
		},
		{
			name: "per-check overrides; the global lookback wins over a per-check one",
			overrides: map[string]map[string]float64{
				"ec2-idle-instance":     {"cpuPercent": 2, "lookbackDays": 3},
				"ebs-unattached-volume": {"minAgeDays": 0},
				"not-selected":          {"whatever": 1},
			},
			lookback: 9,
			want: map[string]checks.Params{
				"ec2-idle-instance":      {"lookbackDays": 9, "cpuPercent": 2, "networkMB": 5},
				"ebs-unattached-volume":  {"minAgeDays": 0},
				"ec2-unassociated-eip":   {},
				"vpc-idle-nat-gateway":   {"lookbackDays": 9},
				"lambda-unused-function": {"lookbackDays": 9},
				"rds-idle-instance":      {"lookbackDays": 9, "maxConnections": 0},
			},
		},
		{
			name:     "a global lookback beyond retention is rejected",
			lookback: 1000,
			wantErr:  "lookbackDays",
		},
		{
			name:      "an out-of-bounds override is rejected",
			overrides: map[string]map[string]float64{"rds-idle-instance": {"maxConnections": -1}},
			wantErr:   "maxConnections",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := checks.Configure(coreChecks(), tc.overrides, tc.lookback)
			if tc.wantErr != "" {
				var pe *checks.ParamError
				if !errors.As(err, &pe) || pe.Param != tc.wantErr {
					t.Fatalf("err = %v, want *ParamError for %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]checks.Params{}
			var order []string
			for _, c := range cfg {
				got[c.Check.ID] = c.Params
				order = append(order, c.Check.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(coreIDs(), order); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
	// The caller's overrides are not modified by the global lookback.
	o := map[string]map[string]float64{"ec2-idle-instance": {"cpuPercent": 2}}
	if _, err := checks.Configure(coreChecks(), o, 9); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]map[string]float64{"ec2-idle-instance": {"cpuPercent": 2}}, o); diff != "" {
		t.Errorf("overrides changed (-want +got):\n%s", diff)
	}
}

func coreIDs() []string {
	var out []string
	for _, c := range coreChecks() {
		out = append(out, c.ID)
	}
	return out
}

func TestEnvLookbackDays(t *testing.T) {
	t.Parallel()
	if got := (checks.Env{Params: checks.Params{checks.LookbackParam: 21}}).LookbackDays(); got != 21 {
		t.Errorf("LookbackDays = %d", got)
	}
	if got := (checks.Env{}).LookbackDays(); got != 0 {
		t.Errorf("LookbackDays without the param = %d, want 0", got)
	}
}

// TestResolveRejectsNaN: NaN compares false with both bounds, so Resolve
// accepts it, and a NaN threshold makes every comparison false: with
// cpuPercent=NaN a 99%-CPU instance is reported idle ("threshold NaN%").
func TestResolveRejectsNaN(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"cpuPercent", "networkMB", checks.LookbackParam} {
		_, err := checks.EC2IdleInstance.Resolve(map[string]float64{name: math.NaN()})
		var pe *checks.ParamError
		if !errors.As(err, &pe) || pe.Param != name {
			t.Errorf("Resolve(%s=NaN) err = %v, want *ParamError", name, err)
		}
	}
}
