package discovery_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orgscan/orgscan/pkg/awsx/discovery"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// fakeOrg is an OrganizationsAPI over hand-written pages. Pages are keyed
// by parent (empty for ListAccounts); page i is answered to NextToken
// "<parent>#i" (the first page to no token) and carries the next token
// unless it is the last. err, when set, answers the given call.
type fakeOrg struct {
	all      [][]orgtypes.Account
	accounts map[string][][]orgtypes.Account // by parent
	ous      map[string][][]string           // child OU IDs by parent
	err      func(op, parent string, page int) error

	mu    sync.Mutex
	calls []string // "op parent#page"
}

var _ discovery.OrganizationsAPI = (*fakeOrg)(nil)

func pageIndex(parent string, token *string) int {
	if token == nil {
		return 0
	}
	s := strings.TrimPrefix(aws.ToString(token), parent+"#")
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func nextToken(parent string, i, pages int) *string {
	if i+1 >= pages {
		return nil
	}
	return aws.String(parent + "#" + string(rune('0'+i+1)))
}

func (f *fakeOrg) record(op, parent string, i int) error {
	f.mu.Lock()
	f.calls = append(f.calls, op+" "+parent+"#"+string(rune('0'+i)))
	f.mu.Unlock()
	if f.err != nil {
		return f.err(op, parent, i)
	}
	return nil
}

func (f *fakeOrg) ListAccounts(_ context.Context, in *organizations.ListAccountsInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error) {
	i := pageIndex("", in.NextToken)
	if err := f.record("ListAccounts", "", i); err != nil {
		return nil, err
	}
	out := &organizations.ListAccountsOutput{NextToken: nextToken("", i, len(f.all))}
	if i < len(f.all) {
		out.Accounts = f.all[i]
	}
	return out, nil
}

func (f *fakeOrg) ListAccountsForParent(_ context.Context, in *organizations.ListAccountsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	parent := aws.ToString(in.ParentId)
	i := pageIndex(parent, in.NextToken)
	if err := f.record("ListAccountsForParent", parent, i); err != nil {
		return nil, err
	}
	pages := f.accounts[parent]
	out := &organizations.ListAccountsForParentOutput{NextToken: nextToken(parent, i, len(pages))}
	if i < len(pages) {
		out.Accounts = pages[i]
	}
	return out, nil
}

func (f *fakeOrg) ListOrganizationalUnitsForParent(_ context.Context, in *organizations.ListOrganizationalUnitsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error) {
	parent := aws.ToString(in.ParentId)
	i := pageIndex(parent, in.NextToken)
	if err := f.record("ListOrganizationalUnitsForParent", parent, i); err != nil {
		return nil, err
	}
	pages := f.ous[parent]
	out := &organizations.ListOrganizationalUnitsForParentOutput{NextToken: nextToken(parent, i, len(pages))}
	if i < len(pages) {
		for _, id := range pages[i] {
			out.OrganizationalUnits = append(out.OrganizationalUnits, orgtypes.OrganizationalUnit{Id: aws.String(id), Name: aws.String("name of " + id)})
		}
	}
	return out, nil
}

func (f *fakeOrg) recordedCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func acct(id, name string, state orgtypes.AccountState, status orgtypes.AccountStatus) orgtypes.Account {
	return orgtypes.Account{Id: aws.String(id), Name: aws.String(name), State: state, Status: status}
}

func activeAcct(id string) orgtypes.Account {
	return acct(id, "acct-"+id, orgtypes.AccountStateActive, "")
}

func pacct(id string) pipeline.Account { return pipeline.Account{ID: id, Name: "acct-" + id} }

func TestOrgDiscoveryAccountsAll(t *testing.T) {
	t.Parallel()
	org := &fakeOrg{all: [][]orgtypes.Account{
		{
			acct("333333333333", "three", orgtypes.AccountStateActive, ""),
			acct("900000000001", "suspended", orgtypes.AccountStateSuspended, ""),
			acct("111111111111", "one", "", orgtypes.AccountStatusActive),
		},
		{
			acct("900000000002", "old-suspended", "", orgtypes.AccountStatusSuspended),
			// State wins over Status.
			acct("222222222222", "two", orgtypes.AccountStateActive, orgtypes.AccountStatusSuspended),
			acct("900000000003", "closed", orgtypes.AccountStateClosed, orgtypes.AccountStatusActive),
			acct("900000000004", "pending-closure", orgtypes.AccountStatePendingClosure, ""),
		},
		{
			acct("900000000005", "pending-activation", orgtypes.AccountStatePendingActivation, ""),
			acct("900000000006", "neither", "", ""),
			acct("111111111111", "one", orgtypes.AccountStateActive, ""), // duplicate
			acct("000000000009", "", orgtypes.AccountStateActive, ""),    // no name
		},
	}}
	d := &discovery.Organization{Org: org}
	for _, ous := range [][]string{nil, {}} {
		got, err := d.Accounts(context.Background(), ous)
		if err != nil {
			t.Fatal(err)
		}
		want := []pipeline.Account{
			{ID: "000000000009"},
			{ID: "111111111111", Name: "one"},
			{ID: "222222222222", Name: "two"},
			{ID: "333333333333", Name: "three"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Accounts(%#v) (-want +got):\n%s", ous, diff)
		}
	}
	wantCalls := []string{"ListAccounts #0", "ListAccounts #1", "ListAccounts #2"}
	if diff := cmp.Diff(append(wantCalls, wantCalls...), org.recordedCalls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestOrgDiscoveryAccountsEmptyOrganization(t *testing.T) {
	t.Parallel()
	d := &discovery.Organization{Org: &fakeOrg{}}
	got, err := d.Accounts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("Accounts = %v, want none", got)
	}
}

// tree is a 3-level organization:
//
//	r-root: 100000000001, 100000000002(suspended)
//	├── ou-a: 200000000001..3 (2 pages)
//	│   ├── ou-a1: 210000000001
//	│   │   └── ou-a1x: 211000000001, 211000000002 (2 pages)
//	│   └── ou-a2: (no accounts)
//	│       └── ou-a2x: 220000000001, 200000000001 (duplicate of ou-a's)
//	└── ou-b: 300000000001
//	    └── ou-b1: 310000000001
//
// ou-a's children come in two pages (ou-a1 | ou-a2); the root's too.
func tree() *fakeOrg {
	return &fakeOrg{
		accounts: map[string][][]orgtypes.Account{
			"r-root": {{activeAcct("100000000001"), acct("100000000002", "s", orgtypes.AccountStateSuspended, "")}},
			"ou-a": {
				{activeAcct("200000000003"), activeAcct("200000000001")},
				{acct("200000000002", "acct-200000000002", "", orgtypes.AccountStatusActive), acct("290000000000", "closed", orgtypes.AccountStateClosed, "")},
			},
			"ou-a1":  {{activeAcct("210000000001")}},
			"ou-a1x": {{activeAcct("211000000002")}, {activeAcct("211000000001")}},
			"ou-a2x": {{activeAcct("220000000001"), activeAcct("200000000001")}},
			"ou-b":   {{activeAcct("300000000001")}},
			"ou-b1":  {{activeAcct("310000000001")}},
		},
		ous: map[string][][]string{
			"r-root": {{"ou-a"}, {"ou-b"}},
			"ou-a":   {{"ou-a1"}, {"ou-a2"}},
			"ou-a1":  {{"ou-a1x"}},
			"ou-a2":  {{"ou-a2x"}},
			"ou-b":   {{"ou-b1"}},
		},
	}
}

func TestOrgDiscoveryAccountsUnderOUs(t *testing.T) {
	t.Parallel()
	subtreeA := []pipeline.Account{
		pacct("200000000001"), pacct("200000000002"), pacct("200000000003"),
		pacct("210000000001"), pacct("211000000001"), pacct("211000000002"),
		pacct("220000000001"),
	}
	tests := []struct {
		name string
		ous  []string
		want []pipeline.Account
		// wantParents is how often each parent was listed (accounts and
		// OUs, all pages): every parent once.
		wantParents []string
	}{
		{
			name:        "one OU, three levels deep",
			ous:         []string{"ou-a"},
			want:        subtreeA,
			wantParents: []string{"ou-a", "ou-a1", "ou-a1x", "ou-a2", "ou-a2x"},
		},
		{
			name:        "leaf OU",
			ous:         []string{"ou-a1x"},
			want:        []pipeline.Account{pacct("211000000001"), pacct("211000000002")},
			wantParents: []string{"ou-a1x"},
		},
		{
			name:        "nested OUs given too are not walked twice",
			ous:         []string{"ou-a1", "ou-a", "ou-a1x", "ou-a"},
			want:        subtreeA,
			wantParents: []string{"ou-a", "ou-a1", "ou-a1x", "ou-a2", "ou-a2x"},
		},
		{
			name:        "two subtrees",
			ous:         []string{"ou-b", "ou-a1"},
			want:        []pipeline.Account{pacct("210000000001"), pacct("211000000001"), pacct("211000000002"), pacct("300000000001"), pacct("310000000001")},
			wantParents: []string{"ou-a1", "ou-a1x", "ou-b", "ou-b1"},
		},
		{
			name: "root",
			ous:  []string{"r-root"},
			want: append([]pipeline.Account{pacct("100000000001")}, append(slices.Clone(subtreeA),
				pacct("300000000001"), pacct("310000000001"))...),
			wantParents: []string{"ou-a", "ou-a1", "ou-a1x", "ou-a2", "ou-a2x", "ou-b", "ou-b1", "r-root"},
		},
		{
			name:        "unknown OU",
			ous:         []string{"ou-zzzz"},
			want:        nil,
			wantParents: []string{"ou-zzzz"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org := tree()
			d := &discovery.Organization{Org: org}
			got, err := d.Accounts(context.Background(), tt.ous)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Accounts(%v) (-want +got):\n%s", tt.ous, diff)
			}

			// Every page of each parent exactly once, and no ListAccounts.
			org2 := tree()
			var wantCalls []string
			for _, p := range tt.wantParents {
				for i := range max(1, len(org2.accounts[p])) {
					wantCalls = append(wantCalls, "ListAccountsForParent "+p+"#"+string(rune('0'+i)))
				}
				for i := range max(1, len(org2.ous[p])) {
					wantCalls = append(wantCalls, "ListOrganizationalUnitsForParent "+p+"#"+string(rune('0'+i)))
				}
			}
			gotCalls := org.recordedCalls()
			slices.Sort(wantCalls)
			slices.Sort(gotCalls)
			if diff := cmp.Diff(wantCalls, gotCalls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrgDiscoveryAccountsCycleTerminates(t *testing.T) {
	t.Parallel()
	// Organizations has no cycles, but a broken fake or emulator must not
	// make the walk recurse forever.
	org := &fakeOrg{
		accounts: map[string][][]orgtypes.Account{"ou-x": {{activeAcct("100000000001")}}, "ou-y": {{activeAcct("100000000002")}}},
		ous:      map[string][][]string{"ou-x": {{"ou-y"}}, "ou-y": {{"ou-x", "ou-y"}}},
	}
	got, err := (&discovery.Organization{Org: org}).Accounts(context.Background(), []string{"ou-x"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]pipeline.Account{pacct("100000000001"), pacct("100000000002")}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(org.recordedCalls()); n != 4 {
		t.Errorf("%d calls, want 4: %v", n, org.recordedCalls())
	}
}

func TestOrgDiscoveryAccountsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ous      []string
		failOp   string
		failAt   string // parent
		failPage int
		wantMsg  string
	}{
		{"ListAccounts first page", nil, "ListAccounts", "", 0, "organizations:ListAccounts: "},
		{"ListAccounts later page", nil, "ListAccounts", "", 1, "organizations:ListAccounts: "},
		{"ListAccountsForParent", []string{"ou-a"}, "ListAccountsForParent", "ou-a", 1, "organizations:ListAccountsForParent ou-a: "},
		{"ListAccountsForParent nested", []string{"ou-a"}, "ListAccountsForParent", "ou-a1x", 0, "organizations:ListAccountsForParent ou-a1x: "},
		{"ListOrganizationalUnitsForParent", []string{"r-root"}, "ListOrganizationalUnitsForParent", "r-root", 1, "organizations:ListOrganizationalUnitsForParent r-root: "},
		{"ListOrganizationalUnitsForParent nested", []string{"r-root"}, "ListOrganizationalUnitsForParent", "ou-a1", 0, "organizations:ListOrganizationalUnitsForParent ou-a1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org := tree()
			org.all = [][]orgtypes.Account{{activeAcct("100000000001")}, {activeAcct("100000000002")}}
			cause := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not the management account"}
			org.err = func(op, parent string, page int) error {
				if op == tt.failOp && parent == tt.failAt && page == tt.failPage {
					return cause
				}
				return nil
			}
			got, err := (&discovery.Organization{Org: org}).Accounts(context.Background(), tt.ous)
			if err == nil {
				t.Fatalf("no error; accounts %v", got)
			}
			if got != nil {
				t.Errorf("accounts returned with the error: %v", got)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not start with %q", err, tt.wantMsg)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
				t.Errorf("errors.As(%v, smithy.APIError) = %v, want code AccessDeniedException", err, api)
			}
			if !errors.Is(err, cause) {
				t.Errorf("error %v does not wrap the API error", err)
			}
		})
	}
}

// fakeRegions is a RegionsAPI that ignores the filter (like an emulator).
type fakeRegions struct {
	regions []ec2types.Region
	err     error

	mu     sync.Mutex
	inputs []*ec2.DescribeRegionsInput
}

func (f *fakeRegions) DescribeRegions(_ context.Context, in *ec2.DescribeRegionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return &ec2.DescribeRegionsOutput{Regions: f.regions}, nil
}

func region(name, optIn string) ec2types.Region {
	r := ec2types.Region{RegionName: aws.String(name), Endpoint: aws.String("ec2." + name + ".amazonaws.com")}
	if optIn != "" {
		r.OptInStatus = aws.String(optIn)
	}
	return r
}

func allRegions() *fakeRegions {
	return &fakeRegions{regions: []ec2types.Region{
		region("us-west-2", "opt-in-not-required"),
		region("me-south-1", "not-opted-in"),
		region("af-south-1", "opted-in"),
		region("eu-west-1", "opt-in-not-required"),
		region("ap-east-1", "not-opted-in"),
		region("us-east-1", "opt-in-not-required"),
		region("il-central-1", "opted-in"),
	}}
}

var wantEnabled = []string{"af-south-1", "eu-west-1", "il-central-1", "us-east-1", "us-west-2"}

func checkRegionsFilter(t *testing.T, f *fakeRegions) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.inputs) != 1 {
		t.Fatalf("DescribeRegions called %d times, want 1", len(f.inputs))
	}
	want := []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"opt-in-not-required", "opted-in"}}}
	opts := cmp.Options{
		cmpopts.IgnoreUnexported(ec2types.Filter{}),
		cmpopts.SortSlices(func(a, b string) bool { return a < b }),
	}
	if diff := cmp.Diff(want, f.inputs[0].Filters, opts); diff != "" {
		t.Errorf("DescribeRegions filters (-want +got):\n%s", diff)
	}
	if aws.ToBool(f.inputs[0].AllRegions) {
		t.Errorf("DescribeRegions AllRegions = true")
	}
}

func TestEnabledRegions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		regions func() *fakeRegions
		want    []string
	}{
		{"filter ignored by the endpoint", allRegions, wantEnabled},
		{"filter honoured by the endpoint", func() *fakeRegions {
			f := allRegions()
			f.regions = slices.DeleteFunc(f.regions, func(r ec2types.Region) bool { return aws.ToString(r.OptInStatus) == "not-opted-in" })
			return f
		}, wantEnabled},
		{"only not-opted-in", func() *fakeRegions {
			return &fakeRegions{regions: []ec2types.Region{region("me-south-1", "not-opted-in")}}
		}, nil},
		// Emulators may leave OptInStatus out: such regions are kept.
		{"no opt-in status", func() *fakeRegions {
			return &fakeRegions{regions: []ec2types.Region{region("us-east-2", ""), region("ca-central-1", "")}}
		}, []string{"ca-central-1", "us-east-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.regions()
			got, err := discovery.EnabledRegions(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("EnabledRegions (-want +got):\n%s", diff)
			}
			checkRegionsFilter(t, f)
		})
	}
}

