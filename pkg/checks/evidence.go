package checks

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/pricing"
)

// MetricsUnavailableError means a candidate's metrics were not fetched or
// came back incomplete, so the check cannot judge it. It is never read as
// "no activity".
type MetricsUnavailableError struct {
	Query  string
	Status string
}

func (e *MetricsUnavailableError) Error() string {
	return fmt.Sprintf("metric %s unavailable (%s)", e.Query, e.Status)
}

// daily is one metric over a check's lookback: a value per UTC day, with
// present[i] false where CloudWatch had no datapoint for day i.
type daily struct {
	values  []float64
	present []bool
}

// lastDays returns the query's series over the `days` whole UTC days before
// now's midnight. The merged fetch may cover a longer window (another check
// of the pair looks further back); older points are ignored.
func lastDays(m cwbatch.Results, q cwbatch.Query, now time.Time, days int) (daily, error) {
	s, ok := m.Get(q)
	if !ok {
		return daily{}, &MetricsUnavailableError{Query: q.Key(), Status: "not fetched"}
	}
	if !s.Complete {
		return daily{}, &MetricsUnavailableError{Query: q.Key(), Status: s.Status}
	}
	end := now.UTC().Truncate(cwbatch.Day)
	start := end.Add(-time.Duration(days) * cwbatch.Day)
	d := daily{values: make([]float64, days), present: make([]bool, days)}
	for i, ts := range s.Timestamps {
		if ts.Before(start) || !ts.Before(end) {
			continue
		}
		k := int(ts.Sub(start) / cwbatch.Day)
		d.values[k] += s.Values[i]
		d.present[k] = true
	}
	return d, nil
}

// days counts the days with a datapoint.
func (d daily) days() int {
	n := 0
	for _, p := range d.present {
		if p {
			n++
		}
	}
	return n
}

// max is the largest value over the present days (0 when none).
func (d daily) max() float64 {
	m := 0.0
	for i, v := range d.values {
		if d.present[i] && v > m {
			m = v
		}
	}
	return m
}

// sum adds every present day; missing days count as zero.
func (d daily) sum() float64 {
	s := 0.0
	for _, v := range d.values {
		s += v
	}
	return s
}

// oldEnough reports whether a resource created at t has existed for the whole
// lookback. An unknown creation time is not old enough: orgscan never calls a
// resource idle without knowing it existed for the whole window.
func oldEnough(created, now time.Time, days int) bool {
	if created.IsZero() {
		return false
	}
	return !created.After(now.Add(-time.Duration(days) * cwbatch.Day))
}

// partition returns the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func ec2ARN(env Env, kind, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:%s/%s", partition(env.Region), env.Region, env.AccountID, kind, id)
}

func ec2Tags(ts []ec2types.Tag) map[string]string {
	if len(ts) == 0 {
		return nil
	}
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func rdsTags(ts []rdstypes.Tag) map[string]string {
	if len(ts) == 0 {
		return nil
	}
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func nameTag(tags map[string]string) string { return tags["Name"] }

// cost turns a price lookup into a verdict's cost: nil when unknown.
func cost(usd float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	usd = round2(usd)
	return &usd
}

// unknownNote is appended to a reason when the price is unknown, so a null
// cost is explained where people read it.
func unknownNote(c *float64, what, region string) string {
	if c != nil {
		return ""
	}
	return " (" + pricing.Unknown(what, region) + ")"
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
