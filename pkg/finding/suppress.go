package finding

import (
	"fmt"
	"path"
	"regexp"
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

// ExclusionError names the field and value of an exclusion that is not
// valid.
type ExclusionError struct {
	Field, Value, Reason string
}

func (e *ExclusionError) Error() string {
	if e.Field == "exclusion" {
		return "exclusion " + e.Reason
	}
	if e.Value == "" {
		return e.Field + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %q %s", e.Field, e.Value, e.Reason)
}

var (
	accountIDRe = regexp.MustCompile(`^[0-9]{12}$`)
	// Region names: two letters, optional partition part, direction, number.
	regionRe = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$`)
)

// ValidAccountID reports whether s is a 12-digit AWS account ID. It is
// orgscan's one definition: requests, work items, exclusions and flags all
// use it.
func ValidAccountID(s string) bool { return accountIDRe.MatchString(s) }

// ValidRegion reports whether s looks like an AWS region name (orgscan's one
// definition, like ValidAccountID).
func ValidRegion(s string) bool { return regionRe.MatchString(s) }

// Validate checks the exclusion's account IDs, region names and globs and
// that it selects something; its error is an *ExclusionError.
func (e Exclusion) Validate() error {
	if len(e.Checks)+len(e.Accounts)+len(e.Regions)+len(e.Resources)+len(e.Tags) == 0 {
		return &ExclusionError{Field: "exclusion", Reason: "matches nothing: give checks, accounts, regions, resources or tags"}
	}
	for _, a := range e.Accounts {
		if !ValidAccountID(a) {
			return &ExclusionError{Field: "accounts", Value: a, Reason: "is not a 12-digit AWS account ID"}
		}
	}
	for _, r := range e.Regions {
		if !ValidRegion(r) {
			return &ExclusionError{Field: "regions", Value: r, Reason: "is not an AWS region name (like us-east-1)"}
		}
	}
	for _, g := range e.Resources {
		if _, err := path.Match(g, ""); err != nil {
			return &ExclusionError{Field: "resources", Value: g, Reason: "is not a valid glob: " + err.Error()}
		}
	}
	for k, g := range e.Tags {
		if k == "" {
			return &ExclusionError{Field: "tags", Reason: "empty tag key"}
		}
		if _, err := path.Match(g, ""); err != nil {
			return &ExclusionError{Field: "tags." + k, Value: g, Reason: "is not a valid glob: " + err.Error()}
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

// TagPolicy says where the IgnoreTag is honoured. Anyone who may tag a
// resource in a member account can set the tag, and the read-only APIs
// orgscan lists with do not say who set a tag (only CloudTrail does, per
// region and for 90 days), so what can be enforced is where: everywhere,
// nowhere, or in named accounts (whose tagging the organization trusts).
// Configured exclusions are not affected: they come from the operator.
type TagPolicy struct {
	// Honour is HonourAny (the default, also when empty), HonourNone or
	// HonourAccounts.
	Honour string `json:"honour,omitempty" yaml:"honour,omitempty"`
	// Accounts are where the tag is honoured, with HonourAccounts.
	Accounts []string `json:"accounts,omitempty" yaml:"accounts,omitempty"`
}

// TagPolicy.Honour values.
const (
	HonourAny      = "any"
	HonourNone     = "none"
	HonourAccounts = "accounts"
)

// Validate checks the mode and the account IDs; its error is an
// *ExclusionError naming the field.
func (p TagPolicy) Validate() error {
	switch p.Honour {
	case "", HonourAny, HonourNone:
		if len(p.Accounts) > 0 {
			return &ExclusionError{Field: "ignoreTag.accounts", Reason: "are only read with honour: accounts"}
		}
	case HonourAccounts:
		if len(p.Accounts) == 0 {
			return &ExclusionError{Field: "ignoreTag.accounts", Reason: "must name at least one account with honour: accounts"}
		}
		for _, a := range p.Accounts {
			if !ValidAccountID(a) {
				return &ExclusionError{Field: "ignoreTag.accounts", Value: a, Reason: "is not a 12-digit AWS account ID"}
			}
		}
	default:
		return &ExclusionError{Field: "ignoreTag.honour", Value: p.Honour, Reason: "must be any, none or accounts"}
	}
	return nil
}

// Honours reports whether the tag counts in an account.
func (p TagPolicy) Honours(accountID string) bool {
	switch p.Honour {
	case HonourNone:
		return false
	case HonourAccounts:
		for _, a := range p.Accounts {
			if a == accountID {
				return true
			}
		}
		return false
	}
	return true
}

// Suppress marks f suppressed when its resource's orgscan:ignore tag names
// its check (or says "true") and the policy honours the tag in f's account,
// or when an exclusion matches it. Suppressed findings are kept, with the
// reason (SuppressedBy names the tag and its value, or the exclusion), and
// left out of totals; the report lists them.
func Suppress(f *Finding, exclusions []Exclusion, tags TagPolicy) {
	if v, ok := f.Tags[IgnoreTag]; ok && tags.Honours(f.AccountID) {
		for _, c := range strings.Split(v, ",") {
			c = strings.TrimSpace(c)
			if strings.EqualFold(c, "true") || c == f.CheckID {
				f.Status, f.SuppressedBy = Suppressed, "tag "+IgnoreTag+"="+v
				return
			}
		}
	}
	for i, e := range exclusions {
		if e.Matches(*f) {
			why := fmt.Sprintf("configured exclusion #%d", i+1)
			if e.Reason != "" {
				why += ": " + e.Reason
			}
			f.Status, f.SuppressedBy = Suppressed, why
			return
		}
	}
}
