package rsync_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/backuptest"
	"github.com/opskit/opskit/backup/rsync"
	"github.com/opskit/opskit/internal/sshtest"
	"github.com/opskit/opskit/internal/testenv"
)

var rootSeq atomic.Int64

func newRoot(t *testing.T, srv *sshtest.Server) string {
	root := filepath.Join(srv.DataDir, fmt.Sprintf("root-%d", rootSeq.Add(1)))
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

func config(t testing.TB, srv *sshtest.Server, root string) rsync.Config {
	return rsync.Config{
		Address: srv.Addr, User: srv.User, KeyFile: srv.ClientKeyFile,
		KnownHostsFile: srv.KnownHostsFile, Root: root,
		RsyncPath: testenv.LookPath(t, "rsync"), SSHPath: testenv.LookPath(t, "ssh"),
		SpoolDir: t.TempDir(),
		Retry:    rsync.RetryPolicy{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond},
	}
}

func newTransport(t *testing.T, cfg rsync.Config) *rsync.Transport {
	t.Helper()
	tr, err := rsync.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestConformance(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	backuptest.TestTransport(t, func(t *testing.T) backup.Transport {
		cfg := config(t, srv, newRoot(t, srv))
		t.Cleanup(func() {
			// Spooled copies never outlive an operation.
			if left, _ := os.ReadDir(cfg.SpoolDir); len(left) != 0 {
				t.Errorf("spool directory holds %v", left)
			}
		})
		return newTransport(t, cfg)
	})
}

func TestHostKeys(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{Trust: []string{sshtest.Ed25519}})
	root := newRoot(t, srv)
	if err := newTransport(t, config(t, srv, root)).Put(context.Background(), "ok", strings.NewReader("x")); err != nil {
		t.Fatalf("only the ed25519 key trusted: %v", err)
	}
	foreign, _ := ssh.NewSignerFromSigner(sshtest.NewKey(t, sshtest.Ed25519))
	cfg := config(t, srv, root)
	cfg.KnownHostsFile = srv.WriteKnownHosts(t, "kh_foreign", foreign.PublicKey())
	cfg.Retry.Attempts = 5
	err := newTransport(t, cfg).Put(context.Background(), "x", strings.NewReader("secret"))
	if !errors.Is(err, rsync.ErrHostKey) {
		t.Fatalf("Put with a foreign host key = %v, want ErrHostKey", err)
	}
	// ssh exits 255; rsync passes that on, or reports 12 (connection
	// lost) when it notices the dead pipe first: both are host key
	// failures by ssh's message, and neither is retried.
	var ee *rsync.ExitError
	if !errors.As(err, &ee) || (ee.Code != 255 && ee.Code != 12) || ee.Transient() {
		t.Fatalf("error %v is not a permanent ExitError with code 255 or 12", err)
	}
	t.Log(err)
	if _, err := os.Stat(filepath.Join(root, "x")); err == nil {
		t.Fatal("data reached a server with an untrusted host key")
	}
}

func TestAuthFailure(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	cfg := config(t, srv, newRoot(t, srv))
	other := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	cfg.KeyFile = other.ClientKeyFile
	cfg.Retry = rsync.RetryPolicy{Attempts: 50, MinDelay: time.Hour}
	if _, err := newTransport(t, cfg).List(context.Background(), ""); !errors.Is(err, rsync.ErrAuth) {
		t.Fatalf("List with an unauthorised key = %v, want ErrAuth (and no retry)", err)
	}
}

func TestCutMidUpload(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	p := sshtest.NewProxy(t, srv.Addr)
	root := newRoot(t, srv)
	cfg := config(t, srv, root)
	cfg.Address = p.Addr
	cfg.KnownHostsFile = sshtest.WriteKnownHosts(t, filepath.Join(t.TempDir(), "kh"), p.Addr, srv.HostKeys[sshtest.Ed25519])
	cfg.Retry.Attempts = 1
	tr := newTransport(t, cfg)
	ctx := context.Background()
	if err := tr.Put(ctx, "v/obj", strings.NewReader("previous")); err != nil {
		t.Fatal(err)
	}
	p.CutAfter(1 << 20)
	big := strings.Repeat("0123456789abcdef", 1<<20)
	err := tr.Put(ctx, "v/obj", strings.NewReader(big))
	var ee *rsync.ExitError
	if !errors.As(err, &ee) || !ee.Transient() {
		t.Fatalf("Put through a cut connection = %v, want a transient ExitError", err)
	}
	t.Log(err)
	objs, err := tr.List(ctx, "")
	if err != nil || len(objs) != 1 || objs[0].Size != int64(len("previous")) {
		t.Fatalf("after the cut: %+v, %v", objs, err)
	}
	// With retries, a cut is survived.
	cfg.Retry.Attempts = 3
	tr = newTransport(t, cfg)
	p.CutAfter(1 << 20)
	if err := tr.Put(ctx, "v/obj", strings.NewReader(big)); err != nil {
		t.Fatalf("Put with retries across a cut: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "v/obj")); string(b) != big {
		t.Fatalf("content after retried Put: %d bytes", len(b))
	}
}

func TestNewValidatesConfig(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	good := config(t, srv, "/backups")
	if _, err := rsync.New(good); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*rsync.Config){
		"no address":        func(c *rsync.Config) { c.Address = "" },
		"dash host":         func(c *rsync.Config) { c.Address = "-oProxyCommand=x:22" },
		"no user":           func(c *rsync.Config) { c.User = "" },
		"user with space":   func(c *rsync.Config) { c.User = "a b" },
		"no key":            func(c *rsync.Config) { c.KeyFile = "" },
		"no known_hosts":    func(c *rsync.Config) { c.KnownHostsFile = "" },
		"quote in key path": func(c *rsync.Config) { c.KeyFile = "/tmp/a'b" },
		"no root":           func(c *rsync.Config) { c.Root = "" },
		"sub-second":        func(c *rsync.Config) { c.IOTimeout = time.Millisecond },
	} {
		c := good
		mutate(&c)
		if _, err := rsync.New(c); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
