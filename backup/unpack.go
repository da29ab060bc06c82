package backup

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Restorer consumes a restored snapshot stream: unpacks a tar into a
// directory ([DirRestorer]) or feeds a program such as pg_restore
// ([CommandRestorer]).
type Restorer interface {
	Restore(ctx context.Context, r io.Reader) error
}

// Stager is a Restorer that writes into a staging place first. The
// repository calls Commit once every byte of the backup has been verified
// (hashes and OpenPGP integrity checks, which can only complete at the end
// of each volume), or Discard on any error, so a restore target never holds
// unverified or half-restored data. A Restorer that is not a Stager gets
// its input only after a full verification pass over a local copy.
type Stager interface {
	Restorer
	Commit() error
	Discard() error
}

// ErrUnsafeArchive is returned (wrapped) for a tar entry that would escape
// the restore target or is otherwise refused: absolute paths, "..",
// writes through symbolic links, links leaving the tree, oversized headers.
var ErrUnsafeArchive = errors.New("unsafe archive entry")

// ErrTargetNotEmpty is returned when a restore target exists and is not an
// empty directory.
var ErrTargetNotEmpty = errors.New("restore target exists and is not empty")

// DirRestorer unpacks a tar stream into a directory that must not exist or
// be empty. It unpacks into a hidden sibling directory and renames it into
// place on Commit, so the target appears complete or not at all. Paths are
// confined to the target with os.Root: no entry can write outside it, also
// not through a symbolic link from the archive.
type DirRestorer struct {
	Path string
	// Owners restores numeric owners and groups (only possible as root);
	// otherwise files belong to the restoring user and set-id bits are cleared.
	Owners bool
	// Logger receives warnings (skipped device nodes). Nil: slog.Default().
	Logger *slog.Logger

	staging string
	stats   UnpackStats
}

// UnpackStats counts what a DirRestorer restored.
type UnpackStats struct {
	Files, Dirs, Links int64
	Bytes              int64
	Skipped            int64 // device nodes, FIFOs and other special files not restored
}

var _ Stager = (*DirRestorer)(nil)

// Stats returns what was unpacked.
func (d *DirRestorer) Stats() UnpackStats { return d.stats }

// Restore unpacks r into the staging directory.
func (d *DirRestorer) Restore(ctx context.Context, r io.Reader) error {
	target, err := filepath.Abs(d.Path)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(target); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is not a directory", ErrTargetNotEmpty, target)
		}
		ents, err := os.ReadDir(target)
		if err != nil {
			return err
		}
		if len(ents) > 0 {
			return fmt.Errorf("%w: %s", ErrTargetNotEmpty, target)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	var b [6]byte
	rand.Read(b[:])
	d.staging = filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".restore-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(d.staging, 0o700); err != nil {
		return fmt.Errorf("create staging directory: %w", err)
	}
	root, err := os.OpenRoot(d.staging)
	if err != nil {
		return err
	}
	defer root.Close()
	u := unpacker{root: root, owners: d.Owners && os.Geteuid() == 0, log: logger(d.Logger)}
	err = u.unpack(ctx, r)
	d.stats = u.stats
	return err
}

// Commit moves the unpacked tree into place.
func (d *DirRestorer) Commit() error {
	if d.staging == "" {
		return errors.New("restore: nothing to commit")
	}
	target, err := filepath.Abs(d.Path)
	if err != nil {
		return err
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %v", ErrTargetNotEmpty, err)
	}
	if err := os.Rename(d.staging, target); err != nil {
		return fmt.Errorf("move restored tree into place: %w", err)
	}
	d.staging = ""
	return nil
}

// Discard removes the staging directory.
func (d *DirRestorer) Discard() error {
	if d.staging == "" {
		return nil
	}
	err := os.RemoveAll(d.staging)
	d.staging = ""
	return err
}

// Unpack extracts a tar stream into dir (which must exist) with the same
// confinement as DirRestorer, but in place and without staging.
func Unpack(ctx context.Context, r io.Reader, dir string) (UnpackStats, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return UnpackStats{}, err
	}
	defer root.Close()
	u := unpacker{root: root, owners: os.Geteuid() == 0, log: slog.Default()}
	err = u.unpack(ctx, r)
	return u.stats, err
}

const (
	maxNameLen    = 4096
	maxHeaderSize = 1 << 20 // PAX records larger than this are refused by archive/tar too
)

type unpacker struct {
	root   *os.Root
	owners bool
	log    *slog.Logger
	stats  UnpackStats
	dirs   []dirMeta
	// roots caches handles of directories files are written into, so that
	// a file costs one openat instead of one per path element.
	roots map[string]*os.Root
}

const maxCachedDirs = 256

// dirRoot returns a confined handle of dir (created if missing).
func (u *unpacker) dirRoot(dir string) (*os.Root, error) {
	if dir == "." {
		return u.root, nil
	}
	if r, ok := u.roots[dir]; ok {
		return r, nil
	}
	if err := u.root.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	r, err := u.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	if u.roots == nil || len(u.roots) >= maxCachedDirs {
		u.closeRoots()
		u.roots = map[string]*os.Root{}
	}
	u.roots[dir] = r
	return r, nil
}

func (u *unpacker) closeRoots() {
	for _, r := range u.roots {
		r.Close()
	}
	u.roots = nil
}

