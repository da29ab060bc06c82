package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Dir snapshots a directory tree as a POSIX (PAX) tar stream: regular
// files, directories, symbolic links, hard links, FIFOs and device nodes,
// with permissions, owners (numeric) and modification times to the
// nanosecond. Sockets are skipped. Symbolic links are stored, never followed.
//
// Dir is also a [Splitter]: a Job cuts the stream into volumes that workers
// produce in parallel, each reading its own files, yet the volumes
// concatenated are one ordinary tar stream, so
//
//	for v in vol-*; do gpg -d "$v"; done | zstd -d | tar -x
//
// restores it without opskit.
type Dir struct {
	// Path is the directory to back up.
	Path string
	// Exclude lists patterns (path.Match syntax) of entries to leave out,
	// with their subtrees. A pattern containing "/" is matched against the
	// slash-separated path relative to Path; any other pattern against the
	// entry's base name. For example "*.tmp", "cache", "var/log/*.gz".
	Exclude []string
	// Logger receives warnings (a file that changed while it was read, a
	// skipped socket). Nil means slog.Default().
	Logger *slog.Logger
}

var _ Snapshotter = (*Dir)(nil)
var _ Splitter = (*Dir)(nil)

// Snapshot writes the whole tar stream to w.
func (d *Dir) Snapshot(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make(chan Part, 1)
	errc := make(chan error, 1)
	go func() { errc <- d.Split(ctx, 64<<20, parts) }()
	for p := range parts {
		if _, err := p.WriteTo(ctx, w); err != nil {
			cancel()
			for range parts {
			}
			<-errc
			return err
		}
	}
	return <-errc
}

// Split implements [Splitter]: it walks the tree in lexical order and sends
// parts of about size bytes of tar stream, then closes parts.
func (d *Dir) Split(ctx context.Context, size int64, parts chan<- Part) error {
	defer close(parts)
	if size < 1<<16 {
		size = 1 << 16
	}
	root, err := filepath.Abs(d.Path)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", d.Path, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("snapshot %s: not a directory", d.Path)
	}
	for _, p := range d.Exclude {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("snapshot: exclude pattern %q: %w", p, err)
		}
	}
	s := &splitter{ctx: ctx, size: size, out: parts, logger: logger(d.Logger), links: map[inode]string{}}
	err = filepath.WalkDir(root, func(abs string, de fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && d.excluded(rel) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return s.add(abs, rel, de)
	})
	if err != nil {
		return err
	}
	return s.finish()
}

