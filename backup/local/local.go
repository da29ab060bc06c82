package local

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
	"strings"
	"syscall"

	"github.com/opskit/opskit/backup"
)

// Transport stores objects as files below a directory. It is safe for
// concurrent use, except that concurrent Puts of the same name race (the
// last rename wins; each object is still complete).
type Transport struct {
	dir string
}

var _ backup.Transport = (*Transport)(nil)

// New returns a Transport over dir, which must exist and be a directory.
// It is not created: a volume that is not mounted must fail, not fill the
// root file system.
func New(dir string) (*Transport, error) {
	if dir == "" {
		return nil, errors.New("local: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("local: backup directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("local: backup directory %s is not a directory", abs)
	}
	return &Transport{dir: abs}, nil
}

// Dir returns the absolute path of the directory the Transport stores in.
func (t *Transport) Dir() string { return t.dir }

// openRoot opens the directory for one operation, so that a volume mounted
// or remounted after New is used.
func (t *Transport) openRoot() (*os.Root, error) {
	r, err := os.OpenRoot(t.dir)
	if err != nil {
		return nil, fmt.Errorf("local: backup directory: %w", err)
	}
	return r, nil
}

// Put writes r to a reserved temporary file in name's directory, syncs it,
// renames it to name and syncs the directory.
func (t *Transport) Put(ctx context.Context, name string, r io.Reader) (err error) {
	if err := backup.ValidName(name); err != nil {
		return fmt.Errorf("local: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: put %s: %w", name, err)
	}
	root, err := t.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	dir := path.Dir(name)
	if err := mkdirs(root, dir); err != nil {
		return fmt.Errorf("local: put %s: %w", name, err)
	}
	tmp := path.Join(dir, fmt.Sprintf(".%s.%016x.tmp", path.Base(name), rand.Uint64()))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("local: put %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}()
	buf := make([]byte, 1<<20)
	if _, err := io.CopyBuffer(writerOnly{f}, ctxReader{ctx, r}, buf); err != nil {
		return fmt.Errorf("local: put %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("local: put %s: sync: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("local: put %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: put %s: %w", name, err)
	}
	if err := root.Rename(tmp, name); err != nil {
		if fi, serr := root.Lstat(name); serr == nil && fi.IsDir() {
			return fmt.Errorf("local: put %s: is a directory of other objects: %w", name, err)
		}
		return fmt.Errorf("local: put %s: %w", name, err)
	}
	if err := syncDir(root, dir); err != nil {
		return fmt.Errorf("local: put %s: %w", name, err)
	}
	return nil
}

// mkdirs creates dir and its parents (mode 0700) and syncs the parent of
// every directory it creates.
func mkdirs(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	var created []string
	els := strings.Split(dir, "/")
	for i := range els {
		p := strings.Join(els[:i+1], "/")
		err := root.Mkdir(p, 0o700)
		switch {
		case err == nil:
			created = append(created, path.Dir(p))
		case errors.Is(err, fs.ErrExist):
			fi, serr := root.Stat(p)
			if serr != nil {
				return serr
			}
			if !fi.IsDir() {
				return fmt.Errorf("%q is an object, not a directory", p)
			}
		default:
			return err
		}
	}
	for _, d := range created {
		if err := syncDir(root, d); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Open opens the named file. Reads fail once ctx is done.
func (t *Transport) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := backup.ValidName(name); err != nil {
		return nil, fmt.Errorf("local: open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: open %s: %w", name, err)
	}
	root, err := t.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("local: open %s: %w", name, notExist(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("local: open %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("local: open %s: not a regular file: %w", name, fs.ErrNotExist)
	}
	return &reader{ctxReader{ctx, f}, f}, nil
}

// List walks the directories that can hold names with the prefix.
func (t *Transport) List(ctx context.Context, prefix string) ([]backup.Object, error) {
	if err := backup.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: list %q: %w", prefix, err)
	}
	root, err := t.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	start := path.Dir(prefix + "x") // "a/b" → "a", "a/b/" → "a/b", "" → "."
	objs := []backup.Object{}
	err = fs.WalkDir(root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(p, prefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while listing
		}
		if err != nil {
			return err
		}
		objs = append(objs, backup.Object{Name: p, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local: list %q: %w", prefix, err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs, nil
}

// Delete removes the named file and syncs its directory. Directories are
// left in place.
func (t *Transport) Delete(ctx context.Context, name string) error {
	if err := backup.ValidName(name); err != nil {
		return fmt.Errorf("local: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: delete %s: %w", name, err)
	}
	root, err := t.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Lstat(name)
	if err != nil {
		return fmt.Errorf("local: delete %s: %w", name, notExist(err))
	}
	if fi.IsDir() {
		return fmt.Errorf("local: delete %s: a directory, not an object: %w", name, fs.ErrNotExist)
	}
	if err := root.Remove(name); err != nil {
		return fmt.Errorf("local: delete %s: %w", name, notExist(err))
	}
	if err := syncDir(root, path.Dir(name)); err != nil {
		return fmt.Errorf("local: delete %s: %w", name, err)
	}
	return nil
}

// notExist makes "a parent is a file" (ENOTDIR) match fs.ErrNotExist too.
func notExist(err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w (%w)", fs.ErrNotExist, err)
	}
	return err
}

type reader struct {
	ctxReader
	io.Closer
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

// writerOnly hides *os.File's ReadFrom so that io.CopyBuffer uses our
// buffer.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }
