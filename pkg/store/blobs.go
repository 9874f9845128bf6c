// Package store holds where a run's data lives: a blob store (S3 in AWS, a
// directory locally, with the same key layout) and, later, the state store.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrNotFound is returned by Open for a key that does not exist.
var ErrNotFound = errors.New("blob not found")

// Blobs is a flat key → bytes store. Keys are slash-separated relative
// paths (DESIGN §3: runs/<runId>/manifest.jsonl, ...). Implementations are
// safe for concurrent use; Put replaces a key atomically (readers see the old
// or the new object, never a part) and does not retry beyond its SDK.
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader) error
	// Open returns the object's content; a missing key is ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// KeyError reports a key that cannot name an object.
type KeyError struct{ Key, Reason string }

func (e *KeyError) Error() string { return fmt.Sprintf("invalid blob key %q: %s", e.Key, e.Reason) }

// CheckKey rejects keys that are empty, absolute, or escape their root.
func CheckKey(key string) error {
	switch {
	case key == "":
		return &KeyError{key, "empty"}
	case strings.HasPrefix(key, "/"):
		return &KeyError{key, "absolute"}
	case path.Clean(key) != key || strings.HasPrefix(key, "../") || key == "..":
		return &KeyError{key, "not a clean relative path"}
	case strings.ContainsAny(key, "\\\x00"):
		return &KeyError{key, "contains a backslash or NUL"}
	}
	return nil
}

// TempPrefix begins the name of a file that Dir.Put has not renamed into
// place yet.
const TempPrefix = ".tmp-"

// Dir stores blobs as files under Root, with the same layout as the bucket.
type Dir struct{ Root string }

var _ Blobs = Dir{}

// Put writes the object to a temporary file beside its target and renames
// it into place, so a crash never leaves a half-written object.
func (d Dir) Put(ctx context.Context, key string, r io.Reader) (err error) {
	if err := CheckKey(key); err != nil {
		return err
	}
	dst := filepath.Join(d.Root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), TempPrefix+filepath.Base(dst)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = io.Copy(f, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// Open opens the object's file.
func (d Dir) Open(_ context.Context, key string) (io.ReadCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(d.Root, filepath.FromSlash(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return f, err
}

// Path is the file that holds key, for messages to a local user.
func (d Dir) Path(key string) string { return filepath.Join(d.Root, filepath.FromSlash(key)) }

// ctxReader stops a long copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Lister is a blob store that can list its keys. Both stores implement it;
// it is separate from Blobs because only the aggregator lists (to find what
// a failed Distributed Map wrote, and leftover temporary files).
type Lister interface {
	// List returns the keys that begin with prefix, in byte order.
	List(ctx context.Context, prefix string) ([]string, error)
}

var _ Lister = Dir{}

// List walks the directory under prefix. Temporary files of unfinished
// writes are not keys and are left out.
func (d Dir) List(ctx context.Context, prefix string) ([]string, error) {
	root := filepath.Join(d.Root, filepath.FromSlash(path.Dir(prefix+"x")))
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), TempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// TempCleaner is a blob store whose interrupted writes can leave files
// behind (Dir: a process killed between creating and renaming its
// temporary file).
type TempCleaner interface {
	// RemoveTemp deletes the temporary files for which stale, given the
	// file's slash-separated path under the store and its modification
	// time, says yes, and returns how many it deleted.
	RemoveTemp(ctx context.Context, stale func(path string, modified time.Time) bool) (int, error)
}

var _ TempCleaner = Dir{}

// RemoveTemp deletes the temporary files of writes that never finished.
func (d Dir) RemoveTemp(ctx context.Context, stale func(path string, modified time.Time) bool) (int, error) {
	n := 0
	err := filepath.WalkDir(d.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || !strings.HasPrefix(e.Name(), TempPrefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // gone already
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil || !stale(filepath.ToSlash(rel), info.ModTime()) {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// Locator is a blob store that can name where a key is for a person: an
// s3:// URI, or a file path.
type Locator interface {
	Locate(key string) string
}

var _ Locator = Dir{}

// Locate is the key's file path.
func (d Dir) Locate(key string) string { return d.Path(key) }
