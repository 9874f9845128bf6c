package checks

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseStateTransitionTime: EC2's StateTransitionReason is free text;
// parsing never panics and a time it finds is a real UTC instant.
func FuzzParseStateTransitionTime(f *testing.F) {
	for _, s := range []string{"User initiated (2026-10-01 12:00:00 GMT)", "User initiated", "", "Server.SpotInstanceTermination",
		"(2026-02-30 12:00:00 GMT)", "User initiated (2026-10-01 12:00:00)", "(9999-12-31 23:59:59 UTC) (2020-01-01 00:00:00 GMT)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, ok := parseStateTransitionTime(s)
		if ok && (ts.IsZero() || ts.Location() != time.UTC) {
			t.Fatalf("%q gave %v", s, ts)
		}
	})
}

// FuzzELBResourceID: any ARN gives an ID that is a suffix of it (or the
// ARN itself) and never panics.
func FuzzELBResourceID(f *testing.F) {
	for _, s := range []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/73e2d6bc24d8a067", "", "arn:aws", ":::::", "not-an-arn"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		id := elbResourceID(arn)
		if !strings.HasSuffix(arn, id) && !strings.HasSuffix(arn, strings.TrimPrefix(id, "targetgroup/")) {
			t.Fatalf("%q gave %q", arn, id)
		}
	})
}

// FuzzParseLambdaTime never panics and returns UTC-comparable times.
func FuzzParseLambdaTime(f *testing.F) {
	for _, s := range []string{"2026-11-26T13:00:39.038+0000", "2026-11-26T13:00:39.038948000Z", "", "yesterday"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := parseLambdaTime(s)
		// A time is returned exactly when one of the two layouts parses s,
		// and it is that layout's reading of s.
		var want time.Time
		for _, layout := range []string{lambdaTimeLayout, time.RFC3339Nano} {
			if v, err := time.Parse(layout, s); err == nil {
				want = v
				break
			}
		}
		if !got.Equal(want) {
			t.Fatalf("parseLambdaTime(%q) = %v, want %v", s, got, want)
		}
		if got.IsZero() {
			return
		}
		// What Lambda writes (its layout, milliseconds) reads back as the
		// same instant.
		back := parseLambdaTime(got.Format(lambdaTimeLayout))
		if !back.Equal(got.Truncate(time.Millisecond)) && got.Year() >= 0 && got.Year() <= 9999 {
			t.Fatalf("%q: %v formatted as Lambda does reads back as %v", s, got, back)
		}
	})
}
