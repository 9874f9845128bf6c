package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/pkg/finding"
)

// dynFake is an in-memory table that understands the key conditions
// DynamoState builds (PK = v, optionally AND begins_with(SK, p)), pages
// query results pageSize at a time, and can hold back items of a
// BatchWriteItem as unprocessed. It evaluates the condition expressions of
// PutItem and DeleteItem that are ORs of attribute_not_exists and
// comparisons (dynCondition); moto proves the real ones
// (integration/state_test.go).
type dynFake struct {
	mu       sync.Mutex
	items    map[string]map[string]ddbtypes.AttributeValue // PK + "\x00" + SK
	pageSize int
	// unprocessed returns the requests of the nth BatchWriteItem call
	// (from 1) that the table does not apply.
	unprocessed func(call int, reqs []ddbtypes.WriteRequest) []ddbtypes.WriteRequest
	batches     [][]ddbtypes.WriteRequest // requests of each call
	applied     map[string]int            // SK → puts applied
	calls       map[string]int            // operation → calls
	// noOldItem leaves the item out of a ConditionalCheckFailedException,
	// as an emulator without ReturnValuesOnConditionCheckFailure would.
	noOldItem bool
	// fail, when set, is returned by PutItem and DeleteItem.
	fail error
}

var _ DynamoAPI = (*dynFake)(nil)

func newDynFake() *dynFake {
	return &dynFake{items: map[string]map[string]ddbtypes.AttributeValue{}, applied: map[string]int{}, calls: map[string]int{}, pageSize: 2}
}

func dynS(av ddbtypes.AttributeValue) string {
	if s, ok := av.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func (f *dynFake) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(in.RequestItems) != 1 {
		return nil, fmt.Errorf("want one table, got %d", len(in.RequestItems))
	}
	var table string
	var reqs []ddbtypes.WriteRequest
	for table, reqs = range in.RequestItems {
	}
	if len(reqs) > DynamoBatchSize {
		return nil, fmt.Errorf("ValidationException: %d requests", len(reqs))
	}
	f.batches = append(f.batches, reqs)
	f.calls["BatchWriteItem"]++
	var left []ddbtypes.WriteRequest
	if f.unprocessed != nil {
		left = f.unprocessed(len(f.batches), reqs)
	}
	held := map[string]bool{}
	for _, r := range left {
		held[dynReqKey(r)] = true
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		key := dynReqKey(r)
		if seen[key] {
			return nil, errors.New("ValidationException: Provided list of item keys contains duplicates")
		}
		seen[key] = true
		if held[key] {
			continue
		}
		if r.PutRequest != nil {
			f.items[key] = r.PutRequest.Item
			f.applied[dynS(r.PutRequest.Item[DynamoSK])]++
		} else {
			delete(f.items, key)
		}
	}
	out := &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]ddbtypes.WriteRequest{}}
	if len(left) > 0 {
		out.UnprocessedItems[table] = left
	}
	return out, nil
}

func (f *dynFake) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["GetItem"]++
	return &dynamodb.GetItemOutput{Item: f.items[dynS(in.Key[DynamoPK])+"\x00"+dynS(in.Key[DynamoSK])]}, nil
}

func (f *dynFake) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["PutItem"]++
	key := dynS(in.Item[DynamoPK]) + "\x00" + dynS(in.Item[DynamoSK])
	if err := f.check(key, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	f.items[key] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (f *dynFake) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["DeleteItem"]++
	key := dynS(in.Key[DynamoPK]) + "\x00" + dynS(in.Key[DynamoSK])
	if err := f.check(key, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	delete(f.items, key)
	return &dynamodb.DeleteItemOutput{}, nil
}

// check evaluates a write's condition on the item at key; f.mu is held.
func (f *dynFake) check(key string, cond *string, names map[string]string, values map[string]ddbtypes.AttributeValue, rv ddbtypes.ReturnValuesOnConditionCheckFailure) error {
	if f.fail != nil {
		return f.fail
	}
	if cond == nil {
		return nil
	}
	cur := f.items[key]
	ok, err := dynCondition(*cond, names, values, cur)
	if err != nil || ok {
		return err
	}
	e := &ddbtypes.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	if rv == ddbtypes.ReturnValuesOnConditionCheckFailureAllOld && !f.noOldItem {
		e.Item = cur
	}
	return e
}

var (
	dynNotExists = regexp.MustCompile(`^\(?attribute_not_exists \((#\w+)\)\)?$`)
	dynCompare   = regexp.MustCompile(`^\(?(#\w+) (=|<>|<=|<|>=|>) (:\w+)\)?$`)
)

// dynCondition evaluates "t OR t OR …" where each t is
// attribute_not_exists(#n) or #n op :v, as DynamoDB does: strings compare
// by bytes, numbers by value, a missing attribute or a type mismatch is
// false.
func dynCondition(expr string, names map[string]string, values map[string]ddbtypes.AttributeValue, item map[string]ddbtypes.AttributeValue) (bool, error) {
	for _, term := range strings.Split(expr, " OR ") {
		if m := dynNotExists.FindStringSubmatch(term); m != nil {
			if _, has := item[names[m[1]]]; !has {
				return true, nil
			}
			continue
		}
		m := dynCompare.FindStringSubmatch(term)
		if m == nil {
			return false, fmt.Errorf("fake cannot evaluate %q", expr)
		}
		var c int
		switch a := item[names[m[1]]].(type) {
		case *ddbtypes.AttributeValueMemberS:
			b, ok := values[m[3]].(*ddbtypes.AttributeValueMemberS)
			if !ok {
				continue
			}
			c = strings.Compare(a.Value, b.Value)
		case *ddbtypes.AttributeValueMemberN:
			b, ok := values[m[3]].(*ddbtypes.AttributeValueMemberN)
			if !ok {
				continue
			}
			x, err1 := strconv.ParseFloat(a.Value, 64)
			y, err2 := strconv.ParseFloat(b.Value, 64)
			if err := errors.Join(err1, err2); err != nil {
				return false, err
			}
			switch {
			case x < y:
				c = -1
			case x > y:
				c = 1
			}
		default:
			continue
		}
		if map[string]bool{"=": c == 0, "<>": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[m[2]] {
			return true, nil
		}
	}
	return false, nil
}

var (
	dynEq    = regexp.MustCompile(`(#\w+) = (:\w+)`)
	dynBegin = regexp.MustCompile(`begins_with \((#\w+), (:\w+)\)`)
)

func (f *dynFake) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.IndexName != nil {
		return nil, errors.New("the fake has no indexes")
	}
	cond := aws.ToString(in.KeyConditionExpression)
	m := dynEq.FindStringSubmatch(cond)
	if m == nil || in.ExpressionAttributeNames[m[1]] != DynamoPK {
		return nil, fmt.Errorf("fake cannot evaluate %q", cond)
	}
	pk := dynS(in.ExpressionAttributeValues[m[2]])
	prefix := ""
	if b := dynBegin.FindStringSubmatch(cond); b != nil {
		prefix = dynS(in.ExpressionAttributeValues[b[2]])
	}
	var sks []string
	for k := range f.items {
		p, sk, _ := strings.Cut(k, "\x00")
		if p == pk && strings.HasPrefix(sk, prefix) {
			sks = append(sks, sk)
		}
	}
	sort.Strings(sks)
	if in.ScanIndexForward != nil && !*in.ScanIndexForward {
		sort.Sort(sort.Reverse(sort.StringSlice(sks)))
	}
	if in.ExclusiveStartKey != nil {
		start := dynS(in.ExclusiveStartKey[DynamoSK])
		for i, sk := range sks {
			if sk == start {
				sks = sks[i+1:]
				break
			}
		}
	}
	n := f.pageSize
	if in.Limit != nil && int(*in.Limit) < n {
		n = int(*in.Limit)
	}
	out := &dynamodb.QueryOutput{}
	for i, sk := range sks {
		if i == n {
			out.LastEvaluatedKey = dynamoKey(pk, sks[i-1])
			break
		}
		out.Items = append(out.Items, f.items[pk+"\x00"+sk])
	}
	return out, nil
}

// dynReqKey returns "PK\x00SK" of a put or delete request.
func dynReqKey(r ddbtypes.WriteRequest) string {
	item := map[string]ddbtypes.AttributeValue(nil)
	if r.PutRequest != nil {
		item = r.PutRequest.Item
	} else {
		item = r.DeleteRequest.Key
	}
	return dynS(item[DynamoPK]) + "\x00" + dynS(item[DynamoSK])
}

func dynFindings(account string, n int) []finding.Finding {
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	out := make([]finding.Finding, n)
	for i := range out {
		res := fmt.Sprintf("i-%04d", i)
		out[i] = finding.Finding{
			FindingID: finding.ID("ec2-idle-instance", account, "eu-west-1", res), RunID: "r1", CheckID: "ec2-idle-instance",
			Category: finding.Idle, AccountID: account, Region: "eu-west-1", Service: "ec2", ResourceType: "instance",
			ResourceID: res, Reason: "idle", MonthlyCostUSD: finding.Cost(float64(i)), FirstSeen: at, LastSeen: at, Status: finding.Open,
		}
	}
	return out
}

func dynState(c DynamoAPI) (*DynamoState, *[]time.Duration) {
	var slept []time.Duration
	var mu sync.Mutex
	return &DynamoState{
		Client: c, Table: "state",
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			slept = append(slept, d)
			return nil
		},
		Jitter: func(max time.Duration) time.Duration { return max },
		Now:    func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) },
	}, &slept
}

func TestDynamoUnprocessedItemsAreResent(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	// The table holds back every other item on the first call and all but
	// one of those on the second.
	fake.unprocessed = func(call int, reqs []ddbtypes.WriteRequest) []ddbtypes.WriteRequest {
		switch call {
		case 1:
			var left []ddbtypes.WriteRequest
			for i, r := range reqs {
				if i%2 == 0 {
					left = append(left, r)
				}
			}
			return left
		case 2:
			return reqs[1:]
		}
		return nil
	}
	s, slept := dynState(fake)
	items := dynFindings("111111111111", 10)
	if err := s.PutFindings(context.Background(), "111111111111", items); err != nil {
		t.Fatal(err)
	}
	for _, f := range items {
		if n := fake.applied[dynamoFindingPrefix+f.FindingID]; n != 1 {
			t.Errorf("finding %s written %d times, want once", f.ResourceID, n)
		}
	}
	if got := []int{len(fake.batches[0]), len(fake.batches[1]), len(fake.batches[2])}; !cmp.Equal(got, []int{10, 5, 4}) || len(fake.batches) != 3 {
		t.Errorf("calls sent %v requests", got)
	}
	if want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}; !cmp.Equal(*slept, want) {
		t.Errorf("slept %v, want %v", *slept, want)
	}
	if s.ItemsWritten() != 10 {
		t.Errorf("ItemsWritten %d, want 10", s.ItemsWritten())
	}
}

func TestDynamoUnprocessedItemsGiveUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		maxAttempts int
		wantAtt     int
		wantSleep   []time.Duration
	}{
		{"default", 0, DynamoMaxAttempts, []time.Duration{50, 100, 200, 400, 800, 1600, 3200}},
		{"capped", 10, 10, []time.Duration{50, 100, 200, 400, 800, 1600, 3200, 5000, 5000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newDynFake()
			fake.unprocessed = func(_ int, reqs []ddbtypes.WriteRequest) []ddbtypes.WriteRequest { return reqs[len(reqs)-3:] }
			s, slept := dynState(fake)
			s.MaxAttempts = tc.maxAttempts
			err := s.PutFindings(context.Background(), "111111111111", dynFindings("111111111111", 30))
			var ue *UnprocessedItemsError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want *UnprocessedItemsError", err)
			}
			if *ue != (UnprocessedItemsError{Table: "state", Count: 3, Attempts: tc.wantAtt}) {
				t.Errorf("error %+v", *ue)
			}
			if !strings.Contains(err.Error(), "3 items") || !strings.Contains(err.Error(), "state") {
				t.Errorf("message %q lacks the count or table", err)
			}
			// The first batch gave up: the second one was never sent.
			if len(fake.batches) != tc.wantAtt {
				t.Errorf("%d calls, want %d", len(fake.batches), tc.wantAtt)
			}
			for i := range tc.wantSleep {
				tc.wantSleep[i] *= time.Millisecond
			}
			if !cmp.Equal(*slept, tc.wantSleep) {
				t.Errorf("slept %v, want %v", *slept, tc.wantSleep)
			}
			if s.ItemsWritten() != 22 {
				t.Errorf("ItemsWritten %d, want the 22 accepted", s.ItemsWritten())
			}
		})
	}
}

func TestDynamoWritesInBatchesOf25(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	s, slept := dynState(fake)
	items := dynFindings("111111111111", 60)
	items = append(items, items[7]) // the same finding twice: written once
	if err := s.PutFindings(context.Background(), "111111111111", items); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range fake.batches {
		sizes = append(sizes, len(b))
	}
	if !cmp.Equal(sizes, []int{25, 25, 10}) {
		t.Errorf("batch sizes %v", sizes)
	}
	if len(*slept) != 0 || s.ItemsWritten() != 60 || len(fake.items) != 60 {
		t.Errorf("slept %v, written %d, stored %d", *slept, s.ItemsWritten(), len(fake.items))
	}
}

