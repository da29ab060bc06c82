package rsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opskit/opskit/backup"
)

// Config says where and how to run rsync. Address, User, KeyFile,
// KnownHostsFile and Root are required.
type Config struct {
	// Address is host:port of the SSH server; ":22" is added when the port
	// is missing.
	Address string
	// User is the login name on the server.
	User string
	// KeyFile is the private key ssh uses (-i; IdentitiesOnly). It must be
	// mode 0600, as ssh itself demands.
	KeyFile string
	// KnownHostsFile lists the server's trusted host keys; ssh runs with
	// StrictHostKeyChecking=yes against it alone, so an unknown or changed
	// key fails with ErrHostKey.
	KnownHostsFile string
	// Root is the directory on the server that holds the objects, absolute
	// or relative to the login directory.
	Root string

	// RsyncPath and SSHPath are the local binaries. Default: "rsync" and
	// "ssh" from PATH.
	RsyncPath, SSHPath string
	// RemoteRsync is the rsync command on the server (--rsync-path).
	// Default: the server's "rsync".
	RemoteRsync string
	// SpoolDir holds the local copies Put and Open make (files mode 0600,
	// removed afterwards). Default: os.TempDir().
	SpoolDir string

	// ConnectTimeout bounds connecting (ssh ConnectTimeout). Default 30s.
	ConnectTimeout time.Duration
	// IOTimeout is rsync's --timeout: a transfer silent for longer fails.
	// Default 2m.
	IOTimeout time.Duration
	// KeepAliveInterval is ssh's ServerAliveInterval. Default 15s.
	KeepAliveInterval time.Duration
	// Retry is the policy for transient failures (connection refused or
	// lost, timeouts: rsync exit codes 10, 12, 30, 35 and ssh's 255 other
	// than host key and authentication failures).
	Retry RetryPolicy

	// DisableMultiplex turns off connection sharing. By default the first
	// operation's ssh becomes a master connection (ControlMaster, socket in
	// a private 0700 directory) that later operations reuse for
	// ControlPersist (60s) after their last use, which saves a handshake
	// (a few hundred milliseconds) per operation; Close ends it.
	DisableMultiplex bool

	// Logger receives retry warnings. Nil means slog.Default().
	Logger *slog.Logger
}

// RetryPolicy says how transient failures are retried: after a delay that
// starts at MinDelay, doubles per attempt up to MaxDelay, and is jittered.
// Context errors and permanent errors are never retried.
type RetryPolicy struct {
	Attempts int           // total attempts; default 3, 1 disables retries
	MinDelay time.Duration // default 1s
	MaxDelay time.Duration // default 30s
}

// Transport runs rsync over ssh for each operation. It is safe for
// concurrent use.
type Transport struct {
	cfg     Config
	host    string // for the remote spec, bracketed if IPv6
	port    string
	sshArgs []string // ssh options, unquoted
	sshCmd  string   // the -e argument: ssh and sshArgs, quoted for rsync
	ctlDir  string   // holds the ControlMaster socket; "" without multiplexing
	log     *slog.Logger
}

var _ backup.Transport = (*Transport)(nil)

// Errors callers may branch on (wrapped).
var (
	// ErrHostKey: ssh refused the server's host key (unknown or changed).
	ErrHostKey = errors.New("ssh host key verification failed")
	// ErrAuth: the server refused the client key.
	ErrAuth = errors.New("ssh authentication failed")
)

// ExitError is an rsync or ssh failure: the exit code, rsync's meaning of
// it, and the last lines of stderr.
type ExitError struct {
	Code    int
	Meaning string
	Stderr  string
	err     error // a sentinel, if any
}

// Error describes the failure.
func (e *ExitError) Error() string {
	return fmt.Sprintf("rsync exit %d (%s): %s", e.Code, e.Meaning, e.Stderr)
}

// Unwrap returns ErrHostKey, ErrAuth or fs.ErrNotExist where they apply.
func (e *ExitError) Unwrap() error { return e.err }

// Transient reports whether retrying may succeed.
func (e *ExitError) Transient() bool {
	if e.err != nil {
		return false
	}
	switch e.Code {
	case 10, 12, 30, 35, 255:
		return true
	}
	return false
}

var exitMeanings = map[int]string{
	1: "syntax or usage error", 2: "protocol incompatibility", 3: "errors selecting input/output files, dirs",
	4: "requested action not supported", 5: "error starting client-server protocol",
	6: "daemon unable to append to log-file", 10: "error in socket I/O", 11: "error in file I/O",
	12: "error in rsync protocol data stream (connection lost?)", 13: "errors with program diagnostics",
	14: "error in IPC code", 20: "received SIGUSR1 or SIGINT", 21: "some error returned by waitpid()",
	22: "error allocating core memory buffers", 23: "partial transfer due to error",
	24: "partial transfer due to vanished source files", 25: "the --max-delete limit stopped deletions",
	30: "timeout in data send/receive", 35: "timeout waiting for daemon connection",
	127: "rsync not found on the server?", 255: "ssh failed: unreachable server, host key or authentication",
}