func TestDiscoveryRegions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    func(*fakeRegions) pipeline.Discovery
	}{
		{"Organization", func(f *fakeRegions) pipeline.Discovery { return &discovery.Organization{Org: &fakeOrg{}, EC2: f} }},
		{"AccountList", func(f *fakeRegions) pipeline.Discovery { return &discovery.AccountList{EC2: f} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := allRegions()
			got, err := tt.d(f).Regions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantEnabled, got); diff != "" {
				t.Errorf("Regions (-want +got):\n%s", diff)
			}
			checkRegionsFilter(t, f)
		})
		t.Run(tt.name+" error", func(t *testing.T) {
			t.Parallel()
			cause := &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "no"}
			got, err := tt.d(&fakeRegions{err: cause}).Regions(context.Background())
			if err == nil {
				t.Fatalf("no error; regions %v", got)
			}
			if !strings.HasPrefix(err.Error(), "ec2:DescribeRegions: ") {
				t.Errorf("error %q does not name the operation", err)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "UnauthorizedOperation" {
				t.Errorf("error %v: API error code lost", err)
			}
		})
	}
}

func TestAccountListAccounts(t *testing.T) {
	t.Parallel()
	list := []pipeline.Account{
		{ID: "333333333333", Name: "three"},
		{ID: "111111111111"},
		{ID: "222222222222", Name: "two"},
		{ID: "111111111111"},
	}
	orig := slices.Clone(list)
	d := &discovery.AccountList{List: list}

	t.Run("no OUs", func(t *testing.T) {
		t.Parallel()
		for _, ous := range [][]string{nil, {}} {
			got, err := d.Accounts(context.Background(), ous)
			if err != nil {
				t.Fatal(err)
			}
			want := []pipeline.Account{{ID: "111111111111"}, {ID: "222222222222", Name: "two"}, {ID: "333333333333", Name: "three"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Accounts(%#v) (-want +got):\n%s", ous, diff)
			}
		}
	})
	t.Run("list is not modified", func(t *testing.T) {
		t.Parallel()
		if _, err := d.Accounts(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(orig, d.List); diff != "" {
			t.Errorf("AccountList.List changed (-before +after):\n%s", diff)
		}
	})
	t.Run("OUs are refused", func(t *testing.T) {
		t.Parallel()
		got, err := d.Accounts(context.Background(), []string{"ou-abcd-12345678", "r-abcd"})
		if got != nil {
			t.Errorf("accounts returned with the error: %v", got)
		}
		var ir *pipeline.InvalidRequestError
		if !errors.As(err, &ir) {
			t.Fatalf("error %v (%T) is not a *pipeline.InvalidRequestError", err, err)
		}
		if ir.Field != "organizationalUnits" || ir.Value != "ou-abcd-12345678" || ir.Reason == "" {
			t.Errorf("InvalidRequestError = %+v, want Field organizationalUnits, Value ou-abcd-12345678 and a reason", *ir)
		}
	})
	t.Run("empty list", func(t *testing.T) {
		t.Parallel()
		got, err := (&discovery.AccountList{}).Accounts(context.Background(), nil)
		if err != nil || len(got) != 0 {
			t.Errorf("Accounts = %v, %v; want none, nil", got, err)
		}
	})
}

type fakeCaller struct {
	out *sts.GetCallerIdentityOutput
	err error
}

func (f fakeCaller) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return f.out, f.err
}

func TestCallerAccount(t *testing.T) {
	t.Parallel()
	t.Run("account", func(t *testing.T) {
		t.Parallel()
		got, err := discovery.CallerAccount(context.Background(), fakeCaller{out: &sts.GetCallerIdentityOutput{
			Account: aws.String("123456789012"),
			Arn:     aws.String("arn:aws:iam::123456789012:user/alice"),
			UserId:  aws.String("AIDA"),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pipeline.Account{ID: "123456789012"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("error", func(t *testing.T) {
		t.Parallel()
		cause := &smithy.GenericAPIError{Code: "ExpiredToken", Message: "expired"}
		got, err := discovery.CallerAccount(context.Background(), fakeCaller{err: cause})
		if got != (pipeline.Account{}) {
			t.Errorf("account returned with the error: %+v", got)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "sts:GetCallerIdentity: ") || !errors.Is(err, cause) {
			t.Errorf("err = %v, want sts:GetCallerIdentity wrapping the API error", err)
		}
	})
}

// An organizational unit the organization does not have is the request's
// fault: a typed error naming it, which the state machine does not retry.
func TestOrgDiscoveryUnknownOU(t *testing.T) {
	t.Parallel()
	org := tree()
	org.err = func(op, parent string, page int) error {
		if parent == "ou-zzzz-zzzzzzzz" {
			return &orgtypes.ParentNotFoundException{Message: aws.String("We can't find a root or OU with the ParentId that you specified.")}
		}
		return nil
	}
	_, err := (&discovery.Organization{Org: org}).Accounts(context.Background(), []string{"ou-a", "ou-zzzz-zzzzzzzz"})
	var ir *pipeline.InvalidRequestError
	if !errors.As(err, &ir) || ir.Field != "organizationalUnits" || ir.Value != "ou-zzzz-zzzzzzzz" {
		t.Fatalf("err = %v, want InvalidRequestError naming ou-zzzz-zzzzzzzz", err)
	}
}