type dirMeta struct {
	name  string
	mode  fs.FileMode
	mtime time.Time
	uid   int
	gid   int
}

// entryName validates and cleans a tar entry name; "." is the root itself.
func entryName(name string) (string, error) {
	if len(name) > maxNameLen {
		return "", fmt.Errorf("%w: name of %d bytes", ErrUnsafeArchive, len(name))
	}
	if strings.ContainsRune(name, 0) || strings.Contains(name, "\\") {
		return "", fmt.Errorf("%w: %q", ErrUnsafeArchive, name)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute path %q", ErrUnsafeArchive, name)
	}
	clean := path.Clean(name)
	if clean == "." {
		return ".", nil
	}
	if !filepath.IsLocal(clean) {
		return "", fmt.Errorf("%w: path %q leaves the target", ErrUnsafeArchive, name)
	}
	return clean, nil
}

func (u *unpacker) unpack(ctx context.Context, r io.Reader) error {
	defer u.closeRoots()
	tr := tar.NewReader(r)
	buf := getBuf()
	defer putBuf(buf)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if err := u.entry(tr, hdr, name, *buf); err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
	}
	// Directory times and modes last, deepest first, so writing their
	// contents does not change them.
	sort.Slice(u.dirs, func(i, j int) bool { return u.dirs[i].name > u.dirs[j].name })
	for _, d := range u.dirs {
		if u.owners {
			if err := u.root.Lchown(d.name, d.uid, d.gid); err != nil {
				return err
			}
		}
		if err := u.root.Chmod(d.name, d.mode); err != nil {
			return err
		}
		if err := u.root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) mode(hdr *tar.Header) fs.FileMode {
	m := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if !u.owners {
		m &^= fs.ModeSetuid | fs.ModeSetgid
	}
	return m
}

// clear removes a non-directory already at name (later entries replace
// earlier ones, as with tar), so nothing is written through a symlink.
func (u *unpacker) clear(name string) error { return clearIn(u.root, name) }

func clearIn(root *os.Root, name string) error {
	fi, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: a directory is in the way", ErrUnsafeArchive)
	}
	return root.Remove(name)
}

func (u *unpacker) parent(name string) error {
	if dir := path.Dir(name); dir != "." {
		return u.root.MkdirAll(dir, 0o700)
	}
	return nil
}

func (u *unpacker) entry(tr *tar.Reader, hdr *tar.Header, name string, buf []byte) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		if name != "." {
			if err := u.parent(name); err != nil {
				return err
			}
			if err := u.root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if fi, err := u.root.Lstat(name); err != nil || !fi.IsDir() {
				return fmt.Errorf("%w: not a directory", ErrUnsafeArchive)
			}
		}
		u.dirs = append(u.dirs, dirMeta{name: name, mode: u.mode(hdr), mtime: hdr.ModTime, uid: hdr.Uid, gid: hdr.Gid})
		u.stats.Dirs++
		return nil
	case tar.TypeReg, '\x00': // '\x00' is the pre-POSIX regular file type
		if hdr.Size < 0 {
			return fmt.Errorf("%w: negative size", ErrUnsafeArchive)
		}
		dir, err := u.dirRoot(path.Dir(name))
		if err != nil {
			return err
		}
		base := path.Base(name)
		f, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			// A later entry replaces an earlier one, as with tar; O_EXCL
			// means nothing is ever written through a symbolic link.
			if err := clearIn(dir, base); err != nil {
				return err
			}
			f, err = dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		}
		if err != nil {
			return err
		}
		n, err := io.CopyBuffer(f, tr, buf)
		u.stats.Bytes += n
		if err == nil && u.owners {
			err = f.Chown(hdr.Uid, hdr.Gid)
		}
		if err == nil {
			err = f.Chmod(u.mode(hdr))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		u.stats.Files++
		return dir.Chtimes(base, hdr.ModTime, hdr.ModTime)
	case tar.TypeSymlink:
		if hdr.Linkname == "" || len(hdr.Linkname) > maxNameLen || strings.ContainsRune(hdr.Linkname, 0) {
			return fmt.Errorf("%w: symlink target %q", ErrUnsafeArchive, hdr.Linkname)
		}
		if err := u.parent(name); err != nil {
			return err
		}
		if err := u.clear(name); err != nil {
			return err
		}
		// The link itself may point anywhere (it is data); os.Root refuses
		// to follow it out of the tree when later entries are written.
		if err := u.root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
		if u.owners {
			if err := u.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
				return err
			}
		}
		u.stats.Links++
		return nil
	case tar.TypeLink:
		old, err := entryName(hdr.Linkname)
		if err != nil || old == "." {
			return fmt.Errorf("%w: hard link to %q", ErrUnsafeArchive, hdr.Linkname)
		}
		fi, err := u.root.Lstat(old)
		if err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: hard link to %q, which is not a file restored before it", ErrUnsafeArchive, hdr.Linkname)
		}
		if err := u.parent(name); err != nil {
			return err
		}
		if err := u.clear(name); err != nil {
			return err
		}
		if err := u.root.Link(old, name); err != nil {
			return err
		}
		u.stats.Links++
		return nil
	case tar.TypeXGlobalHeader:
		return nil
	}
	u.stats.Skipped++
	u.log.Warn("restore: skipping special file", "type", string(hdr.Typeflag))
	return nil
}
