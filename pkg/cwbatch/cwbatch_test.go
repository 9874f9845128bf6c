package cwbatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

var now = time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)

// fakeCW answers GetMetricData with `days` daily datapoints per query (value =
// query index in the request), at most pageSize datapoints per page, marking a
// query PartialData when its points continue on the next page, as CloudWatch
// does. It counts calls and rejects requests that break API limits.
type fakeCW struct {
	pageSize   int
	days       int
	calls      int
	queries    []int // queries per call
	forceState map[string]cwtypes.StatusCode
	failOn     int // fail the n-th call (1-based); 0 never
}

func (f *fakeCW) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.calls++
	if f.failOn == f.calls {
		return nil, errors.New("boom")
	}
	if n := len(in.MetricDataQueries); n > MaxQueriesPerCall || n == 0 {
		return nil, fmt.Errorf("bad request: %d queries", n)
	}
	if in.StartTime == nil || in.EndTime == nil || !in.StartTime.Before(*in.EndTime) {
		return nil, errors.New("bad window")
	}
	f.queries = append(f.queries, len(in.MetricDataQueries))
	offset := 0
	if in.NextToken != nil {
		offset, _ = strconv.Atoi(*in.NextToken)
	}
	total := len(in.MetricDataQueries) * f.days
	end := min(offset+f.pageSize, total)
	out := &cloudwatch.GetMetricDataOutput{}
	byQuery := map[int]*cwtypes.MetricDataResult{}
	var order []int
	for i := offset; i < end; i++ {
		q, d := i/f.days, i%f.days
		r := byQuery[q]
		if r == nil {
			r = &cwtypes.MetricDataResult{Id: in.MetricDataQueries[q].Id, StatusCode: cwtypes.StatusCodeComplete}
			byQuery[q] = r
			order = append(order, q)
		}
		r.Timestamps = append(r.Timestamps, in.StartTime.Add(time.Duration(d)*Day))
		r.Values = append(r.Values, float64(q))
		if d < f.days-1 && i == end-1 {
			r.StatusCode = cwtypes.StatusCodePartialData
		}
	}
	for _, q := range order {
		r := byQuery[q]
		if s, ok := f.forceState[aws.ToString(r.Id)]; ok {
			r.StatusCode = s
		}
		out.MetricDataResults = append(out.MetricDataResults, *r)
	}
	if end < total {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func queries(n int) []Query {
	qs := make([]Query, n)
	for i := range qs {
		qs[i] = EC2("CPUUtilization", "Average", fmt.Sprintf("i-%05d", i))
	}
	return qs
}

func TestFetchCallsAreCeilNOver500(t *testing.T) {
	t.Parallel()
	w, err := DailyWindow(now, 14)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 500, 501, 1234} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			f := &fakeCW{pageSize: 100800, days: 14}
			res, st, err := Fetch(context.Background(), f, w, queries(n))
			if err != nil {
				t.Fatal(err)
			}
			want := (n + 499) / 500
			if f.calls != want || st.Calls != want || Calls(n) != want {
				t.Fatalf("n=%d: fake saw %d calls, stats %d, Calls() %d; want %d", n, f.calls, st.Calls, Calls(n), want)
			}
			if st.Queries != n || res.Len() != n {
				t.Fatalf("queries=%d results=%d, want %d", st.Queries, res.Len(), n)
			}
			for _, q := range f.queries {
				if q > MaxQueriesPerCall {
					t.Fatalf("call with %d queries", q)
				}
			}
		})
	}
}

func TestFetchMergesDuplicateQueries(t *testing.T) {
	t.Parallel()
	w, _ := DailyWindow(now, 14)
	qs := append(queries(300), queries(300)...)
	// Same dimensions in another order is the same metric.
	qs = append(qs, Query{Namespace: "AWS/X", Metric: "M", Stat: "Sum", Dimensions: []Dimension{{"A", "1"}, {"B", "2"}}},
		Query{Namespace: "AWS/X", Metric: "M", Stat: "Sum", Dimensions: []Dimension{{"B", "2"}, {"A", "1"}}})
	f := &fakeCW{pageSize: 100800, days: 14}
	_, st, err := Fetch(context.Background(), f, w, qs)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queries != 301 || f.calls != 1 {
		t.Fatalf("queries=%d calls=%d, want 301 in 1 call", st.Queries, f.calls)
	}
}

