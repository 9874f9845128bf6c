package store

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/orgscan/orgscan/pkg/finding"
)

// FuzzLocalStateFiles reads the local state files (written by an earlier
// orgscan process, possibly another version, possibly damaged): arbitrary
// content is refused with an error naming the file or read; findings and
// run records written by the store read back equal.
func FuzzLocalStateFiles(f *testing.F) {
	f.Add([]byte(`[{"findingId":"a","accountId":"111111111111","status":"open"}]`), "ec2-idle-instance", "i-1", "<\u202e", 12.5)
	f.Add([]byte(`{"runId":"r"}`), "", "", "", 0.0)
	f.Add([]byte("\x00\xff"), "x", "y", "z", -1.0)
	f.Fuzz(func(t *testing.T, raw []byte, check, resource, tag string, cost float64) {
		ctx := context.Background()
		dir := t.TempDir()
		s := &LocalState{Dir: dir, Now: func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) }}
		for _, name := range []string{"findings/111111111111.json", "runs/r1.json", "accounts/111111111111.json", "lease.json"} {
			p := filepath.Join(dir, "state", filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// Whatever the files hold: an error or a value, never a panic.
		_, _ = s.AccountFindings(ctx, "111111111111")
		_, _, _ = s.GetRun(ctx, "r1")
		_, _ = s.Runs(ctx, 0)
		_, _ = s.UnfinishedRuns(ctx)
		_, _, _ = s.AdvanceAccount(ctx, "111111111111", RunMark{RunID: "r1", StartedAt: time.Unix(0, 0)})
		_, _, _, _ = s.AcquireLease(ctx, "r1", time.Unix(0, 0), time.Unix(60, 0))

		if !utf8.ValidString(check) || !utf8.ValidString(resource) || !utf8.ValidString(tag) || math.IsNaN(cost) || math.IsInf(cost, 0) {
			return // not what a finding can hold in JSON
		}
		clean := &LocalState{Dir: t.TempDir()}
		want := []finding.Finding{{FindingID: finding.ID(check, "111111111111", "us-east-1", resource), CheckID: check,
			AccountID: "111111111111", Region: "us-east-1", ResourceID: resource, Tags: map[string]string{"k": tag},
			MonthlyCostUSD: &cost, Status: finding.Open, FirstSeen: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}}
		if err := clean.PutFindings(ctx, "111111111111", want); err != nil {
			t.Fatal(err)
		}
		got, err := clean.AccountFindings(ctx, "111111111111")
		if err != nil || !reflect.DeepEqual(want, got) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, want, got)
		}
		rec := RunRecord{RunID: "r1", StartedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Status: RunComplete,
			Summary: []byte(`{"note":` + string(mustJSON(t, tag)) + `}`)}
		if err := clean.PutRun(ctx, rec); err != nil {
			t.Fatal(err)
		}
		back, ok, err := clean.GetRun(ctx, "r1")
		if err != nil || !ok || !back.Equal(rec) {
			t.Fatalf("run record round trip: %v %v %+v", err, ok, back)
		}
	})
}

func mustJSON(t *testing.T, s string) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