// New validates cfg and returns a Transport. It does not connect.
func New(cfg Config) (*Transport, error) {
	var problems []string
	if cfg.Address == "" {
		problems = append(problems, "Address is empty")
	} else if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		cfg.Address = net.JoinHostPort(cfg.Address, "22")
	}
	host, port, err := net.SplitHostPort(cfg.Address)
	if cfg.Address != "" && err != nil {
		problems = append(problems, fmt.Sprintf("Address: %v", err))
	}
	if cfg.User == "" || strings.ContainsAny(cfg.User, " '\"@:") || strings.HasPrefix(cfg.User, "-") {
		problems = append(problems, fmt.Sprintf("User %q is empty or has characters not allowed here", cfg.User))
	}
	if strings.HasPrefix(host, "-") {
		problems = append(problems, "Address starts with '-'")
	}
	for what, f := range map[string]string{"KeyFile": cfg.KeyFile, "KnownHostsFile": cfg.KnownHostsFile} {
		if f == "" {
			problems = append(problems, what+" is empty")
			continue
		}
		if strings.ContainsAny(f, "'\n") {
			problems = append(problems, what+" contains a quote or newline")
		}
		if _, err := os.Stat(f); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", what, err))
		}
	}
	if cfg.Root == "" {
		problems = append(problems, "Root is empty")
	}
	if cfg.RsyncPath == "" {
		cfg.RsyncPath = "rsync"
	}
	if cfg.SSHPath == "" {
		cfg.SSHPath = "ssh"
	}
	if strings.ContainsAny(cfg.SSHPath, "'\" \n") {
		problems = append(problems, "SSHPath contains a space or quote")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.ConnectTimeout, 30*time.Second)
	def(&cfg.IOTimeout, 2*time.Minute)
	def(&cfg.KeepAliveInterval, 15*time.Second)
	def(&cfg.Retry.MinDelay, time.Second)
	def(&cfg.Retry.MaxDelay, 30*time.Second)
	if cfg.Retry.Attempts == 0 {
		cfg.Retry.Attempts = 3
	}
	if cfg.ConnectTimeout < time.Second || cfg.IOTimeout < time.Second || cfg.KeepAliveInterval < time.Second ||
		cfg.Retry.Attempts < 1 || cfg.Retry.MinDelay < 0 || cfg.Retry.MaxDelay < 0 {
		problems = append(problems, "timeouts must be at least 1s (ssh and rsync count in seconds), Retry.Attempts positive")
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = os.TempDir()
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("rsync: config: %s", strings.Join(problems, "; "))
	}
	t := &Transport{cfg: cfg, host: host, port: port, log: cfg.Logger}
	if strings.Contains(host, ":") {
		t.host = "[" + host + "]"
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	secs := func(d time.Duration) string { return strconv.Itoa(int((d + time.Second - 1) / time.Second)) }
	t.sshArgs = []string{"-F", "none",
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + cfg.KnownHostsFile, "-o", "GlobalKnownHostsFile=none",
		"-o", "IdentitiesOnly=yes", "-i", cfg.KeyFile,
		"-o", "ConnectTimeout=" + secs(cfg.ConnectTimeout),
		"-o", "ServerAliveInterval=" + secs(cfg.KeepAliveInterval), "-o", "ServerAliveCountMax=4",
		"-p", port, "-l", cfg.User}
	if !cfg.DisableMultiplex {
		// A short path: unix socket names are limited to 108 bytes.
		base := os.TempDir()
		if len(base) > 40 {
			base = "/tmp"
		}
		dir, err := os.MkdirTemp(base, "opskit-ssh-")
		if err != nil {
			return nil, fmt.Errorf("rsync: control socket directory: %w", err)
		}
		t.ctlDir = dir
		t.sshArgs = append(t.sshArgs, "-o", "ControlMaster=auto", "-o", "ControlPath="+dir+"/%C", "-o", "ControlPersist=60")
	}
	// rsync splits -e on spaces and honours single quotes.
	quoted := []string{cfg.SSHPath}
	for _, a := range t.sshArgs {
		if strings.ContainsAny(a, " \t\"") {
			a = "'" + a + "'"
		}
		quoted = append(quoted, a)
	}
	t.sshCmd = strings.Join(quoted, " ")
	return t, nil
}

