package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirPutOpen(t *testing.T) {
	t.Parallel()
	d := Dir{Root: t.TempDir()}
	ctx := context.Background()
	if err := d.Put(ctx, "runs/r1/manifest.jsonl", strings.NewReader("one\n")); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "runs/r1/manifest.jsonl", strings.NewReader("two\n")); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Open(ctx, "runs/r1/manifest.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "two\n" {
		t.Fatalf("got %q", b)
	}
	entries, _ := os.ReadDir(filepath.Join(d.Root, "runs", "r1"))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if _, err := d.Open(ctx, "runs/r1/missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
}

func TestDirRejectsBadKeys(t *testing.T) {
	t.Parallel()
	d := Dir{Root: t.TempDir()}
	for _, k := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", "./a"} {
		err := d.Put(context.Background(), k, strings.NewReader("x"))
		var ke *KeyError
		if !errors.As(err, &ke) {
			t.Errorf("key %q: err = %v, want *KeyError", k, err)
		}
	}
}

func TestDirPutFailureLeavesOldObject(t *testing.T) {
	t.Parallel()
	d := Dir{Root: t.TempDir()}
	ctx := context.Background()
	if err := d.Put(ctx, "k", strings.NewReader("old")); err != nil {
		t.Fatal(err)
	}
	err := d.Put(ctx, "k", io.MultiReader(strings.NewReader("new-partial"), errReader{}))
	if err == nil {
		t.Fatal("want error")
	}
	rc, _ := d.Open(ctx, "k")
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "old" {
		t.Fatalf("a failed Put changed the object: %q", b)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