func TestDynamoPutFindingsRejectsBadItems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bad  func(*finding.Finding)
		want string
	}{
		{"other account", func(f *finding.Finding) { f.AccountID = "222222222222" }, "belongs to account 222222222222"},
		{"no ID", func(f *finding.Finding) { f.FindingID = "" }, "without an ID"},
		{"NaN cost", func(f *finding.Finding) { f.MonthlyCostUSD = finding.Cost(math.NaN()) }, "not a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newDynFake()
			s, _ := dynState(fake)
			items := dynFindings("111111111111", 30)
			tc.bad(&items[29])
			err := s.PutFindings(context.Background(), "111111111111", items)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if len(fake.batches) != 0 {
				t.Error("wrote before validating every item")
			}
		})
	}
}

func TestDynamoFindingItem(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 6, 0, 0, 123000000, time.UTC)
	resolved := at.Add(36 * time.Hour)
	base := finding.Finding{
		FindingID: "f1", RunID: "r2", CheckID: "ebs-unattached-volume", Category: finding.Unused, AccountID: "111111111111",
		AccountName: "prod", Region: "eu-west-1", Service: "ec2", ResourceType: "volume", ResourceID: "vol-1",
		ResourceARN: "arn:aws:ec2:eu-west-1:111111111111:volume/vol-1", Reason: "unattached for 40 days",
		Evidence: map[string]float64{"daysUnattached": 40, "sizeGiB": 100.5}, MonthlyCostUSD: finding.Cost(8.04),
		Tags: map[string]string{"team": "data", "empty": ""}, FirstSeen: at, LastSeen: at.Add(time.Hour), Status: finding.Open,
		OpenedRunID: "r1",
	}
	for _, tc := range []struct {
		name     string
		f        func(finding.Finding) finding.Finding
		gsi1PK   string
		gsi1SK   string // "" when absent
		gsi2PK   string
		expireAt string // "" when absent
	}{
		{"open priced", func(f finding.Finding) finding.Finding { return f },
			"CHECK#ebs-unattached-volume#open", "8.04", "ACCOUNT#111111111111#open", ""},
		{"unpriced", func(f finding.Finding) finding.Finding {
			f.MonthlyCostUSD = nil
			f.Evidence, f.Tags = nil, nil
			return f
		},
			"CHECK#ebs-unattached-volume#open", "", "ACCOUNT#111111111111#open", ""},
		{"known zero cost", func(f finding.Finding) finding.Finding { f.MonthlyCostUSD = finding.Cost(0); return f },
			"CHECK#ebs-unattached-volume#open", "0", "ACCOUNT#111111111111#open", ""},
		{"suppressed", func(f finding.Finding) finding.Finding { f.Status = finding.Suppressed; return f },
			"CHECK#ebs-unattached-volume#suppressed", "8.04", "ACCOUNT#111111111111#suppressed", ""},
		{"resolved", func(f finding.Finding) finding.Finding {
			f.Status, f.ResolvedRunID, f.ResolvedAt = finding.Resolved, "r3", &resolved
			return f
		}, "CHECK#ebs-unattached-volume#resolved", "8.04", "ACCOUNT#111111111111#resolved",
			fmt.Sprint(resolved.Add(ResolvedRetention).Unix())},
		{"resolved at unknown time", func(f finding.Finding) finding.Finding { f.Status = finding.Resolved; return f },
			"CHECK#ebs-unattached-volume#resolved", "8.04", "ACCOUNT#111111111111#resolved", ""},
		{"reopened keeps no TTL", func(f finding.Finding) finding.Finding { f.ResolvedAt = &resolved; return f },
			"CHECK#ebs-unattached-volume#open", "8.04", "ACCOUNT#111111111111#open", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := tc.f(base)
			item, err := encodeDynamoFinding(f)
			if err != nil {
				t.Fatal(err)
			}
			num := func(name string) string {
				n, _ := item[name].(*ddbtypes.AttributeValueMemberN)
				if n == nil {
					if _, present := item[name]; present {
						t.Errorf("%s is %T, want a number", name, item[name])
					}
					return ""
				}
				return n.Value
			}
			got := []string{dynS(item[DynamoPK]), dynS(item[DynamoSK]), dynS(item[DynamoGSI1PK]), num(DynamoGSI1SK),
				dynS(item[DynamoGSI2PK]), dynS(item[DynamoGSI2SK]), num(DynamoTTLAttribute)}
			want := []string{"ACCOUNT#111111111111", "FINDING#f1", tc.gsi1PK, tc.gsi1SK, tc.gsi2PK, "eu-west-1#ebs-unattached-volume#vol-1", tc.expireAt}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
			// Attributes are named by the JSON tags, times are RFC 3339.
			if dynS(item["resourceArn"]) != f.ResourceARN || dynS(item["firstSeen"]) != "2026-11-26T06:00:00.123Z" {
				t.Errorf("resourceArn %v firstSeen %v", item["resourceArn"], item["firstSeen"])
			}
			if f.MonthlyCostUSD == nil {
				if _, isNull := item["monthlyCostUsd"].(*ddbtypes.AttributeValueMemberNULL); !isNull {
					t.Errorf("unknown cost stored as %#v", item["monthlyCostUsd"])
				}
			}
			back, err := decodeDynamoFinding(item)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(f, back); d != "" {
				t.Errorf("round trip (-put +got):\n%s", d)
			}
			// The same fields as the JSON schema, plus the keys and TTL.
			var asJSON map[string]any
			b, _ := json.Marshal(f)
			_ = json.Unmarshal(b, &asJSON)
			for k := range item {
				switch k {
				case DynamoPK, DynamoSK, DynamoGSI1PK, DynamoGSI1SK, DynamoGSI2PK, DynamoGSI2SK, DynamoTTLAttribute:
					continue
				}
				if _, ok := asJSON[k]; !ok {
					t.Errorf("attribute %s is not a JSON field", k)
				}
				delete(asJSON, k)
			}
			if len(asJSON) != 0 {
				t.Errorf("JSON fields missing from the item: %v", asJSON)
			}
		})
	}
}

