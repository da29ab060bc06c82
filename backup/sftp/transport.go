package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	pkgsftp "github.com/pkg/sftp"

	"github.com/opskit/opskit/backup"
)

// Config says where and how to connect. Address, User, KnownHostsFile,
// Root and one of KeyFile or Agent are required.
type Config struct {
	// Address is host:port of the SSH server; ":22" is added when the port
	// is missing.
	Address string
	// User is the login name on the server.
	User string
	// KeyFile is an unencrypted private key in OpenSSH or PEM format, mode
	// 0600 (a key others can read is refused). An encrypted key belongs in
	// ssh-agent.
	KeyFile string
	// Agent makes the keys of the ssh-agent at $SSH_AUTH_SOCK available too.
	Agent bool
	// KnownHostsFile lists the server's trusted host keys in OpenSSH
	// known_hosts format (hashed entries work). Mandatory: an unknown or
	// changed host key fails with ErrHostKey. Only the key types listed for
	// the server are negotiated.
	KnownHostsFile string
	// Root is the directory on the server that holds the objects, absolute
	// or relative to the login directory. It must exist.
	Root string

	// DialTimeout bounds connecting and the SSH handshake. Default 30s.
	DialTimeout time.Duration
	// IOTimeout bounds any single read or write on the connection; a link
	// that stays silent longer is declared dead and reconnected. Default
	// 2m; it must exceed KeepAliveInterval.
	IOTimeout time.Duration
	// KeepAliveInterval is how often keepalive@openssh.com is sent on an
	// open connection. Default 15s; negative disables keepalives (an idle
	// connection then dies after IOTimeout and is redialled when needed).
	KeepAliveInterval time.Duration
	// Retry is the policy for transient failures.
	Retry RetryPolicy

	// Concurrency is the number of SFTP requests in flight per transfer.
	// Default 64.
	Concurrency int
	// MaxPacket is the payload of one SFTP read or write. Default: 255 KiB
	// on OpenSSH servers (which advertise limits@openssh.com), 32 KiB, the
	// size every server must accept, elsewhere.
	MaxPacket int

	// Logger receives retry warnings. Nil means slog.Default().
	Logger *slog.Logger
}

// RetryPolicy says how transient failures (a lost connection, a refused
// or timed out dial, a handshake cut short) are retried: after a delay
// that starts at MinDelay, doubles per attempt up to MaxDelay, and is
// jittered (a random point in its upper half). Context errors and
// permanent errors (host key, authentication, permission, invalid or
// missing names) are never retried.
type RetryPolicy struct {
	// Attempts is the total number of attempts. Default 4; 1 disables
	// retries.
	Attempts int
	// MinDelay is the delay before the first retry. Default 1s.
	MinDelay time.Duration
	// MaxDelay caps the delay. Default 30s.
	MaxDelay time.Duration
}

// Transport stores objects as files below a directory on an SFTP server.
// It keeps one SSH connection, opened on first use, shared by concurrent
// calls and re-established after it is lost. It is safe for concurrent use.
type Transport struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	cur    *conn
	closed bool
}

var _ backup.Transport = (*Transport)(nil)

// ErrClosed is returned by calls on a closed Transport.
var ErrClosed = errors.New("sftp: transport closed")

// New validates cfg and returns a Transport. It does not connect.
func New(cfg Config) (*Transport, error) {
	var problems []string
	if cfg.Address == "" {
		problems = append(problems, "Address is empty")
	} else if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		cfg.Address = net.JoinHostPort(cfg.Address, "22")
		if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
			problems = append(problems, fmt.Sprintf("Address %q: %v", cfg.Address, err))
		}
	}
	if cfg.User == "" {
		problems = append(problems, "User is empty")
	}
	if cfg.KeyFile == "" && !cfg.Agent {
		problems = append(problems, "neither KeyFile nor Agent is set")
	}
	if cfg.KnownHostsFile == "" {
		problems = append(problems, "KnownHostsFile is empty (host keys are always verified)")
	} else if _, err := os.Stat(cfg.KnownHostsFile); err != nil {
		problems = append(problems, fmt.Sprintf("KnownHostsFile: %v", err))
	}
	if cfg.Root == "" {
		problems = append(problems, "Root is empty")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.DialTimeout, 30*time.Second)
	def(&cfg.IOTimeout, 2*time.Minute)
	def(&cfg.KeepAliveInterval, 15*time.Second)
	def(&cfg.Retry.MinDelay, time.Second)
	def(&cfg.Retry.MaxDelay, 30*time.Second)
	if cfg.Retry.Attempts == 0 {
		cfg.Retry.Attempts = 4
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 64
	}
	switch {
	case cfg.DialTimeout < 0 || cfg.IOTimeout < 0 || cfg.Retry.MinDelay < 0 || cfg.Retry.MaxDelay < 0:
		problems = append(problems, "negative timeout or delay")
	case cfg.KeepAliveInterval > 0 && cfg.IOTimeout <= cfg.KeepAliveInterval:
		problems = append(problems, fmt.Sprintf("IOTimeout %v must exceed KeepAliveInterval %v", cfg.IOTimeout, cfg.KeepAliveInterval))
	}
	if cfg.Retry.Attempts < 1 || cfg.Concurrency < 1 || cfg.MaxPacket < 0 {
		problems = append(problems, "Retry.Attempts, Concurrency must be positive and MaxPacket not negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("sftp: config: %s", strings.Join(problems, "; "))
	}
	cfg.Root = path.Clean(cfg.Root)
	t := &Transport{cfg: cfg, log: cfg.Logger}
	if t.log == nil {
		t.log = slog.Default()
	}
	return t, nil
}

// Close closes the connection. Calls after Close fail with ErrClosed.
func (t *Transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.cur != nil {
		t.cur.close()
		t.cur = nil
	}
	return nil
}

// conn returns the live connection, dialling one if needed.
func (t *Transport) conn(ctx context.Context) (*conn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if t.cur != nil && !t.cur.isDead() {
		return t.cur, nil
	}
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	t.cur = c
	return c, nil
}

// do runs op with retries. op reports whether a failure may be retried
// beyond the error's own class (Put cannot replay a consumed stream).
func (t *Transport) do(ctx context.Context, what string, op func(c *conn, attempt int) (retryable bool, err error)) error {
	delay := t.cfg.Retry.MinDelay
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := t.conn(ctx)
		retryable := true
		if err == nil {
			retryable, err = op(c, attempt)
			if err != nil && (transient(err) || c.isDead()) {
				// Whatever broke, do not reuse this connection.
				c.close()
				err = &transientError{err}
			}
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			if errors.Is(err, ctx.Err()) {
				return err
			}
			return fmt.Errorf("%w (after: %w)", ctx.Err(), err)
		}
		if !retryable || !transient(err) || attempt+1 >= t.cfg.Retry.Attempts {
			return err
		}
		wait := delay/2 + time.Duration(randInt63n(int64(delay/2)+1))
		t.log.WarnContext(ctx, "sftp: retrying after a transient failure", "op", what, "server", t.cfg.Address,
			"attempt", attempt+1, "delay", wait, "error", err)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (while waiting to retry after: %w)", ctx.Err(), err)
		case <-timer.C:
		}
		delay = min(2*delay, t.cfg.Retry.MaxDelay)
	}
}

// transientError marks a failure after which the connection was dropped.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// transient reports whether err is a failure of the link that a new
// connection may not have.
func transient(err error) bool {
	var perm *permanentError
	var te *transientError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &te):
		return true
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &perm), errors.Is(err, ErrClosed), errors.Is(err, backup.ErrInvalidName),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return false
	}
	var ne net.Error
	return errors.Is(err, pkgsftp.ErrSSHFxConnectionLost) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne)
}

func (t *Transport) remote(name string) string { return t.cfg.Root + "/" + name }

// tempName is the reserved name a Put of name writes to: in the same
// directory, with a leading dot (never a valid object name), the same for
// every Put of name so that an interrupted upload's leftovers are
// truncated by the next one instead of piling up.
func tempName(full string) string {
	dir, base := path.Split(full)
	return dir + "." + base + ".partial"
}

// Put uploads r to a temporary name next to name, then renames it over
// name with posix-rename@openssh.com (an atomic replace). Directories are
// created as needed (mode 0700), files get mode 0600. A failure before any
// byte of r was read, or with an r that implements io.Seeker, is retried;
// otherwise the transient error is returned and the caller makes the
// stream again.
func (t *Transport) Put(ctx context.Context, name string, r io.Reader) error {
	if err := backup.ValidName(name); err != nil {
		return fmt.Errorf("sftp: put: %w", err)
	}
	full := t.remote(name)
	tmp := tempName(full)
	seeker, _ := r.(io.Seeker)
	var start int64
	if seeker != nil {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			seeker = nil
		}
	}
	cr := &countReader{ctx: ctx, r: r}
	err := t.do(ctx, "put", func(c *conn, attempt int) (bool, error) {
		if cr.n > 0 {
			if seeker == nil {
				return false, errors.New("unreachable: replay without a seeker")
			}
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return false, fmt.Errorf("rewind input for retry: %w", err)
			}
			cr.n, cr.err = 0, nil
		}
		err := t.put(ctx, c, full, tmp, cr)
		if err != nil && cr.err != nil && errors.Is(err, cr.err) {
			// The input failed, not the link.
			return false, &permanentError{err}
		}
		return cr.n == 0 || seeker != nil, err
	})
	if err != nil {
		return fmt.Errorf("sftp: put %s: %w", name, err)
	}
	return nil
}

