package backuptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opskit/opskit/backup"
)

// MemTransport is a [backup.Transport] that keeps objects in memory. The
// zero value is an empty store ready to use; it is safe for concurrent use.
//
// Like a file system, it refuses to store an object under a name that is a
// "directory" of other objects (Put "a" while "a/b" exists) or below an
// object (Put "a/b/c" while "a/b" exists), so code tested against it
// behaves the same on real transports.
type MemTransport struct {
	mu      sync.Mutex
	objects map[string]memObject
}

type memObject struct {
	data    []byte
	modTime time.Time
}

var _ backup.Transport = (*MemTransport)(nil)

// Put stores the content of r under name, replacing any previous object of
// that name once r is read to the end.
func (m *MemTransport) Put(ctx context.Context, name string, r io.Reader) error {
	if err := backup.ValidName(name); err != nil {
		return fmt.Errorf("memtransport: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memtransport: put %s: %w", name, err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("memtransport: put %s: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memtransport: put %s: %w", name, err)
	}
	if err := m.conflict(name); err != nil {
		return fmt.Errorf("memtransport: put %s: %w", name, err)
	}
	if m.objects == nil {
		m.objects = make(map[string]memObject)
	}
	m.objects[name] = memObject{data: buf.Bytes(), modTime: time.Now()}
	return nil
}

// conflict reports whether name is a directory of, or lies below, a stored
// object. m.mu is held.
func (m *MemTransport) conflict(name string) error {
	for i := range len(name) {
		if name[i] == '/' {
			if _, ok := m.objects[name[:i]]; ok {
				return fmt.Errorf("%q is an object, not a directory", name[:i])
			}
		}
	}
	dir := name + "/"
	for n := range m.objects {
		if strings.HasPrefix(n, dir) {
			return fmt.Errorf("%q is a directory of other objects, such as %q", name, n)
		}
	}
	return nil
}

// Open returns the content of the named object as it was when Open was
// called.
func (m *MemTransport) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := backup.ValidName(name); err != nil {
		return nil, fmt.Errorf("memtransport: open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memtransport: open %s: %w", name, err)
	}
	m.mu.Lock()
	o, ok := m.objects[name]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("memtransport: open %s: %w", name, fs.ErrNotExist)
	}
	return io.NopCloser(ctxReader{ctx, bytes.NewReader(o.data)}), nil
}

// List returns the objects whose names start with prefix, sorted by name.
func (m *MemTransport) List(ctx context.Context, prefix string) ([]backup.Object, error) {
	if err := backup.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("memtransport: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memtransport: list %q: %w", prefix, err)
	}
	m.mu.Lock()
	var objs []backup.Object
	for n, o := range m.objects {
		if strings.HasPrefix(n, prefix) {
			objs = append(objs, backup.Object{Name: n, Size: int64(len(o.data)), ModTime: o.modTime})
		}
	}
	m.mu.Unlock()
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs, nil
}

// Delete removes the named object.
func (m *MemTransport) Delete(ctx context.Context, name string) error {
	if err := backup.ValidName(name); err != nil {
		return fmt.Errorf("memtransport: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memtransport: delete %s: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[name]; !ok {
		return fmt.Errorf("memtransport: delete %s: %w", name, fs.ErrNotExist)
	}
	delete(m.objects, name)
	return nil
}

// ctxReader fails reads once ctx is done.
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
