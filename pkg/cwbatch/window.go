package cwbatch

import (
	"fmt"
	"time"
)

// Day is the period orgscan asks CloudWatch for: one datapoint per UTC day.
const Day = 24 * time.Hour

// CloudWatch keeps data at coarser resolution as it ages; a request whose
// start is older than a tier must use a period that is a multiple of that
// tier's resolution, and nothing older than the last tier exists at all.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
var retention = []struct {
	age, resolution time.Duration
}{
	{15 * Day, time.Minute},
	{63 * Day, 5 * time.Minute},
	{455 * Day, time.Hour},
}

// MaxLookbackDays is the longest lookback DailyWindow accepts: CloudWatch
// keeps one-hour data for 455 days, and a window ends at the last UTC
// midnight, so its start is up to a day older than its length.
const MaxLookbackDays = 454

// WindowError reports a window CloudWatch cannot serve.
type WindowError struct {
	Days   int
	Period time.Duration
	Reason string
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("metric window of %d days at period %s: %s", e.Days, e.Period, e.Reason)
}

// Window is the time range and period of a fetch. Start and End fall on UTC
// midnights, so every datapoint covers one whole UTC day and two runs on the
// same day ask for the same data.
type Window struct {
	Start, End time.Time
	Period     time.Duration
	// now is when the window was made, to check retention against.
	now time.Time
}

// DailyWindow returns the last `days` whole UTC days before now, with a daily
// period. It fails when days is outside 1..MaxLookbackDays.
func DailyWindow(now time.Time, days int) (Window, error) {
	end := now.UTC().Truncate(Day)
	w := Window{Start: end.Add(-time.Duration(days) * Day), End: end, Period: Day, now: now}
	if days < 1 || days > MaxLookbackDays {
		return w, &WindowError{Days: days, Period: Day, Reason: fmt.Sprintf("lookback must be 1..%d days (CloudWatch retention)", MaxLookbackDays)}
	}
	return w, w.Validate()
}

// Days is the number of whole days in the window.
func (w Window) Days() int { return int(w.End.Sub(w.Start) / Day) }

// MinPeriod is the finest period CloudWatch accepts for data starting at
// start when asked at now, or 0 when that data has expired.
func MinPeriod(now, start time.Time) time.Duration {
	age := now.Sub(start)
	for _, r := range retention {
		if age <= r.age {
			return r.resolution
		}
	}
	return 0
}

// Validate checks the window against CloudWatch's retention tiers.
func (w Window) Validate() error {
	if !w.End.After(w.Start) || w.Period <= 0 {
		return &WindowError{Days: w.Days(), Period: w.Period, Reason: "empty window or non-positive period"}
	}
	now := w.now
	if now.IsZero() {
		now = w.End
	}
	minP := MinPeriod(now, w.Start)
	if minP == 0 {
		return &WindowError{Days: w.Days(), Period: w.Period, Reason: "starts before CloudWatch's 455-day retention"}
	}
	if w.Period%minP != 0 {
		return &WindowError{Days: w.Days(), Period: w.Period, Reason: fmt.Sprintf("period must be a multiple of %s for data this old", minP)}
	}
	return nil
}