func (d *Dir) excluded(rel string) bool {
	base := path.Base(rel)
	for _, p := range d.Exclude {
		target := base
		if strings.Contains(p, "/") {
			target = rel
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}

type inode struct{ dev, ino uint64 }

// splitter accumulates tar entries into parts.
type splitter struct {
	ctx    context.Context
	size   int64
	out    chan<- Part
	logger *slog.Logger
	links  map[inode]string
	cur    *dirPart
	seq    int
}

func (s *splitter) add(abs, rel string, de fs.DirEntry) error {
	info, err := de.Info()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if info.Mode()&fs.ModeSocket != 0 {
		s.logger.Warn("backup: skipping socket", "path", rel)
		return nil
	}
	var link string
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(abs); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", rel, err)
	}
	hdr.Format = tar.FormatPAX
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{} // mtime only, as tar does
	if rel == "." {
		hdr.Name = "./"
	} else {
		hdr.Name = rel
		if info.IsDir() {
			hdr.Name += "/"
		}
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && info.Mode().IsRegular() && st.Nlink > 1 {
		key := inode{uint64(st.Dev), uint64(st.Ino)}
		if first, ok := s.links[key]; ok {
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = first
			hdr.Size = 0
		} else {
			s.links[key] = hdr.Name
		}
	}
	e := dirEntry{hdr: hdr, abs: abs, first: true}
	var hb bytes.Buffer
	if err := tar.NewWriter(&hb).WriteHeader(hdr); err != nil {
		return fmt.Errorf("snapshot %s: %w", rel, err)
	}
	e.header = hb.Bytes()
	if hdr.Typeflag != tar.TypeReg {
		e.last = true
		return s.put(e, int64(len(e.header)))
	}
	// A regular file: its content may spread over several parts.
	remaining := hdr.Size
	var off int64
	for {
		room := s.room() - int64(len(e.header))
		n := min(remaining, max(room, 0))
		e.off, e.n = off, n
		e.last = n == remaining
		cost := int64(len(e.header)) + n
		if e.last {
			cost += pad(hdr.Size)
		}
		if err := s.put(e, cost); err != nil {
			return err
		}
		if e.last {
			return nil
		}
		off += n
		remaining -= n
		e = dirEntry{hdr: hdr, abs: abs}
		if err := s.flush(); err != nil {
			return err
		}
	}
}

func (s *splitter) room() int64 {
	if s.cur == nil {
		return s.size
	}
	return s.size - s.cur.size
}

func (s *splitter) put(e dirEntry, cost int64) error {
	if s.cur != nil && s.cur.size+cost > s.size && len(s.cur.entries) > 0 && (e.first && e.off == 0) {
		if err := s.flush(); err != nil {
			return err
		}
	}
	if s.cur == nil {
		s.cur = &dirPart{logger: s.logger}
	}
	s.cur.entries = append(s.cur.entries, e)
	s.cur.size += cost
	return nil
}

func (s *splitter) flush() error {
	if s.cur == nil {
		return nil
	}
	p := s.cur
	s.cur = nil
	select {
	case s.out <- p:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *splitter) finish() error {
	if s.cur == nil {
		s.cur = &dirPart{logger: s.logger}
	}
	s.cur.trailer = true
	return s.flush()
}

// castagnoli is the CRC-32C table; the index checksums restored content
// against accidents (integrity against tampering is the volumes' job:
// SHA-256 and OpenPGP MDC), and CRC-32C runs in hardware at memory speed.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func pad(size int64) int64 { return (512 - size%512) % 512 }

// dirEntry is one tar entry, or a range of a regular file's content, in a part.
type dirEntry struct {
	hdr    *tar.Header
	header []byte // encoded header blocks, when first
	abs    string
	first  bool  // the part holds the header
	off, n int64 // content range held by the part
	last   bool  // the part holds the end of the content and its padding
}

// dirPart is a Part of a directory snapshot.
type dirPart struct {
	entries []dirEntry
	size    int64
	trailer bool
	logger  *slog.Logger
}

var zeros [1024]byte

func (p *dirPart) WriteTo(ctx context.Context, w io.Writer) (PartInfo, error) {
	var info PartInfo
	cw := &countWriter{w: w}
	for _, e := range p.entries {
		if err := ctx.Err(); err != nil {
			return info, err
		}
		if e.first {
			if _, err := cw.Write(e.header); err != nil {
				return info, err
			}
			info.Files++
			info.Index = append(info.Index, IndexRecord{Path: e.hdr.Name, Type: typeName(e.hdr.Typeflag), Size: e.hdr.Size,
				Mode: e.hdr.Mode, ModTime: e.hdr.ModTime.UnixNano(), Link: e.hdr.Linkname})
		}
		if e.hdr.Typeflag == tar.TypeReg && e.n > 0 {
			sum, err := p.copyRange(cw, e)
			if err != nil {
				return info, err
			}
			info.Index = append(info.Index, IndexRecord{Path: e.hdr.Name, Type: "range", Offset: e.off, Size: e.n, Hash: sum})
		}
		if e.last && e.hdr.Typeflag == tar.TypeReg {
			if _, err := cw.Write(zeros[:pad(e.hdr.Size)]); err != nil {
				return info, err
			}
		}
	}
	if p.trailer {
		if _, err := cw.Write(zeros[:1024]); err != nil {
			return info, err
		}
	}
	info.Bytes = cw.n
	return info, nil
}

// copyRange copies [off, off+n) of the file, padding with zeros if the file
// shrank since it was listed, and returns the CRC-32C of what was written.
func (p *dirPart) copyRange(w io.Writer, e dirEntry) (string, error) {
	f, err := os.Open(e.abs)
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", e.hdr.Name, err)
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	bw := getBuf()
	defer putBuf(bw)
	got, err := io.CopyBuffer(io.MultiWriter(w, h), io.NewSectionReader(f, e.off, e.n), *bw)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("snapshot %s: %w", e.hdr.Name, err)
	}
	if got < e.n {
		p.logger.Warn("backup: file shrank while it was read; padded with zeros", "path", e.hdr.Name)
		for missing := e.n - got; missing > 0; {
			k := min(missing, int64(len(zeros)))
			if _, err := io.MultiWriter(w, h).Write(zeros[:k]); err != nil {
				return "", err
			}
			missing -= k
		}
	}
	if e.last {
		if fi, err := f.Stat(); err == nil && (fi.Size() != e.hdr.Size || !fi.ModTime().Equal(e.hdr.ModTime)) {
			p.logger.Warn("backup: file changed while it was read", "path", e.hdr.Name)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeReg:
		return "file"
	case tar.TypeDir:
		return "dir"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeFifo:
		return "fifo"
	case tar.TypeChar:
		return "char"
	case tar.TypeBlock:
		return "block"
	}
	return "other"
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