func TestFetchFollowsNextTokenAndJoinsPartialData(t *testing.T) {
	t.Parallel()
	w, _ := DailyWindow(now, 14)
	// 3 queries x 14 days = 42 points, 10 per page: 5 pages, query
	// results split across pages with PartialData in between.
	f := &fakeCW{pageSize: 10, days: 14}
	qs := queries(3)
	res, st, err := Fetch(context.Background(), f, w, qs)
	if err != nil {
		t.Fatal(err)
	}
	if f.calls != 5 || st.Calls != 5 {
		t.Fatalf("calls = %d/%d, want 5 pages", f.calls, st.Calls)
	}
	for i, q := range qs {
		s, ok := res.Get(q)
		if !ok || !s.Complete {
			t.Fatalf("query %d: ok=%v complete=%v status=%s", i, ok, s.Complete, s.Status)
		}
		if len(s.Values) != 14 {
			t.Fatalf("query %d: %d values, want 14", i, len(s.Values))
		}
		for d, ts := range s.Timestamps {
			if want := w.Start.Add(time.Duration(d) * Day); !ts.Equal(want) {
				t.Fatalf("query %d day %d at %s, want %s", i, d, ts, want)
			}
			if s.Values[d] != float64(i) {
				t.Fatalf("query %d got value %v of another query", i, s.Values[d])
			}
		}
	}
	if st.Incomplete != 0 || st.Datapoints != 42 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFetchFinalPartialDataIsIncomplete(t *testing.T) {
	t.Parallel()
	w, _ := DailyWindow(now, 14)
	f := &fakeCW{pageSize: 100800, days: 14, forceState: map[string]cwtypes.StatusCode{"q1": cwtypes.StatusCodePartialData, "q2": cwtypes.StatusCodeForbidden}}
	qs := queries(3)
	res, st, err := Fetch(context.Background(), f, w, qs)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := res.Get(qs[0]); !s.Complete {
		t.Fatal("q0 should be complete")
	}
	for _, q := range qs[1:] {
		if s, ok := res.Get(q); !ok || s.Complete {
			t.Fatalf("%s: ok=%v complete=%v; want fetched but incomplete", q.Key(), ok, s.Complete)
		}
	}
	if st.Incomplete != 2 {
		t.Fatalf("incomplete = %d, want 2", st.Incomplete)
	}
}

func TestFetchErrorKeepsFinishedBatches(t *testing.T) {
	t.Parallel()
	w, _ := DailyWindow(now, 14)
	f := &fakeCW{pageSize: 100800, days: 14, failOn: 2}
	qs := queries(700)
	res, _, err := Fetch(context.Background(), f, w, qs)
	if err == nil {
		t.Fatal("want error")
	}
	if _, ok := res.Get(qs[0]); !ok {
		t.Fatal("first batch should be kept")
	}
	if _, ok := res.Get(qs[600]); ok {
		t.Fatal("failed batch must be absent, not zero")
	}
}

func TestDailyWindowAlignedToUTCDays(t *testing.T) {
	t.Parallel()
	local := now.In(time.FixedZone("UTC+13", 13*3600))
	w, err := DailyWindow(local, 14)
	if err != nil {
		t.Fatal(err)
	}
	wantEnd := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if !w.End.Equal(wantEnd) || !w.Start.Equal(wantEnd.AddDate(0, 0, -14)) || w.Period != Day || w.Days() != 14 {
		t.Fatalf("window %+v", w)
	}
	// Later the same UTC day gives the same window.
	w2, _ := DailyWindow(now.Add(8*time.Hour), 14)
	if !w2.Start.Equal(w.Start) || !w2.End.Equal(w.End) {
		t.Fatalf("same UTC day, different window: %+v vs %+v", w2, w)
	}
}

func TestWindowRetention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		days    int
		wantErr bool
	}{{1, false}, {14, false}, {32, false}, {90, false}, {454, false}, {455, true}, {MaxLookbackDays, false}, {0, true}, {-3, true}, {1000, true}} {
		_, err := DailyWindow(now, tc.days)
		var we *WindowError
		if tc.wantErr != (err != nil) || (err != nil && !errors.As(err, &we)) {
			t.Errorf("days=%d: err=%v, wantErr=%v", tc.days, err, tc.wantErr)
		}
	}
	if p := MinPeriod(now, now.Add(-10*Day)); p != time.Minute {
		t.Errorf("10 days old: %s", p)
	}
	if p := MinPeriod(now, now.Add(-30*Day)); p != 5*time.Minute {
		t.Errorf("30 days old: %s", p)
	}
	if p := MinPeriod(now, now.Add(-100*Day)); p != time.Hour {
		t.Errorf("100 days old: %s", p)
	}
	// A 90-second period is invalid for 30-day-old data.
	w := Window{Start: now.Add(-30 * Day), End: now, Period: 90 * time.Second, now: now}
	if err := w.Validate(); err == nil {
		t.Error("90s period for 30-day-old data should be rejected")
	}
}
