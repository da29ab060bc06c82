package backup

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrDrillFailed is wrapped by the error of a drill whose restore did not
// match the backup: alert on it.
var ErrDrillFailed = errors.New("restore drill failed")

// DrillOptions configure a restore drill.
type DrillOptions struct {
	// ID is the backup to restore; empty means the newest.
	ID string
	// Scratch is the directory to restore into (a new subdirectory is made
	// and removed afterwards); empty means os.TempDir().
	Scratch string
	// Check, if set, runs after a successful restore with the restored
	// directory (directory snapshots) or the restored stream file (command
	// snapshots) as its last argument, e.g. ["pg_restore", "--list"]. A
	// non-zero exit fails the drill.
	Check []string
}

// DrillReport is the outcome of a drill.
type DrillReport struct {
	Backup        string
	Created       time.Time     // when the backup was taken
	TimeToRestore time.Duration // fetch, verify, decrypt, unpack
	Files         int64         // entries checked against the file index
	Bytes         int64         // snapshot bytes restored
	Problems      []string      // differences found (at most 100 listed)
}

const maxProblems = 100

// Drill restores a backup into a scratch directory and proves it usable:
// every volume verified and decrypted, and for directory snapshots every
// entry of the restored tree compared with the backup's encrypted file
// index (type, size, mode, modification time, link target, content
// checksum), nothing missing and nothing extra. It reports the time to
// restore. A failed drill returns an error wrapping ErrDrillFailed along
// with the report.
func (r *Repository) Drill(ctx context.Context, dec Decryptor, opts DrillOptions) (DrillReport, error) {
	var rep DrillReport
	id := opts.ID
	if id == "" {
		b, err := r.Latest(ctx)
		if err != nil {
			return rep, err
		}
		id = b.ID
	}
	rep.Backup = id
	m, err := r.Manifest(ctx, id)
	if err != nil {
		return rep, err
	}
	rep.Created = m.Created
	scratch, err := os.MkdirTemp(opts.Scratch, "opskit-drill-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(scratch)
	start := r.now()
	target := filepath.Join(scratch, "restored")
	var to Stager
	dr := &DirRestorer{Path: target, Logger: r.Logger}
	if m.Source == "dir" {
		to = dr
	} else {
		to = &FileRestorer{Path: target}
	}
	st, err := r.Restore(ctx, id, dec, to)
	rep.TimeToRestore = r.now().Sub(start)
	rep.Bytes = st.PlainBytes
	if err != nil {
		return rep, fmt.Errorf("%w: %s: %w", ErrDrillFailed, id, err)
	}
	if m.Source == "dir" {
		if m.Index == nil {
			rep.Problems = append(rep.Problems, "backup has no file index")
		} else if err := r.compareIndex(ctx, m, dec, target, &rep); err != nil {
			return rep, fmt.Errorf("%w: %s: %w", ErrDrillFailed, id, err)
		}
	}
	if len(rep.Problems) == 0 && len(opts.Check) > 0 {
		h := Hook{Name: "drill check", Command: append(append([]string{}, opts.Check...), target), Timeout: time.Hour}
		if err := h.run(ctx, r.log()); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	log := r.log().With("instance", r.Instance, "backup", id, "seconds", rep.TimeToRestore.Seconds())
	if len(rep.Problems) > 0 {
		log.Error("backup: restore drill failed", "problems", len(rep.Problems))
		return rep, fmt.Errorf("%w: %s: %d problems, first: %s", ErrDrillFailed, id, len(rep.Problems), rep.Problems[0])
	}
	log.Info("backup: restore drill passed", "files", rep.Files)
	return rep, nil
}

func (rep *DrillReport) problem(format string, args ...any) {
	if len(rep.Problems) < maxProblems {
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
	}
}

// compareIndex checks the restored tree against the file index.
func (r *Repository) compareIndex(ctx context.Context, m *Manifest, dec Decryptor, dir string, rep *DrillReport) error {
	idx := &Manifest{Format: m.Format, Version: m.Version, ID: m.ID, Instance: m.Instance, Volumes: []Volume{*m.Index}}
	pr := newPlainReader(ctx, idx, dec, func(ctx context.Context, _ int) (io.ReadCloser, error) { return r.open(ctx, m.Index.Name) }, nil)
	defer pr.close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	seen := map[string]bool{}
	var prev IndexRecord
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec IndexRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("file index: %w", err)
		}
		name, err := entryName(rec.Path)
		if err != nil {
			return fmt.Errorf("file index: %w", err)
		}
		if rec.Type == "range" {
			if prev.Path != rec.Path {
				return fmt.Errorf("file index: range of %s out of place", rec.Path)
			}
			if err := checkRange(root, name, rec); err != nil {
				rep.problem("%s: %v", rec.Path, err)
			}
			continue
		}
		prev = rec
		seen[name] = true
		rep.Files++
		fi, err := root.Lstat(name)
		if err != nil {
			rep.problem("%s: missing after restore", rec.Path)
			continue
		}
		if got := typeOf(fi); got != rec.Type && !(rec.Type == "hardlink" && got == "file") {
			if !(got == "missing" && (rec.Type == "fifo" || rec.Type == "char" || rec.Type == "block")) {
				rep.problem("%s: is a %s, backup has a %s", rec.Path, got, rec.Type)
			}
			continue
		}
		switch rec.Type {
		case "file":
			if fi.Size() != rec.Size {
				rep.problem("%s: %d bytes, backup has %d", rec.Path, fi.Size(), rec.Size)
			}
			fallthrough
		case "dir":
			want := fs.FileMode(rec.Mode) & fs.ModePerm
			if fi.Mode().Perm() != want {
				rep.problem("%s: mode %o, backup has %o", rec.Path, fi.Mode().Perm(), want)
			}
			if fi.ModTime().UnixNano() != rec.ModTime {
				rep.problem("%s: modified %s, backup has %s", rec.Path, fi.ModTime().UTC(), time.Unix(0, rec.ModTime).UTC())
			}
		case "symlink":
			if l, err := root.Readlink(name); err != nil || l != rec.Link {
				rep.problem("%s: links to %q, backup has %q", rec.Path, l, rec.Link)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("file index: %w", err)
	}
	if err := pr.complete(); err != nil {
		return fmt.Errorf("file index: %w", err)
	}
	// Nothing extra.
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !seen[p] {
			rep.problem("%s: restored but not in the backup's index", p)
		}
		return nil
	})
}

