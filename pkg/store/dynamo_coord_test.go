package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

func TestDynamoAdvanceAccount(t *testing.T) {
	t.Parallel()
	for _, noOldItem := range []bool{false, true} {
		t.Run(fmt.Sprintf("noOldItem=%v", noOldItem), func(t *testing.T) {
			t.Parallel()
			fake := newDynFake()
			fake.noOldItem = noOldItem
			s, _ := dynState(fake)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
			const acct = "111111111111"
			// The account's findings are not disturbed by its mark.
			if err := s.PutFindings(ctx, acct, dynFindings(acct, 3)); err != nil {
				t.Fatal(err)
			}
			r2 := RunMark{RunID: "r2", StartedAt: t0.Add(time.Hour)}
			for i, step := range []struct {
				m      RunMark
				ok     bool
				stored RunMark
			}{
				{r2, true, r2},
				{RunMark{RunID: "r1", StartedAt: t0}, false, r2},                                  // earlier
				{RunMark{RunID: "r3", StartedAt: t0.Add(time.Hour - time.Nanosecond)}, false, r2}, // earlier by a nanosecond
				{r2, true, r2}, // the same again
				{RunMark{RunID: "r1", StartedAt: t0.Add(time.Hour)}, false, r2},                              // same time, lower ID
				{RunMark{RunID: "r3", StartedAt: t0.Add(time.Hour)}, true, RunMark{"r3", t0.Add(time.Hour)}}, // same time, higher ID
				{RunMark{RunID: "r0", StartedAt: t0.Add(2 * time.Hour).In(time.FixedZone("CET", 3600))}, true,
					RunMark{"r0", t0.Add(2 * time.Hour)}}, // later, in another zone
			} {
				ok, cur, err := s.AdvanceAccount(ctx, acct, step.m)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if ok != step.ok || !cur.StartedAt.Equal(step.stored.StartedAt) || cur.RunID != step.stored.RunID {
					t.Errorf("step %d: AdvanceAccount(%s) = %v %s, want %v %s", i, step.m, ok, cur, step.ok, step.stored)
				}
			}
			if want := map[bool]int{false: 0, true: 3}[noOldItem]; fake.calls["GetItem"] != want {
				t.Errorf("%d GetItem calls for 3 refusals, want %d", fake.calls["GetItem"], want)
			}
			got, err := s.AccountFindings(ctx, acct)
			if err != nil || len(got) != 3 {
				t.Errorf("AccountFindings = %d findings (%v), want 3", len(got), err)
			}
			if _, _, err := s.AdvanceAccount(ctx, acct, RunMark{StartedAt: t0}); err == nil {
				t.Error("a mark without a run ID was accepted")
			}
			fake.fail = errors.New("InternalServerError")
			if _, _, err := s.AdvanceAccount(ctx, acct, r2); err == nil || !strings.Contains(err.Error(), "InternalServerError") || !strings.Contains(err.Error(), acct) {
				t.Errorf("error %v", err)
			}
		})
	}
}

// Concurrent advances of one account end with the latest mark, as each is
// one conditional write.
func TestDynamoAdvanceAccountConcurrent(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	s, _ := dynState(fake)
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	marks := make([]RunMark, 8)
	for i := range marks {
		marks[i] = RunMark{RunID: fmt.Sprintf("r%d", i), StartedAt: t0.Add(time.Duration(i%3) * time.Minute)}
	}
	type result struct {
		m, cur RunMark
		ok     bool
		err    error
	}
	results := make(chan result, len(marks))
	var wg sync.WaitGroup
	for _, m := range marks {
		wg.Go(func() {
			ok, cur, err := s.AdvanceAccount(context.Background(), "111111111111", m)
			results <- result{m, cur, ok, err}
		})
	}
	wg.Wait()
	close(results)
	latest := marks[5] // r5 at +2m; r2 is at +2m too, with a lower ID
	for r := range results {
		switch {
		case r.err != nil:
			t.Fatal(r.err)
		case r.m == latest && !r.ok:
			t.Errorf("the latest mark was refused in favour of %s", r.cur)
		case !r.ok && !r.m.Before(r.cur):
			t.Errorf("%s refused for %s, which is not later", r.m, r.cur)
		}
	}
	if got := dynS(fake.items["ACCOUNT#111111111111\x00#RUN"]["mark"]); got != latest.String() {
		t.Errorf("stored mark %s, want %s", got, latest)
	}
}