// Close ends the shared ssh connection, if any, and removes its socket
// directory. Do not use the Transport after Close.
func (t *Transport) Close() error {
	if t.ctlDir == "" {
		return nil
	}
	host := strings.Trim(t.host, "[]")
	cmd := exec.Command(t.cfg.SSHPath, append(append([]string{}, t.sshArgs...), "-O", "exit", host)...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Run() // fails when no master runs: nothing to do
	return os.RemoveAll(t.ctlDir)
}

// remote is the rsync spec of a path below Root.
func (t *Transport) remote(rel string) string {
	p := t.cfg.Root
	if rel != "" && rel != "." {
		p = strings.TrimSuffix(p, "/") + "/" + rel
	}
	return t.host + ":" + p
}

// run runs rsync with args (after the common ones) and returns stdout.
func (t *Transport) run(ctx context.Context, args ...string) ([]byte, error) {
	all := []string{"-s", "-e", t.sshCmd, "--timeout=" + strconv.Itoa(int(t.cfg.IOTimeout/time.Second))}
	if t.cfg.RemoteRsync != "" {
		all = append(all, "--rsync-path="+t.cfg.RemoteRsync)
	}
	all = append(all, args...)
	cmd := exec.CommandContext(ctx, t.cfg.RsyncPath, all...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &limitedBuffer{max: 64 << 10, buf: &stderr}
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("run %s: %w", t.cfg.RsyncPath, err)
	}
	return stdout.Bytes(), classify(ee.ExitCode(), stderr.String())
}

func classify(code int, stderr string) *ExitError {
	e := &ExitError{Code: code, Meaning: exitMeanings[code], Stderr: lastLines(stderr, 6)}
	if e.Meaning == "" {
		e.Meaning = "unknown"
	}
	switch {
	case strings.Contains(stderr, "Host key verification failed"),
		strings.Contains(stderr, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		e.err = ErrHostKey
	case strings.Contains(stderr, "Permission denied (publickey"):
		e.err = ErrAuth
	case code == 23 && (strings.Contains(stderr, "No such file or directory (2)") ||
		strings.Contains(stderr, "Not a directory (20)")):
		e.err = fs.ErrNotExist
	}
	return e
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// limitedBuffer keeps the last max bytes written to it, roughly.
type limitedBuffer struct {
	max int
	buf *bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.buf.Len()+len(p) > l.max {
		keep := l.buf.Bytes()[max(0, l.buf.Len()+len(p)-l.max):]
		nb := append([]byte(nil), keep...)
		l.buf.Reset()
		l.buf.Write(nb)
	}
	return l.buf.Write(p)
}

// retry runs op until it succeeds, fails permanently, or attempts run out.
func (t *Transport) retry(ctx context.Context, what string, op func(attempt int) error) error {
	delay := t.cfg.Retry.MinDelay
	for attempt := 0; ; attempt++ {
		err := op(attempt)
		var ee *ExitError
		if err == nil || ctx.Err() != nil || !errors.As(err, &ee) || !ee.Transient() || attempt+1 >= t.cfg.Retry.Attempts {
			return err
		}
		wait := delay/2 + time.Duration(rand.Int64N(int64(delay/2)+1))
		t.log.WarnContext(ctx, "rsync: retrying after a transient failure", "op", what, "server", t.cfg.Address,
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

// spoolDir makes a private local directory, removed by the returned func.
func (t *Transport) spoolDir() (string, func(), error) {
	dir, err := os.MkdirTemp(t.cfg.SpoolDir, "opskit-rsync-")
	if err != nil {
		return "", nil, fmt.Errorf("spool: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// Put spools r to a local file (mode 0600, removed afterwards; memory stays
// constant), then has rsync copy it into name's directory on the server,
// creating missing directories (--mkpath). rsync writes to a temporary
// ".<base>.XXXXXX" beside the target and renames it when complete (never
// --inplace), so the name appears only complete, and a failed transfer
// leaves the previous object. The spooled copy lets transient failures be
// retried.
func (t *Transport) Put(ctx context.Context, name string, r io.Reader) error {
	if err := backup.ValidName(name); err != nil {
		return fmt.Errorf("rsync: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rsync: put %s: %w", name, err)
	}
	dir, cleanup, err := t.spoolDir()
	if err != nil {
		return fmt.Errorf("rsync: put %s: %w", name, err)
	}
	defer cleanup()
	local := filepath.Join(dir, path.Base(name))
	if err := spool(ctx, local, r); err != nil {
		return fmt.Errorf("rsync: put %s: %w", name, err)
	}
	err = t.retry(ctx, "put", func(int) error {
		_, err := t.run(ctx, "--mkpath", "--perms", "--chmod=F600", "--times", "--whole-file",
			"--", local, t.remote(path.Dir(name))+"/")
		return err
	})
	if err != nil {
		return fmt.Errorf("rsync: put %s: %w", name, err)
	}
	return nil
}

func spool(ctx context.Context, file string, r io.Reader) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, r}, make([]byte, 1<<20))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open copies the object with rsync into a local spool file and returns a
// reader over it; the file is unlinked at once, so it vanishes when the
// reader is closed (or the process ends). rsync rather than `ssh cat`:
// it needs no shell on the server (it works with rrsync -ro forced
// commands) and checks the transfer with its whole-file checksum; the price
// is that the whole object is fetched before the first byte is returned,
// and local disk space for it.
func (t *Transport) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := backup.ValidName(name); err != nil {
		return nil, fmt.Errorf("rsync: open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("rsync: open %s: %w", name, err)
	}
	dir, cleanup, err := t.spoolDir()
	if err != nil {
		return nil, fmt.Errorf("rsync: open %s: %w", name, err)
	}
	defer cleanup()
	err = t.retry(ctx, "open", func(int) error {
		_, err := t.run(ctx, "--", t.remote(name), dir+"/")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rsync: open %s: %w", name, err)
	}
	f, err := os.Open(filepath.Join(dir, path.Base(name)))
	if errors.Is(err, fs.ErrNotExist) {
		// rsync skips a directory given without -r.
		return nil, fmt.Errorf("rsync: open %s: not a file: %w", name, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("rsync: open %s: %w", name, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("rsync: open %s: not a regular file: %w", name, fs.ErrNotExist)
	}
	return &reader{ctxReader{ctx, f}, f}, nil
}

type reader struct {
	ctxReader
	io.Closer
}

// List runs `rsync -r --list-only` on the directory that can hold names
// with prefix and keeps the regular files whose names start with it.
func (t *Transport) List(ctx context.Context, prefix string) ([]backup.Object, error) {
	if err := backup.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("rsync: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("rsync: list %q: %w", prefix, err)
	}
	start := path.Dir(prefix + "x")
	var out []byte
	err := t.retry(ctx, "list", func(int) error {
		var err error
		out, err = t.run(ctx, "-r", "--list-only", "--no-human-readable", "-8", "--", t.remote(start)+"/")
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return []backup.Object{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rsync: list %q: %w", prefix, err)
	}
	entries, err := parseListing(out, time.Local)
	if err != nil {
		return nil, fmt.Errorf("rsync: list %q: %w", prefix, err)
	}
	objs := []backup.Object{}
	for _, e := range entries {
		name := e.name
		if start != "." {
			name = start + "/" + name
		}
		if !e.regular() || !strings.HasPrefix(name, prefix) || backup.ValidName(name) != nil {
			continue // directories, links, temporary files (leading dot)
		}
		objs = append(objs, backup.Object{Name: name, Size: e.size, ModTime: e.modTime})
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs, nil
}

// Delete checks that name is a file (rsync --list-only), then removes it
// with `rsync -d --delete` from an empty directory, with filters that
// select that one file. rsync rather than `ssh rm`: no shell is needed on
// the server.
func (t *Transport) Delete(ctx context.Context, name string) error {
	if err := backup.ValidName(name); err != nil {
		return fmt.Errorf("rsync: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rsync: delete %s: %w", name, err)
	}
	var out []byte
	err := t.retry(ctx, "delete", func(int) error {
		var err error
		out, err = t.run(ctx, "--list-only", "--no-human-readable", "-8", "--", t.remote(name))
		return err
	})
	if err != nil {
		return fmt.Errorf("rsync: delete %s: %w", name, err)
	}
	entries, err := parseListing(out, time.Local)
	if err != nil {
		return fmt.Errorf("rsync: delete %s: %w", name, err)
	}
	if len(entries) != 1 || !entries[0].regular() {
		return fmt.Errorf("rsync: delete %s: not a file: %w", name, fs.ErrNotExist)
	}
	empty, cleanup, err := t.spoolDir()
	if err != nil {
		return fmt.Errorf("rsync: delete %s: %w", name, err)
	}
	defer cleanup()
	err = t.retry(ctx, "delete", func(int) error {
		_, err := t.run(ctx, "-d", "--delete", "--include=/"+filterEscape(path.Base(name)), "--exclude=*",
			"--", empty+"/", t.remote(path.Dir(name))+"/")
		return err
	})
	if err != nil {
		return fmt.Errorf("rsync: delete %s: %w", name, err)
	}
	return nil
}

// filterEscape makes a file name match itself literally in an rsync filter
// rule: a pattern with wildcards is matched with backslash escapes, and
// names cannot contain backslashes.
func filterEscape(s string) string {
	if !strings.ContainsAny(s, "*?[") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("*?[", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
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