func typeOf(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "missing"
}

func checkRange(root *os.Root, name string, rec IndexRecord) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, io.NewSectionReader(f, rec.Offset, rec.Size))
	if err != nil {
		return err
	}
	if n != rec.Size || hex.EncodeToString(h.Sum(nil)) != rec.Hash {
		return fmt.Errorf("content of bytes %d-%d differs from the backup", rec.Offset, rec.Offset+rec.Size)
	}
	return nil
}

// FileRestorer writes a restored stream (a command snapshot such as a
// database dump) to a new file. It is a Stager: the file appears under Path
// only once the whole backup has been verified.
type FileRestorer struct {
	Path string
	tmp  string
}

var _ Stager = (*FileRestorer)(nil)

// Restore writes r to a temporary file beside Path.
func (f *FileRestorer) Restore(ctx context.Context, r io.Reader) error {
	if _, err := os.Lstat(f.Path); err == nil {
		return fmt.Errorf("%w: %s exists", ErrTargetNotEmpty, f.Path)
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return err
	}
	out, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".restore-")
	if err != nil {
		return err
	}
	f.tmp = out.Name()
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Commit moves the file into place.
func (f *FileRestorer) Commit() error { return os.Rename(f.tmp, f.Path) }

// Discard removes the temporary file.
func (f *FileRestorer) Discard() error {
	if f.tmp == "" {
		return nil
	}
	return os.Remove(f.tmp)
}
