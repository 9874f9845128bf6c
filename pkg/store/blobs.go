// Package store holds where a run's data lives: a blob store (S3 in AWS, a
// directory locally, with the same key layout) and, later, the state store.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
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

// KeyError reports a key that cannot name an object: a malformed key, or
// (Dir) one whose path goes through a symbolic link, when Reason ends with
// "is a symbolic link".
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

// The modes of what Dir creates. The data directory holds an
// organization-wide inventory and its findings, so it is private to its
// owner; the modes are set explicitly after creation and so do not depend
// on the process's umask.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// Dir stores blobs as files under Root, with the same layout as the bucket.
//
// What Dir writes is private: directories it creates (Root included, when
// missing) are mode 0700 and files 0600, whatever the umask. Writes never
// follow a symbolic link below Root: every directory between Root and the
// object, and the object's own name, is checked with Lstat, and a link is
// refused with a *KeyError (its reason ends with "is a symbolic link")
// before anything is written. Root itself may be a symbolic link (a data
// directory kept on another disk is a user's choice, not an attacker's),
// and reads (Open) do follow links. An empty Root is the current directory.
type Dir struct{ Root string }

var _ Blobs = Dir{}

// Put writes the object to a temporary file beside its target and renames
// it into place, so a crash never leaves a half-written object. It refuses
// a key whose path below Root goes through a symbolic link (*KeyError).
func (d Dir) Put(ctx context.Context, key string, r io.Reader) (err error) {
	dir, base, err := d.parent(key)
	if err != nil {
		return err
	}
	defer dir.Close()
	f, tmp, err := createTemp(dir, TempPrefix+base+"-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			dir.Remove(tmp)
		}
	}()
	if _, err = io.Copy(f, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err = f.Chmod(FileMode); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// Checked again just before the rename (the first check was before the
	// copy): rename would replace a link rather than write through it, but
	// a link the user put there is refused, not silently replaced.
	if err = refuseLink(dir, key, base); err != nil {
		return err
	}
	return dir.Rename(tmp, base)
}

// create writes a new object exclusively: when key exists (as a file or as
// anything else), it returns an error that is fs.ErrExist. Unlike Put the
// write is not atomic: a reader can see a partial object.
func (d Dir) create(key string, b []byte) (err error) {
	dir, base, err := d.parent(key)
	if err != nil {
		return err
	}
	defer dir.Close()
	// O_EXCL never follows a link: an existing link is fs.ErrExist.
	f, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			dir.Remove(base)
		}
	}()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(FileMode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// parent opens the directory that holds key, creating the missing
// directories from Root down (mode DirMode), and returns it with key's last
// element. Each directory below Root is checked with Lstat and then opened
// and compared with what Lstat saw, so a directory swapped for a link
// between the check and the use is refused too; what is done in the
// returned directory cannot leave it. A symbolic link as the last element
// is refused as well.
func (d Dir) parent(key string) (*os.Root, string, error) {
	if err := CheckKey(key); err != nil {
		return nil, "", err
	}
	root := d.Root
	if root == "" {
		root = "."
	}
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(root, DirMode); err != nil {
			return nil, "", err
		}
		if err := os.Chmod(root, DirMode); err != nil {
			return nil, "", err
		}
	}
	dir, err := os.OpenRoot(root) // follows Root when it is a link: allowed
	if err != nil {
		return nil, "", err
	}
	elems := strings.Split(key, "/")
	for i, name := range elems[:len(elems)-1] {
		sub, err := openSubdir(dir, key, strings.Join(elems[:i+1], "/"), name)
		dir.Close()
		if err != nil {
			return nil, "", err
		}
		dir = sub
	}
	base := elems[len(elems)-1]
	if err := refuseLink(dir, key, base); err != nil {
		dir.Close()
		return nil, "", err
	}
	return dir, base, nil
}

// openSubdir opens the directory name of parent, creating it when missing;
// prefix is key's path up to it, for errors.
func openSubdir(parent *os.Root, key, prefix, name string) (*os.Root, error) {
	created := false
	fi, err := parent.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		err = parent.Mkdir(name, DirMode)
		created = err == nil
		if err != nil && !errors.Is(err, fs.ErrExist) { // ErrExist: made by a concurrent Put
			return nil, err
		}
		fi, err = parent.Lstat(name)
	}
	switch {
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, &KeyError{key, prefix + " is a symbolic link"}
	case !fi.IsDir():
		return nil, &KeyError{key, prefix + " is not a directory"}
	}
	sub, err := parent.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	self, err := sub.Open(".")
	if err == nil {
		var now fs.FileInfo
		if now, err = self.Stat(); err == nil && !os.SameFile(fi, now) {
			err = &KeyError{key, prefix + " is a symbolic link"} // swapped since the Lstat
		}
		if err == nil && created {
			err = self.Chmod(DirMode) // exactly DirMode, whatever the umask
		}
		self.Close()
	}
	if err != nil {
		sub.Close()
		return nil, err
	}
	return sub, nil
}

// refuseLink returns a *KeyError when name in dir is a symbolic link.
func refuseLink(dir *os.Root, key, name string) error {
	fi, err := dir.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return &KeyError{key, "is a symbolic link"}
	}
	return nil
}

// createTemp creates a new file of mode FileMode in dir whose name begins
// with prefix (os.CreateTemp has no os.Root form).
func createTemp(dir *os.Root, prefix string) (*os.File, string, error) {
	for range 10000 {
		name := prefix + strconv.FormatUint(rand.Uint64(), 36)
		f, err := dir.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("create a temporary file %s* in %s: %w", prefix, dir.Name(), fs.ErrExist)
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
