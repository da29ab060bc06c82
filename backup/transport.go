package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// Transport stores backup objects on a remote (or local) place with object
// store semantics. Implementations live in subpackages: local, sftp, rsync.
//
// Names are slash-separated relative paths such as
// "demo/data/20261122T010203Z-1a2b/vol-000001.pgp"; see [ValidName]. Every
// implementation must pass the conformance suite in package backuptest, and
// be safe for concurrent use (concurrent Puts of the same name excepted:
// repository locks prevent them).
type Transport interface {
	// Put stores the content of r under name. It is atomic: the name is
	// visible (to Open and List) only once the whole content has been written
	// and flushed, and an existing object of that name is replaced in one step.
	// A failed or cancelled Put leaves no object under name (a previous object
	// of that name survives); partial data lives only under a reserved
	// temporary name that the next Put of the same name starts afresh. A
	// name that is a directory of other objects, or lies below an object,
	// fails and changes nothing.
	Put(ctx context.Context, name string, r io.Reader) error
	// Open returns the content of the named object. A missing object gives an
	// error matching fs.ErrNotExist.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the complete objects whose names start with prefix, at any
	// depth, sorted by name. Temporary upload files are never listed.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes the named object. A missing object gives an error
	// matching fs.ErrNotExist.
	Delete(ctx context.Context, name string) error
}

// Object describes a stored object.
type Object struct {
	Name    string    // full name, as given to Put
	Size    int64     // bytes
	ModTime time.Time // when the transport last wrote it, as far as it knows
}

// ErrInvalidName is returned (wrapped) for a name that [ValidName] rejects.
var ErrInvalidName = errors.New("invalid object name")

// ValidName checks an object name: non-empty slash-separated elements made of
// printable characters, none of them "." or "..", none starting with "." (a
// leading dot is reserved for a transport's temporary files), no backslash, at
// most 1024 bytes. Transports call it before touching the remote so that a
// name can never escape the transport's root.
func ValidName(name string) error {
	if name == "" || len(name) > 1024 {
		return fmt.Errorf("%w: %q: empty or longer than 1024 bytes", ErrInvalidName, name)
	}
	for _, el := range strings.Split(name, "/") {
		switch {
		case el == "":
			return fmt.Errorf("%w: %q: empty path element", ErrInvalidName, name)
		case strings.HasPrefix(el, "."):
			return fmt.Errorf("%w: %q: element %q starts with a dot", ErrInvalidName, name, el)
		}
		for _, r := range el {
			if r == '\\' || r == unicode.ReplacementChar || !unicode.IsPrint(r) {
				return fmt.Errorf("%w: %q: character %q not allowed", ErrInvalidName, name, r)
			}
		}
	}
	return nil
}

// ValidPrefix checks a List prefix: empty, or a name (see [ValidName]),
// optionally ending in "/".
func ValidPrefix(prefix string) error {
	p := strings.TrimSuffix(prefix, "/")
	if p == "" && prefix == "" {
		return nil
	}
	if err := ValidName(p); err != nil {
		return fmt.Errorf("list prefix: %w", err)
	}
	return nil
}
