package store

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The local lease: one holder at a time until it expires, renewable by
// its holder, and taken over at once from a process of this host that died
// holding it (a killed `orgscan run`).
func TestLocalLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &LocalState{Dir: t.TempDir()}
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	acquire := func(holder string, at time.Time) (bool, string) {
		t.Helper()
		ok, by, _, err := s.AcquireLease(ctx, holder, at, at.Add(16*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return ok, by
	}
	if ok, _ := acquire("a", now); !ok {
		t.Fatal("a free lease was refused")
	}
	if ok, by := acquire("b", now.Add(time.Minute)); ok || by != "a" {
		t.Fatalf("b took a live lease of a (this process): %v %q", ok, by)
	}
	if ok, _ := acquire("a", now.Add(time.Minute)); !ok {
		t.Fatal("a could not renew its own lease")
	}
	if err := s.ReleaseLease(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := acquire("b", now.Add(2*time.Minute)); ok {
		t.Fatal("a release by a non-holder freed the lease")
	}
	if ok, _ := acquire("b", now.Add(time.Hour)); !ok {
		t.Fatal("an expired lease was not taken")
	}
	if err := s.ReleaseLease(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "state", "lease.json")); !os.IsNotExist(err) {
		t.Fatalf("released lease still there: %v", err)
	}

	// A lease whose process has exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` to make a dead process:", err)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(localLease{Holder: "killed", Until: now.Add(time.Hour), Host: host, PID: cmd.Process.Pid})
	if err := os.WriteFile(filepath.Join(s.Dir, "state", "lease.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, by := acquire("c", now); !ok {
		t.Fatalf("the lease of a dead process (held by %q) was not taken", by)
	}
}

// Account marks: a later run advances, the same run again is accepted, an
// earlier one is refused with the mark the state holds.
func TestLocalAdvanceAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &LocalState{Dir: t.TempDir()}
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	day := func(d int, id string) RunMark {
		return RunMark{RunID: id, StartedAt: at.Add(time.Duration(d) * 24 * time.Hour)}
	}
	for _, tc := range []struct {
		m    RunMark
		ok   bool
		want RunMark
	}{
		{day(0, "d0"), true, day(0, "d0")},
		{day(2, "d2"), true, day(2, "d2")},
		{day(1, "d1"), false, day(2, "d2")},
		{day(2, "d2"), true, day(2, "d2")},
		{day(2, "d1"), false, day(2, "d2")}, // same start: ordered by run ID
	} {
		ok, cur, err := s.AdvanceAccount(ctx, "111111111111", tc.m)
		if err != nil || ok != tc.ok || !cur.StartedAt.Equal(tc.want.StartedAt) || cur.RunID != tc.want.RunID {
			t.Fatalf("advance to %v: %v %v %v, want %v %v", tc.m, ok, cur, err, tc.ok, tc.want)
		}
	}
}