func (t *Transport) put(ctx context.Context, c *conn, full, tmp string, r io.Reader) (err error) {
	const flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	f, err := c.sftp.OpenFile(tmp, flags)
	if errors.Is(err, fs.ErrNotExist) {
		if err := t.mkdirs(c, path.Dir(full)); err != nil {
			return err
		}
		f, err = c.sftp.OpenFile(tmp, flags)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			if !c.isDead() {
				c.sftp.Remove(tmp)
			}
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.ReadFromWithConcurrency(r, t.cfg.Concurrency); err != nil {
		return err
	}
	// A stored object must survive a crash of the backup node: flush it to
	// stable storage before it becomes visible (OpenSSH's fsync extension).
	if _, ok := c.sftp.HasExtension("fsync@openssh.com"); ok {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return t.rename(c, tmp, full)
}

func (t *Transport) rename(c *conn, from, to string) error {
	if c.posixRename {
		err := c.sftp.PosixRename(from, to)
		if err != nil {
			if fi, serr := c.sftp.Lstat(to); serr == nil && fi.IsDir() {
				return fmt.Errorf("%s is a directory of other objects: %w", to, err)
			}
		}
		return err
	}
	// SFTPv3 rename refuses an existing target: replace in two steps (not
	// atomic; servers without posix-rename@openssh.com are rare).
	if err := c.sftp.Rename(from, to); err == nil {
		return nil
	}
	if fi, err := c.sftp.Lstat(to); err == nil && !fi.IsDir() {
		if err := c.sftp.Remove(to); err != nil {
			return err
		}
	}
	return c.sftp.Rename(from, to)
}

// mkdirs creates dir and the directories between Root and it, mode 0700.
func (t *Transport) mkdirs(c *conn, dir string) error {
	rel := strings.TrimPrefix(dir, t.cfg.Root)
	p := t.cfg.Root
	for _, el := range strings.Split(strings.Trim(rel, "/"), "/") {
		if el == "" {
			continue
		}
		p += "/" + el
		err := c.sftp.Mkdir(p)
		if err == nil {
			if err := c.sftp.Chmod(p, 0o700); err != nil {
				return err
			}
			continue
		}
		fi, serr := c.sftp.Stat(p)
		switch {
		case serr == nil && fi.IsDir():
			continue // exists, or made by a concurrent Put
		case serr == nil:
			return fmt.Errorf("%s is an object, not a directory", p)
		case errors.Is(serr, fs.ErrNotExist) && path.Dir(p) == t.cfg.Root:
			return fmt.Errorf("mkdir %s: does the root directory %s exist? %w", p, t.cfg.Root, err)
		}
		return fmt.Errorf("mkdir %s: %w", p, err)
	}
	return nil
}

// Open opens the named object. Reads fail once ctx is done; a read that
// fails because the connection was lost is continued on a new connection
// at the same offset (within the retry policy).
func (t *Transport) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := backup.ValidName(name); err != nil {
		return nil, fmt.Errorf("sftp: open: %w", err)
	}
	rd := &reader{t: t, ctx: ctx, name: name}
	if err := t.do(ctx, "open", func(c *conn, _ int) (bool, error) { return true, rd.open(c) }); err != nil {
		return nil, fmt.Errorf("sftp: open %s: %w", name, err)
	}
	return rd, nil
}

type reader struct {
	t    *Transport
	ctx  context.Context
	name string

	mu  sync.Mutex
	f   *pkgsftp.File
	off int64
}

func (rd *reader) open(c *conn) error {
	f, err := c.sftp.Open(rd.t.remote(rd.name))
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file: %w", fs.ErrNotExist)
	}
	if err == nil && rd.off > 0 {
		_, err = f.Seek(rd.off, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return err
	}
	rd.f = f
	return nil
}

// resume reopens the file at the current offset after a transient error.
func (rd *reader) resume(err error) error {
	if !transient(err) || rd.ctx.Err() != nil {
		return err
	}
	rd.f.Close()
	rerr := rd.t.do(rd.ctx, "open (resume)", func(c *conn, _ int) (bool, error) { return true, rd.open(c) })
	if rerr != nil {
		return errors.Join(err, rerr)
	}
	return nil
}

func (rd *reader) Read(p []byte) (int, error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	for {
		if err := rd.ctx.Err(); err != nil {
			return 0, err
		}
		n, err := rd.f.Read(p)
		rd.off += int64(n)
		if n > 0 || err == nil || err == io.EOF {
			return n, err
		}
		if err := rd.resume(err); err != nil {
			return 0, fmt.Errorf("sftp: read %s: %w", rd.name, err)
		}
	}
}

// WriteTo copies the object to w with concurrent requests.
func (rd *reader) WriteTo(w io.Writer) (int64, error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	var total int64
	for {
		if err := rd.ctx.Err(); err != nil {
			return total, err
		}
		cw := &ctxWriter{ctx: rd.ctx, w: w}
		n, err := rd.f.WriteTo(cw)
		// pkg/sftp's WriteTo leaves the file offset alone: track ours.
		total += cw.n
		rd.off += cw.n
		if err == nil {
			return total, nil
		}
		if cw.err != nil {
			return total, cw.err
		}
		if n != cw.n {
			return total, fmt.Errorf("sftp: read %s: wrote %d of %d bytes: %w", rd.name, cw.n, n, err)
		}
		if err := rd.resume(err); err != nil {
			return total, fmt.Errorf("sftp: read %s: %w", rd.name, err)
		}
	}
}

func (rd *reader) Close() error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if err := rd.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) && !transient(err) {
		return fmt.Errorf("sftp: close %s: %w", rd.name, err)
	}
	return nil
}