func TestDynamoAccountFindings(t *testing.T) {
	t.Parallel()
	fake := newDynFake() // two items a page: the paginator must follow
	s, _ := dynState(fake)
	ctx := context.Background()
	items := dynFindings("111111111111", 5)
	now := s.Now()
	gone, recent := now.Add(-ResolvedRetention-time.Hour), now.Add(-time.Hour)
	items[1].Status, items[1].ResolvedAt = finding.Resolved, &gone // past retention, TTL not run yet
	items[2].Status, items[2].ResolvedAt = finding.Resolved, &recent
	items[3].MonthlyCostUSD = nil
	if err := s.PutFindings(ctx, "111111111111", items); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFindings(ctx, "222222222222", dynFindings("222222222222", 3)); err != nil {
		t.Fatal(err)
	}
	got, err := s.AccountFindings(ctx, "111111111111")
	if err != nil {
		t.Fatal(err)
	}
	want := append([]finding.Finding{items[0]}, items[2:]...)
	byID := func(fs []finding.Finding) {
		sort.Slice(fs, func(i, j int) bool { return fs[i].FindingID < fs[j].FindingID })
	}
	byID(want)
	byID(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if none, err := s.AccountFindings(ctx, "333333333333"); err != nil || len(none) != 0 {
		t.Errorf("unknown account: %v %v", none, err)
	}
}

func TestDynamoRuns(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	s, _ := dynState(fake)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	errs := json.RawMessage(`[{"check":"*","code":"AccessDenied","message":"no role"}]`)
	recs := []RunRecord{
		{RunID: "r1", StartedAt: t0, Summary: json.RawMessage(`{"pairs": 4, "monthlyCostUsd": 12.5, "big": 12345678901234567890}`)},
		// Zero fraction vs a fraction: a plain RFC3339Nano key would sort
		// these the wrong way round.
		{RunID: "r2", StartedAt: t0.Add(time.Second), Summary: json.RawMessage(`{"pairs":2}`), Problems: []PairRecord{
			{AccountID: "222222222222", Region: "us-east-1", Status: "partial", Errors: errs},
			{AccountID: "111111111111", Region: "eu-west-1", Status: "failed", Errors: errs},
			{AccountID: "111111111111", Region: "us-east-1", Status: "failed"},
		}},
		{RunID: "r3", StartedAt: t0.Add(900 * time.Millisecond).In(time.FixedZone("CET", 3600)), Summary: json.RawMessage(`null`)},
	}
	for _, r := range recs {
		if err := s.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range recs {
		got, ok, err := s.GetRun(ctx, want.RunID)
		if err != nil || !ok {
			t.Fatalf("GetRun %s: %v %v", want.RunID, ok, err)
		}
		if !got.Equal(want) {
			t.Errorf("GetRun %s = %+v, want %+v", want.RunID, got, want)
		}
	}
	if _, ok, err := s.GetRun(ctx, "nope"); ok || err != nil {
		t.Errorf("missing run: %v %v", ok, err)
	}
	// The summary is stored once, verbatim.
	sum := fake.items["RUN#r1\x00#SUMMARY"]
	if _, has := sum["summary"]; has || dynS(sum["summaryJson"]) != string(recs[0].Summary) {
		t.Errorf("summary item %v", sum)
	}

	ids := func(rs []RunRecord) (out []string) {
		for _, r := range rs {
			out = append(out, r.RunID)
		}
		return out
	}
	for _, tc := range []struct {
		limit int
		want  []string
	}{{0, []string{"r2", "r3", "r1"}}, {2, []string{"r2", "r3"}}, {1, []string{"r2"}}, {5, []string{"r2", "r3", "r1"}}} {
		got, err := s.Runs(ctx, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(ids(got), tc.want) {
			t.Errorf("Runs(%d) = %v, want %v", tc.limit, ids(got), tc.want)
		}
	}

	// A new version of r2: started later, one pair fixed, one changed
	// status. Stale pair items and the old index item go.
	r2 := RunRecord{RunID: "r2", StartedAt: t0.Add(-time.Hour), Summary: json.RawMessage(`{"pairs":3}`), Problems: []PairRecord{
		{AccountID: "111111111111", Region: "us-east-1", Status: "partial"},
		{AccountID: "222222222222", Region: "us-east-1", Status: "partial", Errors: errs},
	}}
	if err := s.PutRun(ctx, r2); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.GetRun(ctx, "r2")
	if err != nil || !got.Equal(r2) {
		t.Errorf("GetRun r2 = %+v (%v), want %+v", got, err, r2)
	}
	var keys []string
	for k := range fake.items {
		if strings.HasPrefix(k, "RUN#r2\x00") || strings.HasPrefix(k, "RUNS\x00") {
			keys = append(keys, strings.ReplaceAll(k, "\x00", " "))
		}
	}
	sort.Strings(keys)
	want := []string{
		"RUN#r2 #SUMMARY",
		"RUN#r2 PAIR#partial#111111111111#us-east-1",
		"RUN#r2 PAIR#partial#222222222222#us-east-1",
		"RUNS 2026-11-26T05:00:00.000000000Z#r2",
		"RUNS 2026-11-26T06:00:00.000000000Z#r1",
		"RUNS 2026-11-26T06:00:00.900000000Z#r3",
	}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	all, err := s.Runs(ctx, 0)
	if err != nil || !cmp.Equal(ids(all), []string{"r3", "r1", "r2"}) {
		t.Errorf("Runs after re-put = %v (%v)", ids(all), err)
	}

	if err := s.PutRun(ctx, RunRecord{RunID: "bad", Summary: json.RawMessage(`{"a":1}}`)}); err == nil {
		t.Error("invalid summary JSON accepted")
	}
	dup := RunRecord{RunID: "dup", Problems: []PairRecord{{AccountID: "1", Region: "r", Status: "failed"}, {AccountID: "1", Region: "r", Status: "failed"}}}
	if err := s.PutRun(ctx, dup); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate pair: %v", err)
	}
}

// An index item whose record was never written (PutRun interrupted) or
// that points at an older start time is skipped.
func TestDynamoRunsSkipsStaleIndexItems(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	s, _ := dynState(fake)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	if err := s.PutRun(ctx, RunRecord{RunID: "r1", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, sk := range []string{(RunMark{"ghost", t0.Add(time.Hour)}).String(), (RunMark{"r1", t0.Add(2 * time.Hour)}).String()} {
		fake.items[dynamoRunsPK+"\x00"+sk] = map[string]ddbtypes.AttributeValue{
			DynamoPK: &ddbtypes.AttributeValueMemberS{Value: dynamoRunsPK}, DynamoSK: &ddbtypes.AttributeValueMemberS{Value: sk},
			"runId": &ddbtypes.AttributeValueMemberS{Value: strings.SplitN(sk, "#", 2)[1]},
		}
	}
	got, err := s.Runs(ctx, 1)
	if err != nil || len(got) != 1 || got[0].RunID != "r1" || !got[0].StartedAt.Equal(t0) {
		t.Fatalf("Runs = %+v, %v", got, err)
	}
}

func TestDynamoConcurrentAccounts(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	fake.unprocessed = func(call int, reqs []ddbtypes.WriteRequest) []ddbtypes.WriteRequest {
		if call%3 == 0 {
			return reqs[:1]
		}
		return nil
	}
	s, _ := dynState(fake)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			acct := fmt.Sprintf("%012d", i)
			errs <- s.PutFindings(context.Background(), acct, dynFindings(acct, 40))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.ItemsWritten() != 8*40 || len(fake.items) != 8*40 {
		t.Fatalf("written %d stored %d, want %d", s.ItemsWritten(), len(fake.items), 8*40)
	}
}

func TestDynamoBackoff(t *testing.T) {
	t.Parallel()
	s := &DynamoState{}
	for n := 1; n <= 40; n++ {
		ceil := min(DynamoBackoffBase<<min(n-1, 20), DynamoBackoffCap)
		for range 50 {
			if d := s.backoff(n); d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", n, d, ceil)
			}
		}
	}
	// The default sleep returns when the context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := s.sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("sleep on a cancelled context: %v after %v", err, time.Since(start))
	}
	// A write interrupted between attempts says how much is left.
	fake := newDynFake()
	fake.unprocessed = func(_ int, reqs []ddbtypes.WriteRequest) []ddbtypes.WriteRequest { return reqs }
	s = &DynamoState{Client: fake, Table: "state", Sleep: func(context.Context, time.Duration) error { return context.Canceled }}
	err := s.PutFindings(context.Background(), "111111111111", dynFindings("111111111111", 2))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "2 items unprocessed") {
		t.Fatalf("error %v", err)
	}
}

// A run record is stored once: its summary in summaryJson only, with its
// status and carrying run; an item written before runs had a status reads
// back without one.
func TestDynamoRunRecordStoredOnce(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	s, _ := dynState(fake)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	rec := RunRecord{RunID: "r1", StartedAt: t0, Status: RunSuperseded, CarriedBy: "r2",
		Summary: json.RawMessage(`{"pairs": 4, "big": 12345678901234567890, "nested": {"a": [1, 2]}}`)}
	if err := s.PutRun(ctx, rec); err != nil {
		t.Fatal(err)
	}
	item := fake.items["RUN#r1\x00#SUMMARY"]
	var names []string
	for k := range item {
		names = append(names, k)
	}
	sort.Strings(names)
	if want := []string{"PK", "SK", "carriedBy", "problems", "runId", "startedAt", "status", "summaryJson"}; !cmp.Equal(names, want) {
		t.Errorf("summary item attributes %v, want %v", names, want)
	}
	if dynS(item["summaryJson"]) != string(rec.Summary) || dynS(item["status"]) != "superseded" || dynS(item["carriedBy"]) != "r2" {
		t.Errorf("summary item %v", item)
	}
	got, ok, err := s.GetRun(ctx, "r1")
	if err != nil || !ok || !got.Equal(rec) {
		t.Errorf("GetRun = %+v %v %v, want %+v", got, ok, err, rec)
	}

	// An item of the earlier layout: a summary map too, no status.
	old := map[string]ddbtypes.AttributeValue{
		DynamoPK: &ddbtypes.AttributeValueMemberS{Value: "RUN#r0"}, DynamoSK: &ddbtypes.AttributeValueMemberS{Value: "#SUMMARY"},
		"runId": &ddbtypes.AttributeValueMemberS{Value: "r0"}, "startedAt": &ddbtypes.AttributeValueMemberS{Value: "2026-11-25T06:00:00Z"},
		"summary":     &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"pairs": &ddbtypes.AttributeValueMemberN{Value: "1"}}},
		"summaryJson": &ddbtypes.AttributeValueMemberS{Value: `{"pairs":1}`}, "problems": &ddbtypes.AttributeValueMemberN{Value: "0"},
	}
	fake.items["RUN#r0\x00#SUMMARY"] = old
	got, ok, err = s.GetRun(ctx, "r0")
	want := RunRecord{RunID: "r0", StartedAt: t0.Add(-24 * time.Hour), Summary: json.RawMessage(`{"pairs":1}`)}
	if err != nil || !ok || !got.Equal(want) || got.Status != "" {
		t.Errorf("GetRun of an old item = %+v %v %v, want %+v", got, ok, err, want)
	}
}

