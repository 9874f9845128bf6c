package checks

import (
	"testing"
	"time"
)

func TestParseStateTransitionTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		reason string
		want   time.Time
		ok     bool
	}{
		{name: "user initiated stop", reason: "User initiated (2026-10-01 12:00:00 GMT)", want: at, ok: true},
		{name: "service initiated", reason: "Service initiated (2026-10-01 12:00:00 GMT)", want: at, ok: true},
		{name: "bare timestamp", reason: "2026-10-01 12:00:00 GMT", want: at, ok: true},
		{name: "UTC instead of GMT", reason: "User initiated (2026-10-01 12:00:00 UTC)", want: at, ok: true},
		{name: "ISO 8601 with Z", reason: "User initiated (2026-10-01T12:00:00Z)", want: at, ok: true},
		{name: "surrounding whitespace", reason: "  User initiated (2026-10-01 12:00:00 GMT)\n", want: at, ok: true},
		{name: "end of a leap day", reason: "User initiated (2028-02-29 23:59:59 GMT)", want: time.Date(2028, 2, 29, 23, 59, 59, 0, time.UTC), ok: true},
		{name: "two times: the last is the transition", reason: "User initiated (2026-09-01 08:00:00 GMT) then (2026-10-01 12:00:00 GMT)", want: at, ok: true},
		{name: "empty", reason: ""},
		{name: "no time at all", reason: "User initiated"},
		{name: "spot interruption without time", reason: "Server.SpotInstanceShutdown: Spot instance terminated due to price"},
		{name: "time without a zone is not trusted", reason: "User initiated (2026-10-01 12:00:00)"},
		{name: "other zone", reason: "User initiated (2026-10-01 12:00:00 PST)"},
		{name: "month 13", reason: "User initiated (2026-13-01 12:00:00 GMT)"},
		{name: "30 February", reason: "User initiated (2026-02-30 12:00:00 GMT)"},
		{name: "29 February of a common year", reason: "User initiated (2027-02-29 12:00:00 GMT)"},
		{name: "hour 24", reason: "User initiated (2026-10-01 24:00:00 GMT)"},
		{name: "minute 60", reason: "User initiated (2026-10-01 12:60:00 GMT)"},
		{name: "date only", reason: "User initiated (2026-10-01)"},
		{name: "truncated", reason: "User initiated (2026-10-01 12:00"},
		{name: "slashes", reason: "User initiated (2026/10/01 12:00:00 GMT)"},
		{name: "zone glued to a word", reason: "User initiated (2026-10-01 12:00:00 GMTX)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseStateTransitionTime(tc.reason)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("parseStateTransitionTime(%q) = %v, %v; want %v, %v", tc.reason, got, ok, tc.want, tc.ok)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("location %v, want UTC", got.Location())
			}
		})
	}
}