// List walks the directories that can hold names with prefix.
func (t *Transport) List(ctx context.Context, prefix string) ([]backup.Object, error) {
	if err := backup.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("sftp: %w", err)
	}
	var objs []backup.Object
	err := t.do(ctx, "list", func(c *conn, _ int) (bool, error) {
		objs = []backup.Object{}
		start := path.Dir(prefix + "x")
		dir := t.cfg.Root
		if start != "." {
			dir += "/" + start
		}
		fi, err := c.sftp.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.IsDir() {
			return true, nil
		}
		if err != nil {
			return true, err
		}
		return true, t.walk(ctx, c, dir, strings.TrimPrefix(start, "."), prefix, &objs)
	})
	if err != nil {
		return nil, fmt.Errorf("sftp: list %q: %w", prefix, err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs, nil
}

func (t *Transport) walk(ctx context.Context, c *conn, dir, rel, prefix string, objs *[]backup.Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := c.sftp.ReadDirContext(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed while listing
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // temporary files, and anything else not ours
		}
		name := e.Name()
		if rel != "" {
			name = rel + "/" + name
		}
		switch {
		case e.IsDir():
			if strings.HasPrefix(name+"/", prefix) || strings.HasPrefix(prefix, name+"/") {
				if err := t.walk(ctx, c, dir+"/"+e.Name(), name, prefix, objs); err != nil {
					return err
				}
			}
		case e.Mode().IsRegular() && strings.HasPrefix(name, prefix) && backup.ValidName(name) == nil:
			*objs = append(*objs, backup.Object{Name: name, Size: e.Size(), ModTime: e.ModTime()})
		}
	}
	return nil
}

// Delete removes the named object. Directories are left in place. When a
// retry follows a lost connection, a missing object counts as deleted
// (the lost attempt may have removed it).
func (t *Transport) Delete(ctx context.Context, name string) error {
	if err := backup.ValidName(name); err != nil {
		return fmt.Errorf("sftp: delete: %w", err)
	}
	full := t.remote(name)
	err := t.do(ctx, "delete", func(c *conn, attempt int) (bool, error) {
		fi, err := c.sftp.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) && attempt > 0 {
			return true, nil
		}
		if err != nil {
			return true, err
		}
		if fi.IsDir() {
			return true, fmt.Errorf("a directory, not an object: %w", fs.ErrNotExist)
		}
		return true, c.sftp.Remove(full)
	})
	if err != nil {
		return fmt.Errorf("sftp: delete %s: %w", name, err)
	}
	return nil
}

// countReader counts bytes read and fails once ctx is done.
type countReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
	err error // the input's own error
}

func (c *countReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// ctxWriter counts bytes written and fails once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
	n   int64
	err error
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}
