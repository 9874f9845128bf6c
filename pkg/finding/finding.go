// Package finding holds orgscan's domain model: a Finding is one wasted or idle
// resource, found by one check in one account and region. The package knows
// nothing of AWS SDKs; the same struct is written as JSON lines, DynamoDB items
// and Parquet rows, so its JSON field names are the contract (DESIGN §3).
package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Category groups findings by what is wrong with the resource.
type Category string

const (
	// Idle resources run and are paid for, but their metrics show no work.
	Idle Category = "idle"
	// Unused resources are provisioned but attached to or used by nothing.
	Unused Category = "unused"
	// Hygiene findings cost little or nothing but add risk or clutter.
	Hygiene Category = "hygiene"
)

// Status is a finding's state in the history of runs.
type Status string

const (
	Open       Status = "open"
	Suppressed Status = "suppressed"
	Resolved   Status = "resolved"
)

// Finding is one resource reported by one check. MonthlyCostUSD is nil when the
// price is unknown; a known zero is a pointer to 0, never a silent default.
type Finding struct {
	FindingID      string             `json:"findingId"`
	RunID          string             `json:"runId"`
	CheckID        string             `json:"checkId"`
	Category       Category           `json:"category"`
	AccountID      string             `json:"accountId"`
	AccountName    string             `json:"accountName,omitempty"`
	Region         string             `json:"region"`
	Service        string             `json:"service"`
	ResourceType   string             `json:"resourceType"`
	ResourceID     string             `json:"resourceId"`
	ResourceARN    string             `json:"resourceArn,omitempty"`
	Reason         string             `json:"reason"`
	Evidence       map[string]float64 `json:"evidence,omitempty"`
	MonthlyCostUSD *float64           `json:"monthlyCostUsd"`
	Tags           map[string]string  `json:"tags,omitempty"`
	FirstSeen      time.Time          `json:"firstSeen"`
	LastSeen       time.Time          `json:"lastSeen"`
	Status         Status             `json:"status"`
	// SuppressedBy says why a suppressed finding is suppressed.
	SuppressedBy string `json:"suppressedBy,omitempty"`
	// OpenedRunID is the run that last opened the finding (first saw it, or
	// saw it again after it was resolved).
	OpenedRunID string `json:"openedRunId,omitempty"`
	// ResolvedRunID and ResolvedAt say which run found the resource gone
	// (or no longer wasteful), for a resolved finding.
	ResolvedRunID string     `json:"resolvedRunId,omitempty"`
	ResolvedAt    *time.Time `json:"resolvedAt,omitempty"`
}

// ID returns the stable identity of a finding: the same check, account,
// region and resource give the same ID in every run, so history can be
// diffed. The fields are length-prefixed before hashing so that no two
// different tuples can collide by shifting a separator.
func ID(checkID, accountID, region, resourceID string) string {
	h := sha256.New()
	for _, s := range []string{checkID, accountID, region, resourceID} {
		var n [4]byte
		l := len(s)
		n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Cost returns a pointer to usd, for findings whose price is known.
func Cost(usd float64) *float64 { return &usd }

// SortCost is the monthly cost for ordering findings most expensive first:
// an unknown cost sorts below every known one, zero included.
func (f Finding) SortCost() float64 {
	if f.MonthlyCostUSD == nil {
		return -1
	}
	return *f.MonthlyCostUSD
}