func TestDynamoLease(t *testing.T) {
	t.Parallel()
	for _, noOldItem := range []bool{false, true} {
		t.Run(fmt.Sprintf("noOldItem=%v", noOldItem), func(t *testing.T) {
			t.Parallel()
			fake := newDynFake()
			fake.noOldItem = noOldItem
			s, _ := dynState(fake)
			ctx := context.Background()
			now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
			until := now.Add(15*time.Minute + 400*time.Microsecond) // stored rounded up to the millisecond
			stored := now.Add(15*time.Minute + time.Millisecond)
			type got struct {
				OK     bool
				Holder string
				Until  time.Time
			}
			acquire := func(holder string, now, until time.Time) got {
				t.Helper()
				ok, h, u, err := s.AcquireLease(ctx, holder, now, until)
				if err != nil {
					t.Fatal(err)
				}
				return got{ok, h, u}
			}
			for i, step := range []struct {
				name string
				do   func() got
				want got
			}{
				{"free", func() got { return acquire("a", now, until) }, got{OK: true}},
				{"held by another", func() got { return acquire("b", now.Add(time.Minute), now.Add(time.Hour)) }, got{false, "a", stored}},
				{"renewed by its holder", func() got { return acquire("a", now.Add(time.Minute), until) }, got{OK: true}},
				{"a millisecond before expiry", func() got { return acquire("b", stored.Add(-time.Millisecond), now.Add(time.Hour)) }, got{false, "a", stored}},
				{"release by another", func() got {
					if err := s.ReleaseLease(ctx, "b"); err != nil {
						t.Fatal(err)
					}
					return acquire("b", now, now.Add(time.Hour))
				}, got{false, "a", stored}},
				{"taken at expiry", func() got { return acquire("b", stored, stored.Add(time.Hour)) }, got{OK: true}},
				{"released by its holder", func() got {
					if err := s.ReleaseLease(ctx, "b"); err != nil {
						t.Fatal(err)
					}
					if err := s.ReleaseLease(ctx, "b"); err != nil { // nothing to release
						t.Fatal(err)
					}
					return acquire("c", now, until)
				}, got{OK: true}},
			} {
				if d := cmp.Diff(step.want, step.do()); d != "" {
					t.Errorf("step %d, %s (-want +got):\n%s", i, step.name, d)
				}
			}
			item := fake.items["LEASE\x00aggregation"]
			if dynS(item["holder"]) != "c" || item["until"].(*ddbtypes.AttributeValueMemberN).Value != fmt.Sprint(stored.UnixMilli()) {
				t.Errorf("lease item %v", item)
			}
			if _, _, _, err := s.AcquireLease(ctx, "", now, until); err == nil {
				t.Error("an empty holder was accepted")
			}
			fake.fail = errors.New("InternalServerError")
			if _, _, _, err := s.AcquireLease(ctx, "c", now, until); err == nil || !strings.Contains(err.Error(), "InternalServerError") {
				t.Errorf("acquire error %v", err)
			}
			if err := s.ReleaseLease(ctx, "c"); err == nil || !strings.Contains(err.Error(), "InternalServerError") {
				t.Errorf("release error %v", err)
			}
		})
	}
}

// The lease and the marks are written with the conditions, names and
// ALL_OLD the integration tests prove against moto.
func TestDynamoConditionalWrites(t *testing.T) {
	t.Parallel()
	var puts []string
	c := &dynRecorder{dynFake: newDynFake(), puts: &puts}
	s, _ := dynState(c)
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	if _, _, err := s.AdvanceAccount(ctx, "111111111111", RunMark{RunID: "r1", StartedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.AcquireLease(ctx, "a", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ACCOUNT#111111111111 #RUN (attribute_not_exists (mark)) OR (mark <= 2026-11-26T06:00:00.000000000Z#r1) ALL_OLD",
		"LEASE aggregation (attribute_not_exists (PK)) OR (holder = a) OR (until <= 1795672800000) ALL_OLD",
	}
	if d := cmp.Diff(want, puts); d != "" {
		t.Errorf("PutItem calls (-want +got):\n%s", d)
	}
}

// dynRecorder records each PutItem as "PK SK condition ReturnValues…",
// with names and values substituted.
type dynRecorder struct {
	*dynFake
	puts *[]string
}

func (r *dynRecorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	cond := aws.ToString(in.ConditionExpression)
	for k, v := range in.ExpressionAttributeNames {
		cond = strings.ReplaceAll(cond, k, v)
	}
	for k, v := range in.ExpressionAttributeValues {
		switch v := v.(type) {
		case *ddbtypes.AttributeValueMemberS:
			cond = strings.ReplaceAll(cond, k, v.Value)
		case *ddbtypes.AttributeValueMemberN:
			cond = strings.ReplaceAll(cond, k, v.Value)
		}
	}
	*r.puts = append(*r.puts, strings.Join([]string{dynS(in.Item[DynamoPK]), dynS(in.Item[DynamoSK]), cond, string(in.ReturnValuesOnConditionCheckFailure)}, " "))
	return r.dynFake.PutItem(ctx, in, opts...)
}
