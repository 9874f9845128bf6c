package finding

import (
	"fmt"
	"path"
	"strings"
)

// IgnoreTag is the resource tag that suppresses findings: "true" for every
// check, or a comma-separated list of check IDs.
const IgnoreTag = "orgscan:ignore"

// Exclusion suppresses the findings it matches. Every field that is set must
// match (a list matches when any of its values does); an empty exclusion
// matches nothing. Resources are glob patterns (path.Match syntax) against
// the resource ID and ARN; Tags map tag keys to glob patterns of values.
type Exclusion struct {
	Checks    []string          `json:"checks,omitempty" yaml:"checks,omitempty"`
	Accounts  []string          `json:"accounts,omitempty" yaml:"accounts,omitempty"`
	Regions   []string          `json:"regions,omitempty" yaml:"regions,omitempty"`
	Resources []string          `json:"resources,omitempty" yaml:"resources,omitempty"`
	Tags      map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Reason    string            `json:"reason,omitempty" yaml:"reason,omitempty"`
}

// Validate checks the exclusion's globs and that it selects something.
func (e Exclusion) Validate() error {
	if len(e.Checks)+len(e.Accounts)+len(e.Regions)+len(e.Resources)+len(e.Tags) == 0 {
		return fmt.Errorf("exclusion matches nothing: give checks, accounts, regions, resources or tags")
	}
	for _, g := range e.Resources {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("resources: bad glob %q: %v", g, err)
		}
	}
	for k, g := range e.Tags {
		if k == "" {
			return fmt.Errorf("tags: empty tag key")
		}
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("tags.%s: bad glob %q: %v", k, g, err)
		}
	}
	return nil
}

// Matches reports whether the exclusion applies to f.
func (e Exclusion) Matches(f Finding) bool {
	if len(e.Checks)+len(e.Accounts)+len(e.Regions)+len(e.Resources)+len(e.Tags) == 0 {
		return false
	}
	in := func(list []string, v string) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	if !in(e.Checks, f.CheckID) || !in(e.Accounts, f.AccountID) || !in(e.Regions, f.Region) {
		return false
	}
	if len(e.Resources) > 0 {
		hit := false
		for _, g := range e.Resources {
			if ok, _ := path.Match(g, f.ResourceID); ok {
				hit = true
			} else if ok, _ := path.Match(g, f.ResourceARN); ok && f.ResourceARN != "" {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	for k, g := range e.Tags {
		v, ok := f.Tags[k]
		if !ok {
			return false
		}
		if m, _ := path.Match(g, v); !m {
			return false
		}
	}
	return true
}

// Suppress marks f suppressed when its resource's orgscan:ignore tag names
// its check (or says "true"), or when an exclusion matches it. Suppressed
// findings are kept, with the reason, and left out of totals.
func Suppress(f *Finding, exclusions []Exclusion) {
	if v, ok := f.Tags[IgnoreTag]; ok {
		for _, c := range strings.Split(v, ",") {
			c = strings.TrimSpace(c)
			if strings.EqualFold(c, "true") || c == f.CheckID {
				f.Status, f.SuppressedBy = Suppressed, "tag "+IgnoreTag+"="+v
				return
			}
		}
	}
	for _, e := range exclusions {
		if e.Matches(*f) {
			why := "configured exclusion"
			if e.Reason != "" {
				why += ": " + e.Reason
			}
			f.Status, f.SuppressedBy = Suppressed, why
			return
		}
	}
}
