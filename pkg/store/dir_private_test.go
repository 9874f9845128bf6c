//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// modes walks root (not following links) and returns the permission bits of
// everything under it, root included, by slash path ("." for root).
func modes(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Everything Dir and LocalState create is exactly 0700 (directories) or
// 0600 (files) whatever the umask: a permissive one (0), the usual one
// (022), and one that would leave 0500/0400 if the modes came from it
// (277). Not parallel: the umask is the process's, and top-level parallel
// tests wait until the serial ones have finished.
func TestDirModesDoNotDependOnTheUmask(t *testing.T) {
	ctx := context.Background()
	for _, mask := range []int{0, 0o022, 0o277} {
		t.Run(fmt.Sprintf("umask %03o", mask), func(t *testing.T) {
			old := syscall.Umask(mask)
			defer syscall.Umask(old)

			data := filepath.Join(t.TempDir(), "orgscan-data") // missing: Put creates it
			d := Dir{Root: data}
			for _, key := range []string{"runs/r1/manifest.jsonl", "runs/r1/chunks/111111111111/us-east-1.jsonl.gz", "runs/r1/manifest.jsonl", "reports/r1.html"} {
				if err := d.Put(ctx, key, strings.NewReader("x")); err != nil {
					t.Fatal(err)
				}
			}
			// A file an earlier version left world-readable is private once
			// rewritten.
			legacy := filepath.Join(data, "runs", "r1", "summary.json")
			if err := os.WriteFile(legacy, []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(legacy, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := d.Put(ctx, "runs/r1/summary.json", strings.NewReader("{}")); err != nil {
				t.Fatal(err)
			}
			s := &LocalState{Dir: data}
			now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
			if ok, _, _, err := s.AcquireLease(ctx, "a", now, now.Add(time.Minute)); err != nil || !ok {
				t.Fatalf("AcquireLease = %v, %v", ok, err)
			}
			if err := s.PutRun(ctx, RunRecord{RunID: "r1", StartedAt: now}); err != nil {
				t.Fatal(err)
			}

			got := modes(t, data)
			for _, want := range []string{".", "runs", "runs/r1/chunks/111111111111/us-east-1.jsonl.gz", "reports/r1.html",
				"state", "state/lease.json", "state/runs/r1.json", "runs/r1/summary.json"} {
				if _, ok := got[want]; !ok {
					t.Errorf("%s was not written (have %v)", want, got)
				}
			}
			for p, m := range got {
				want := fs.FileMode(0o600)
				if m.IsDir() {
					want = fs.ModeDir | 0o700
				}
				if m != want {
					t.Errorf("%s: mode %v, want %v", p, m, want)
				}
			}
		})
	}
}

// symlinkError reports whether err is the *KeyError of a path through a
// symbolic link.
func symlinkError(err error) bool {
	var ke *KeyError
	return errors.As(err, &ke) && strings.HasSuffix(ke.Reason, "is a symbolic link")
}

// empty fails unless dir holds nothing.
func empty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("something was written through the link into %s: %v", dir, entries)
	}
}

// A link anywhere between Root and the object — a directory, or the
// object's own name, pointing outside Root or inside it, dangling or not —
// is refused with a *KeyError before anything is written, by Put and by
// the local state's lease.
func TestDirRefusesSymbolicLinksBelowRoot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name string
		key  string
		// setup makes the links under root; elsewhere is outside root.
		setup func(t *testing.T, root, elsewhere string)
	}{
		{"first directory outside root", "runs/r1/manifest.jsonl", func(t *testing.T, root, elsewhere string) {
			link(t, elsewhere, filepath.Join(root, "runs"))
		}},
		{"deeper directory outside root", "runs/r1/chunks/a/b.jsonl.gz", func(t *testing.T, root, elsewhere string) {
			mkdir(t, filepath.Join(root, "runs", "r1"))
			link(t, elsewhere, filepath.Join(root, "runs", "r1", "chunks"))
		}},
		{"directory inside root", "runs/r1/manifest.jsonl", func(t *testing.T, root, _ string) {
			mkdir(t, filepath.Join(root, "state"))
			link(t, "state", filepath.Join(root, "runs"))
		}},
		{"final name to an existing file", "runs/r1/summary.json", func(t *testing.T, root, elsewhere string) {
			mkdir(t, filepath.Join(root, "runs", "r1"))
			link(t, filepath.Join(elsewhere, "target"), filepath.Join(root, "runs", "r1", "summary.json"))
		}},
		{"final name dangling", "runs/r1/summary.json", func(t *testing.T, root, elsewhere string) {
			mkdir(t, filepath.Join(root, "runs", "r1"))
			link(t, filepath.Join(elsewhere, "missing"), filepath.Join(root, "runs", "r1", "summary.json"))
		}},
		{"state directory (lease)", "state/lease.json", func(t *testing.T, root, elsewhere string) {
			link(t, elsewhere, filepath.Join(root, "state"))
		}},
		{"lease file", "state/lease.json", func(t *testing.T, root, elsewhere string) {
			mkdir(t, filepath.Join(root, "state"))
			link(t, filepath.Join(elsewhere, "missing"), filepath.Join(root, "state", "lease.json"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root, elsewhere := t.TempDir(), t.TempDir()
			tc.setup(t, root, elsewhere)
			before := modes(t, root)
			target := filepath.Join(elsewhere, "target")
			if strings.Contains(tc.name, "existing file") {
				if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			var err error
			if tc.key == "state/lease.json" {
				now := time.Now()
				var ok bool
				ok, _, _, err = (&LocalState{Dir: root}).AcquireLease(ctx, "a", now, now.Add(time.Minute))
				if ok {
					t.Fatal("the lease was taken through a link")
				}
			} else {
				err = Dir{Root: root}.Put(ctx, tc.key, strings.NewReader("secret inventory"))
			}
			if !symlinkError(err) {
				t.Fatalf("err = %v, want a *KeyError whose reason ends with \"is a symbolic link\"", err)
			}

			if strings.Contains(tc.name, "existing file") {
				if b, _ := os.ReadFile(target); string(b) != "keep" {
					t.Fatalf("the link's target was changed: %q", b)
				}
				if err := os.Remove(target); err != nil {
					t.Fatal(err)
				}
			}
			empty(t, elsewhere)
			after := modes(t, root)
			if len(after) != len(before) {
				t.Fatalf("a refused write changed the data directory: before %v, after %v", before, after)
			}
			if !strings.Contains(tc.name, "inside root") {
				return
			}
			empty(t, filepath.Join(root, "state"))
		})
	}
}

// Root itself may be a link (a data directory kept on another disk): what
// is written lands in the link's target, private.
func TestDirRootMayBeASymbolicLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := t.TempDir()
	target := filepath.Join(base, "elsewhere")
	mkdir(t, target)
	link(t, target, filepath.Join(base, "data"))
	d := Dir{Root: filepath.Join(base, "data")}
	if err := d.Put(ctx, "runs/r1/manifest.jsonl", strings.NewReader("one\n")); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Open(ctx, "runs/r1/manifest.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "one\n" {
		t.Fatalf("read %q", b)
	}
	info, err := os.Lstat(filepath.Join(target, "runs", "r1", "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != 0o600 {
		t.Fatalf("mode %v, want 0600", info.Mode())
	}
	s := &LocalState{Dir: d.Root}
	now := time.Now()
	if ok, _, _, err := s.AcquireLease(ctx, "a", now, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("AcquireLease under a linked root = %v, %v", ok, err)
	}
}

// A file where a directory of the key should be is a *KeyError too.
func TestDirNotADirectory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "runs"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := Dir{Root: root}.Put(context.Background(), "runs/r1/x", strings.NewReader("x"))
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Reason != "runs is not a directory" {
		t.Fatalf("err = %v", err)
	}
}

func link(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}