// dynKeys lists the keys of the fake's items under the given partitions,
// as "PK SK", sorted.
func dynKeys(f *dynFake, pks ...string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.items {
		pk, sk, _ := strings.Cut(k, "\x00")
		if slices.Contains(pks, pk) {
			out = append(out, pk+" "+sk)
		}
	}
	sort.Strings(out)
	return out
}

func TestDynamoUnfinishedRuns(t *testing.T) {
	t.Parallel()
	fake := newDynFake() // two items a page
	s, _ := dynState(fake)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	put := func(rec RunRecord) {
		t.Helper()
		if err := s.PutRun(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	unfinished := func() []string {
		t.Helper()
		rs, err := s.UnfinishedRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			if r.Status != RunAggregating {
				t.Errorf("UnfinishedRuns returned %s in status %q", r.RunID, r.Status)
			}
			out = append(out, r.RunID)
		}
		return out
	}
	mark := func(id string, at time.Time) string {
		return "UNFINISHED " + (RunMark{RunID: id, StartedAt: at}).String()
	}

	put(RunRecord{RunID: "r2", StartedAt: t0.Add(time.Hour), Status: RunAggregating})
	put(RunRecord{RunID: "r1", StartedAt: t0, Status: RunAggregating})
	put(RunRecord{RunID: "r3", StartedAt: t0.Add(time.Hour), Status: RunAggregating}) // same time as r2, later ID
	put(RunRecord{RunID: "r4", StartedAt: t0.Add(2 * time.Hour), Status: RunComplete})
	if d := cmp.Diff([]string{mark("r1", t0), mark("r2", t0.Add(time.Hour)), mark("r3", t0.Add(time.Hour))}, dynKeys(fake, "UNFINISHED")); d != "" {
		t.Errorf("index items (-want +got):\n%s", d)
	}
	if got := unfinished(); !cmp.Equal(got, []string{"r1", "r2", "r3"}) {
		t.Errorf("UnfinishedRuns = %v, want oldest first", got)
	}

	// r2 completes, r3 is superseded: their index items go.
	put(RunRecord{RunID: "r2", StartedAt: t0.Add(time.Hour), Status: RunComplete})
	put(RunRecord{RunID: "r3", StartedAt: t0.Add(time.Hour), Status: RunSuperseded, CarriedBy: "r4"})
	if got := unfinished(); !cmp.Equal(got, []string{"r1"}) {
		t.Errorf("UnfinishedRuns = %v, want [r1]", got)
	}
	// r1 is re-run later: its index item moves, then goes.
	put(RunRecord{RunID: "r1", StartedAt: t0.Add(3 * time.Hour), Status: RunAggregating})
	if d := cmp.Diff([]string{mark("r1", t0.Add(3*time.Hour))}, dynKeys(fake, "UNFINISHED")); d != "" {
		t.Errorf("index items after the re-run (-want +got):\n%s", d)
	}
	put(RunRecord{RunID: "r1", StartedAt: t0.Add(4 * time.Hour), Status: RunComplete})
	if got := dynKeys(fake, "UNFINISHED"); len(got) != 0 {
		t.Errorf("index items left: %v", got)
	}
	// The runs index holds each run once, at its current mark.
	if got := dynKeys(fake, "RUNS"); len(got) != 4 || got[3] != "RUNS "+(RunMark{"r1", t0.Add(4 * time.Hour)}).String() {
		t.Errorf("runs index %v", got)
	}

	// Index items that do not match their record are skipped: a record in
	// another status, another start time, no record at all.
	for _, m := range []RunMark{{"r2", t0.Add(time.Hour)}, {"r1", t0}, {"ghost", t0}} {
		fake.items["UNFINISHED\x00"+m.String()] = dynamoIndexItem(dynamoUnfinishedPK, m.String(), m.RunID)
	}
	if got := unfinished(); len(got) != 0 {
		t.Errorf("UnfinishedRuns = %v, want none", got)
	}
}

// A PutRun that completes a run deletes the unfinished-index item only
// after the summary item says so: if it stops before, the run is still
// listed, and repeating it finishes the job.
func TestDynamoUnfinishedIndexOutlivesAnInterruptedPutRun(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	s, _ := dynState(fake)
	s.MaxAttempts = 1
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	agg := RunRecord{RunID: "r1", StartedAt: t0, Status: RunAggregating}
	if err := s.PutRun(ctx, agg); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	holdSummary := true
	fake.unprocessed = func(_ int, reqs []ddbtypes.WriteRequest) []ddbtypes.WriteRequest {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range reqs {
			if holdSummary && r.PutRequest != nil && dynS(r.PutRequest.Item[DynamoSK]) == dynamoRunSummarySK {
				return []ddbtypes.WriteRequest{r}
			}
		}
		return nil
	}
	done := agg
	done.Status = RunComplete
	var ue *UnprocessedItemsError
	if err := s.PutRun(ctx, done); !errors.As(err, &ue) {
		t.Fatalf("PutRun = %v, want the summary unprocessed", err)
	}
	if got, err := s.UnfinishedRuns(ctx); err != nil || len(got) != 1 || got[0].RunID != "r1" {
		t.Fatalf("after the interrupted PutRun: UnfinishedRuns = %+v, %v", got, err)
	}
	mu.Lock()
	holdSummary = false
	mu.Unlock()
	if err := s.PutRun(ctx, done); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UnfinishedRuns(ctx); err != nil || len(got) != 0 {
		t.Fatalf("after the repeated PutRun: UnfinishedRuns = %+v, %v", got, err)
	}
	// The deletes of step 3 come after the summary's batch.
	last := fake.batches[len(fake.batches)-1]
	if len(last) != 1 || last[0].DeleteRequest == nil || dynS(last[0].DeleteRequest.Key[DynamoPK]) != dynamoUnfinishedPK {
		t.Errorf("last batch %v, want the unfinished-index delete", last)
	}
}
