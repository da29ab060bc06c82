package backup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Snapshotter writes a complete, consistent snapshot of something as one
// byte stream: a directory as tar ([Dir]), a database dump ([Command]
// running `pg_dump -Fc` or `mongodump --archive`).
type Snapshotter interface {
	Snapshot(ctx context.Context, w io.Writer) error
}

// Splitter is implemented by snapshotters whose stream can be cut into
// parts that are produced independently and concurrently, yet concatenate
// into the same stream Snapshot writes. A Job uses it to fill volumes on
// every core.
type Splitter interface {
	// Split sends the parts, in stream order, of about size bytes each, and
	// closes parts when done (also on error).
	Split(ctx context.Context, size int64, parts chan<- Part) error
}

// Part is a piece of a snapshot stream.
type Part interface {
	// WriteTo writes the part's bytes to w.
	WriteTo(ctx context.Context, w io.Writer) (PartInfo, error)
}

// PartInfo describes what a Part wrote.
type PartInfo struct {
	Bytes int64         // stream bytes written
	Files int64         // entries started in this part
	Index []IndexRecord // file index records, for restore drills
}

// IndexRecord is one line of a directory snapshot's file index, which is
// stored encrypted beside the volumes and lets a drill check a restored
// tree entry by entry. A regular file has one record with Type "file",
// followed by one "range" record per stretch of content with its CRC-32C.
type IndexRecord struct {
	Path    string `json:"p"`
	Type    string `json:"t"` // file, dir, symlink, hardlink, fifo, char, block, range
	Size    int64  `json:"s,omitempty"`
	Mode    int64  `json:"m,omitempty"`
	ModTime int64  `json:"mt,omitempty"` // Unix nanoseconds
	Link    string `json:"l,omitempty"`
	Offset  int64  `json:"o,omitempty"` // range records
	Hash    string `json:"h,omitempty"` // range records: CRC-32C (hex) of the range
}

// Command snapshots the standard output of a program, for example
// `pg_dump -Fc mydb` or `mongodump --archive`. It runs without a shell;
// a non-zero exit status fails the snapshot, with the end of the program's
// standard error in the message.
type Command struct {
	Path string   // program; looked up in PATH if it has no slash
	Args []string // arguments, without the program name
	Dir  string   // working directory
	Env  []string // extra environment, KEY=value
}

var _ Snapshotter = (*Command)(nil)

// Snapshot runs the command and copies its standard output to w.
func (c *Command) Snapshot(ctx context.Context, w io.Writer) error {
	if c.Path == "" {
		return errors.New("snapshot command: empty Path")
	}
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout = w
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("snapshot command %s: %w: %s", c.Path, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// streamParts cuts a Snapshotter's stream into parts of size bytes. The
// parts share one stream, so each must be written completely before the
// next starts; streamParts waits for that.
func streamParts(ctx context.Context, src Snapshotter, size int64, parts chan<- Part) error {
	defer close(parts)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := src.Snapshot(ctx, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	br := bufio.NewReaderSize(pr, 1<<20)
	for {
		p := &streamPart{r: io.LimitReader(br, size), done: make(chan struct{})}
		if _, err := br.Peek(1); err == io.EOF {
			p.r = eofReader{}
		}
		select {
		case parts <- p:
		case <-ctx.Done():
			pr.CloseWithError(ctx.Err())
			<-done
			return ctx.Err()
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			pr.CloseWithError(ctx.Err())
			<-done
			return ctx.Err()
		}
		if p.err != nil {
			pr.CloseWithError(p.err)
			<-done
			return p.err
		}
		if _, err := br.Peek(1); err != nil {
			pr.CloseWithError(err)
			if err == io.EOF {
				return <-done
			}
			if serr := <-done; serr != nil {
				return serr
			}
			return fmt.Errorf("snapshot: %w", err)
		}
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

type streamPart struct {
	r    io.Reader
	done chan struct{}
	err  error
}

func (p *streamPart) WriteTo(ctx context.Context, w io.Writer) (PartInfo, error) {
	defer close(p.done)
	buf := getBuf()
	defer putBuf(buf)
	n, err := io.CopyBuffer(w, p.r, *buf)
	if err != nil {
		p.err = err
	}
	return PartInfo{Bytes: n}, err
}

const bufSize = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }
