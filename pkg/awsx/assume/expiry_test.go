package assume_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/awsx/assume"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// scanPair gets the pair's clients and reads every page of DescribeVolumes
// with them, as a check's inventory does. It returns the pages read.
func scanPair(ctx context.Context, f *assume.Factory, it pipeline.WorkItem) (int, error) {
	c, err := f.Clients(ctx, it)
	if err != nil {
		return 0, err
	}
	n := 0
	for p := ec2.NewDescribeVolumesPaginator(c.EC2, &ec2.DescribeVolumesInput{}); p.HasMorePages(); n++ {
		if _, err := p.NextPage(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

type pairResult struct {
	pages int
	err   error
}

// scanConcurrently scans all items at once.
func scanConcurrently(f *assume.Factory, items []pipeline.WorkItem) []pairResult {
	out := make([]pairResult, len(items))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			<-start
			out[i].pages, out[i].err = scanPair(context.Background(), f, it)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func itemsOf(accounts, regions []string) []pipeline.WorkItem {
	var out []pipeline.WorkItem
	for _, a := range accounts {
		for _, r := range regions {
			out = append(out, item(a, r))
		}
	}
	return out
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// served and refused are the requests each of the role's sessions
// served and refused, in the order the sessions were issued.
func served(f *fakeAWS, role string) (served, refused []int) {
	for _, s := range f.sessionsOf(role) {
		served = append(served, s.Served)
		refused = append(refused, s.Refused)
	}
	return served, refused
}

func checkNoUnknownCredentials(t *testing.T, f *fakeAWS) {
	t.Helper()
	if u := f.unknownCredentials(); len(u) > 0 {
		t.Errorf("%d requests signed with credentials STS never issued, first: %s", len(u), u[0])
	}
}

func TestAssumedCredentialsEveryRequestReadsTheCache(t *testing.T) {
	t.Parallel()
	const pages = 5
	tests := []struct {
		name string
		ttl  time.Duration
		// wantServed is the requests each session signed, in order.
		wantServed []int
	}{
		// Credentials with 4 minutes left are inside the refresh window the
		// moment they arrive: the cache assumes the role at every Retrieve, so
		// every page must carry the session issued just before it.
		{"renewed before every request", 4 * time.Minute, []int{0, 1, 1, 1, 1, 1}},
		{"valid credentials are reused", time.Hour, []int{pages}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeAWS(t, &fakeAWS{ttl: tt.ttl, pages: pages})
			f := &assume.Factory{Base: fake.config()}
			arn := roleARN("111111111111")
			n, err := scanPair(context.Background(), f, item("111111111111", "eu-west-1"))
			if err != nil || n != pages {
				t.Fatalf("scan: %d pages, %v; want %d pages", n, err, pages)
			}
			gotServed, _ := served(fake, arn)
			if diff := cmp.Diff(tt.wantServed, gotServed); diff != "" {
				t.Errorf("requests served per session (-want +got):\n%s", diff)
			}
			if got := fake.assumeCalls()[arn]; got != len(tt.wantServed) {
				t.Errorf("AssumeRole calls = %d, want %d", got, len(tt.wantServed))
			}
			checkNoUnknownCredentials(t, fake)
		})
	}
}

func TestAssumedCredentialsExpireMidRun(t *testing.T) {
	t.Parallel()
	const (
		pages    = 6
		expiring = "111111111111"
		steady   = "222222222222"
		// The first session is refused as expired after this many
		// requests, with some pairs half-way and others not started.
		firstServes = 40
	)
	regions := seventeenRegions
	fake := newFakeAWS(t, &fakeAWS{pages: pages, fail: func(s session) string {
		if s.Role == roleARN(expiring) && s.N == 1 && s.Served >= firstServes {
			return "ExpiredToken"
		}
		return ""
	}})
	f := &assume.Factory{Base: fake.config()}
	items := itemsOf([]string{expiring, steady}, regions)
	for i, res := range scanConcurrently(f, items) {
		if res.err != nil || res.pages != pages {
			t.Errorf("pair %s/%s: %d pages, %v; want %d pages and no error", items[i].AccountID, items[i].Region, res.pages, res.err, pages)
		}
	}

	// One expiry, one AssumeRole, however many pairs met it; the other
	// account keeps its session.
	want := map[string]int{roleARN(expiring): 2, roleARN(steady): 1}
	if diff := cmp.Diff(want, fake.assumeCalls()); diff != "" {
		t.Errorf("AssumeRole calls per role (-want +got):\n%s", diff)
	}
	total := pages * len(regions)
	gotServed, gotRefused := served(fake, roleARN(expiring))
	if diff := cmp.Diff([]int{firstServes, total - firstServes}, gotServed); diff != "" {
		t.Errorf("%s: requests served per session (-want +got):\n%s", expiring, diff)
	}
	// A pair meets the expiry at most once: its request made again, and
	// all that follow, carry the second session.
	if len(gotRefused) != 2 || gotRefused[0] < 1 || gotRefused[0] > len(regions) || gotRefused[1] != 0 {
		t.Errorf("%s: requests refused per session = %v, want [1..%d 0]", expiring, gotRefused, len(regions))
	}
	gotServed, gotRefused = served(fake, roleARN(steady))
	if diff := cmp.Diff([]int{total}, gotServed); diff != "" {
		t.Errorf("%s: requests served per session (-want +got):\n%s", steady, diff)
	}
	if diff := cmp.Diff([]int{0}, gotRefused); diff != "" {
		t.Errorf("%s: requests refused per session (-want +got):\n%s", steady, diff)
	}
	checkNoUnknownCredentials(t, fake)
}

func TestAssumedCredentialsExpireAndRoleIsRefused(t *testing.T) {
	t.Parallel()
	const (
		pages   = 4
		refused = "111111111111"
		steady  = "222222222222"
	)
	regions := seventeenRegions[:8]
	fake := newFakeAWS(t, &fakeAWS{
		pages: pages,
		// Fewer requests than one pair needs: every pair of the account
		// meets the expiry.
		fail: func(s session) string {
			if s.Role == roleARN(refused) && s.Served >= pages-1 {
				return "ExpiredToken"
			}
			return ""
		},
		refuse: func(role string, n int) string {
			if role == roleARN(refused) && n > 1 {
				return "AccessDenied"
			}
			return ""
		},
	})
	f := &assume.Factory{Base: fake.config()}
	items := itemsOf([]string{refused, steady}, regions)
	for i, res := range scanConcurrently(f, items) {
		it := items[i]
		if it.AccountID == steady {
			if res.err != nil || res.pages != pages {
				t.Errorf("pair %s/%s: %d pages, %v; want %d pages and no error", it.AccountID, it.Region, res.pages, res.err, pages)
			}
			continue
		}
		if code := errorCode(res.err); code != "AccessDenied" {
			t.Errorf("pair %s/%s: error %v (code %q), want AccessDenied", it.AccountID, it.Region, res.err, code)
		} else if !strings.Contains(res.err.Error(), roleARN(refused)) {
			t.Errorf("pair %s/%s: error %q does not name the role", it.AccountID, it.Region, res.err)
		}
	}
	// The refusal is remembered: a pair that starts later is refused
	// without asking STS.
	if _, err := scanPair(context.Background(), f, item(refused, "sa-east-1")); errorCode(err) != "AccessDenied" {
		t.Errorf("a later pair: %v, want AccessDenied", err)
	}
	want := map[string]int{roleARN(refused): 2, roleARN(steady): 1}
	if diff := cmp.Diff(want, fake.assumeCalls()); diff != "" {
		t.Errorf("AssumeRole calls per role (-want +got):\n%s", diff)
	}
	if _, gotRefused := served(fake, roleARN(refused)); len(gotRefused) != 1 || gotRefused[0] < 1 || gotRefused[0] > len(regions) {
		t.Errorf("requests refused as expired = %v, want one session with 1..%d (one per pair at most)", gotRefused, len(regions))
	}
	checkNoUnknownCredentials(t, fake)
}

func TestAssumedCredentialsExpiredAgainAfterRenewal(t *testing.T) {
	t.Parallel()
	const (
		pages   = 4
		account = "111111111111"
	)
	regions := seventeenRegions[:8]
	fake := newFakeAWS(t, &fakeAWS{pages: pages, fail: func(s session) string {
		// The first session expires before any pair is done; every later
		// one is refused as expired from the start.
		if s.N > 1 || s.Served >= pages-1 {
			return "ExpiredToken"
		}
		return ""
	}})
	f := &assume.Factory{Base: fake.config()}
	items := itemsOf([]string{account}, regions)
	for i, res := range scanConcurrently(f, items) {
		if code := errorCode(res.err); code != "ExpiredToken" {
			t.Errorf("pair %s: error %v (code %q), want ExpiredToken", items[i].Region, res.err, code)
		} else if !strings.Contains(res.err.Error(), roleARN(account)) {
			t.Errorf("pair %s: error %q does not name the role", items[i].Region, res.err)
		}
	}
	if got := fake.assumeCalls()[roleARN(account)]; got != 2 {
		t.Errorf("AssumeRole calls = %d, want 2 (the first, and one renewal)", got)
	}
	// Each pair sends at most two refused requests: the one that met the
	// expiry and the same request made again.
	_, gotRefused := served(fake, roleARN(account))
	if len(gotRefused) != 2 || gotRefused[0]+gotRefused[1] > 2*len(regions) {
		t.Errorf("requests refused per session = %v, want 2 sessions and at most %d in all", gotRefused, 2*len(regions))
	}
	// A later pair gets clients, and its first request fails at once: the
	// renewed credentials have never worked, so they are not renewed again.
	if _, err := scanPair(context.Background(), f, item(account, "sa-east-1")); errorCode(err) != "ExpiredToken" {
		t.Errorf("a later pair: %v, want ExpiredToken", err)
	}
	if got := fake.assumeCalls()[roleARN(account)]; got != 2 {
		t.Errorf("AssumeRole calls after a later pair = %d, want still 2", got)
	}
	if _, after := served(fake, roleARN(account)); len(after) != 2 || after[1] != gotRefused[1]+1 {
		t.Errorf("requests refused per session after a later pair = %v, want %v with one more for the second", after, gotRefused)
	}
	checkNoUnknownCredentials(t, fake)
}

func TestAssumedCredentialsRenewedOnExpiryCodesOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		dynamodb bool // call DynamoDB ListTables (JSON), else EC2 DescribeVolumes (query)
		code     string
		once     bool // the first session is refused once, then served
		// wantCode is the call's error code ("": it succeeds).
		wantCode    string
		wantAssumes int
		wantServed  []int
	}{
		{"EC2 ExpiredToken", false, "ExpiredToken", false, "", 2, []int{0, 1}},
		{"EC2 RequestExpired", false, "RequestExpired", false, "", 2, []int{0, 1}},
		{"DynamoDB ExpiredTokenException", true, "ExpiredTokenException", false, "", 2, []int{0, 1}},
		{"EC2 UnauthorizedOperation is not renewed", false, "UnauthorizedOperation", false, "UnauthorizedOperation", 1, []int{0}},
		{"DynamoDB AccessDeniedException is not renewed", true, "AccessDeniedException", false, "AccessDeniedException", 1, []int{0}},
		// Throttling stays with the SDK's retryer, on the same credentials.
		{"EC2 RequestLimitExceeded is retried by the SDK", false, "RequestLimitExceeded", true, "", 1, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeAWS(t, &fakeAWS{fail: func(s session) string {
				if s.N == 1 && (!tt.once || s.Refused == 0) {
					return tt.code
				}
				return ""
			}})
			f := &assume.Factory{Base: fake.config()}
			ctx := context.Background()
			c, err := f.Clients(ctx, item("111111111111", "eu-west-1"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.dynamodb {
				_, err = c.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{})
			} else {
				_, err = c.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
			}
			if got := errorCode(err); got != tt.wantCode || (tt.wantCode == "") != (err == nil) {
				t.Errorf("call: %v (code %q), want code %q", err, got, tt.wantCode)
			}
			arn := roleARN("111111111111")
			if got := fake.assumeCalls()[arn]; got != tt.wantAssumes {
				t.Errorf("AssumeRole calls = %d, want %d", got, tt.wantAssumes)
			}
			gotServed, gotRefused := served(fake, arn)
			if diff := cmp.Diff(tt.wantServed, gotServed); diff != "" {
				t.Errorf("requests served per session (-want +got):\n%s", diff)
			}
			if len(gotRefused) == 0 || gotRefused[0] != 1 {
				t.Errorf("requests refused per session = %v, want 1 for the first", gotRefused)
			}
			checkNoUnknownCredentials(t, fake)
		})
	}
}
