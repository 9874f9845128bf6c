package pipeline

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// OpCounts are API calls by "service:Operation", sorted by operation. A run
// holds one pair result per pair until it is aggregated, so a pair's counts
// are a slice (about a quarter of a map's memory); in JSON they are an
// object, as a map would be.
type OpCounts []OpCount

// OpCount is one operation's calls.
type OpCount struct {
	Op string
	N  int
}

// CountsOf returns m's counts, sorted by operation.
func CountsOf(m map[string]int) OpCounts {
	if len(m) == 0 {
		return nil
	}
	out := make(OpCounts, 0, len(m))
	for _, op := range slices.Sorted(maps.Keys(m)) {
		out = append(out, OpCount{op, m[op]})
	}
	return out
}

// Total is the calls of every operation.
func (c OpCounts) Total() int {
	n := 0
	for _, oc := range c {
		n += oc.N
	}
	return n
}

// MarshalJSON writes the counts as an object.
func (c OpCounts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, oc := range c {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(oc.Op)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(oc.N))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object of counts.
func (c *OpCounts) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*c = CountsOf(m)
	return nil
}
