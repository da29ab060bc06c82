package sftp_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/backuptest"
	"github.com/opskit/opskit/backup/sftp"
	"github.com/opskit/opskit/internal/sshtest"
)

var rootSeq atomic.Int64

// newRoot makes a fresh root directory on the server.
func newRoot(t *testing.T, srv *sshtest.Server) string {
	root := filepath.Join(srv.DataDir, fmt.Sprintf("root-%d", rootSeq.Add(1)))
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

func config(srv *sshtest.Server, root string) sftp.Config {
	return sftp.Config{
		Address: srv.Addr, User: srv.User, KeyFile: srv.ClientKeyFile,
		KnownHostsFile: srv.KnownHostsFile, Root: root,
		Retry: sftp.RetryPolicy{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond},
	}
}

func newTransport(t *testing.T, cfg sftp.Config) *sftp.Transport {
	t.Helper()
	tr, err := sftp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestConformance(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	backuptest.TestTransport(t, func(t *testing.T) backup.Transport {
		return newTransport(t, config(srv, newRoot(t, srv)))
	})
}

func TestFilesOnServer(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	root := newRoot(t, srv)
	tr := newTransport(t, config(srv, root))
	ctx := context.Background()
	if err := tr.Put(ctx, "a/b/obj", strings.NewReader("content")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "a/b/obj"))
	if err != nil || string(b) != "content" {
		t.Fatalf("file on server %q, %v", b, err)
	}
	for p, want := range map[string]os.FileMode{"a": 0o700, "a/b": 0o700, "a/b/obj": 0o600} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	// A leftover from an interrupted upload is not listed, and the next
	// Put of that name replaces it.
	partial := filepath.Join(root, "a/b/.obj2.partial")
	os.WriteFile(partial, bytes.Repeat([]byte("x"), 10000), 0o600)
	objs, err := tr.List(ctx, "")
	if err != nil || len(objs) != 1 {
		t.Fatalf("List = %v, %v", objs, err)
	}
	if err := tr.Put(ctx, "a/b/obj2", strings.NewReader("short")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "a/b/obj2")); string(b) != "short" {
		t.Fatalf("obj2 = %q", b)
	}
	if _, err := os.Stat(partial); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
}

func TestHostKeyAlgorithmsFollowKnownHosts(t *testing.T) {
	// The server has all three key types; only one is trusted each time.
	srv := sshtest.Start(t, sshtest.Options{Trust: []string{sshtest.Ed25519}})
	root := newRoot(t, srv)
	for _, kt := range []string{sshtest.Ed25519, sshtest.ECDSA, sshtest.RSA} {
		t.Run(kt, func(t *testing.T) {
			cfg := config(srv, root)
			cfg.KnownHostsFile = srv.WriteKnownHosts(t, "kh_"+kt, srv.HostKeys[kt])
			tr := newTransport(t, cfg)
			if _, err := tr.List(context.Background(), ""); err != nil {
				t.Fatalf("only the %s key trusted: %v", kt, err)
			}
		})
	}
}

func TestWrongHostKeyRefused(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	root := newRoot(t, srv)
	foreign, _ := ssh.NewSignerFromSigner(sshtest.NewKey(t, sshtest.Ed25519))
	cases := map[string]string{
		"foreign key":   srv.WriteKnownHosts(t, "kh_foreign", foreign.PublicKey()),
		"no key listed": srv.WriteKnownHosts(t, "kh_empty"),
	}
	for name, kh := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := config(srv, root)
			cfg.KnownHostsFile = kh
			cfg.Retry.Attempts = 10
			tr := newTransport(t, cfg)
			err := tr.Put(context.Background(), "x", strings.NewReader("secret"))
			if !errors.Is(err, sftp.ErrHostKey) {
				t.Fatalf("Put = %v, want ErrHostKey", err)
			}
			t.Log(err)
			if _, err := os.Stat(filepath.Join(root, "x")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatal("data reached a server with an untrusted host key")
			}
		})
	}
	// A known_hosts entry for another host does not vouch for this one.
	cfg := config(srv, root)
	cfg.KnownHostsFile = sshtest.WriteKnownHosts(t, filepath.Join(t.TempDir(), "kh"), "127.0.0.2:22", srv.HostKeys[sshtest.Ed25519])
	if _, err := newTransport(t, cfg).List(context.Background(), ""); !errors.Is(err, sftp.ErrHostKey) {
		t.Fatalf("List with a known_hosts for another host = %v, want ErrHostKey", err)
	}
}

func TestAuthFailureNotRetried(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	cfg := config(srv, newRoot(t, srv))
	key := filepath.Join(t.TempDir(), "other")
	block, err := ssh.MarshalPrivateKey(sshtest.NewKey(t, sshtest.Ed25519), "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(key, pem.EncodeToMemory(block), 0o600)
	cfg.KeyFile = key
	cfg.Retry = sftp.RetryPolicy{Attempts: 50, MinDelay: time.Hour}
	_, err = newTransport(t, cfg).List(context.Background(), "")
	if !errors.Is(err, sftp.ErrAuth) {
		t.Fatalf("List with an unauthorised key = %v, want ErrAuth (and no hour-long retry)", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	good := config(srv, "/backups")
	if _, err := sftp.New(good); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*sftp.Config){
		"no address":     func(c *sftp.Config) { c.Address = "" },
		"no user":        func(c *sftp.Config) { c.User = "" },
		"no key":         func(c *sftp.Config) { c.KeyFile = "" },
		"no known_hosts": func(c *sftp.Config) { c.KnownHostsFile = "" },
		"missing known_hosts": func(c *sftp.Config) {
			c.KnownHostsFile = "/nonexistent/known_hosts"
		},
		"no root":            func(c *sftp.Config) { c.Root = "" },
		"io below keepalive": func(c *sftp.Config) { c.IOTimeout = time.Second },
		"negative timeout":   func(c *sftp.Config) { c.DialTimeout = -1 },
	} {
		c := good
		mutate(&c)
		if _, err := sftp.New(c); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	// A readable private key is refused at connection time.
	c := good
	c.KeyFile = filepath.Join(t.TempDir(), "key")
	b, _ := os.ReadFile(srv.ClientKeyFile)
	os.WriteFile(c.KeyFile, b, 0o644)
	_, err := newTransport(t, c).List(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("List with a world-readable key = %v", err)
	}
}

// TestCutMidUpload drops the connection in the middle of a Put: nothing is
// listed, the previous object survives, and the next Put (on a new
// connection) succeeds.
func TestCutMidUpload(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	p := sshtest.NewProxy(t, srv.Addr)
	cfg := config(srv, newRoot(t, srv))
	cfg.Address = p.Addr
	cfg.KnownHostsFile = sshtest.WriteKnownHosts(t, filepath.Join(t.TempDir(), "kh"), p.Addr, srv.HostKeys[sshtest.Ed25519])
	tr := newTransport(t, cfg)
	ctx := context.Background()
	old := []byte("previous")
	if err := tr.Put(ctx, "v/obj", bytes.NewReader(old)); err != nil {
		t.Fatal(err)
	}
	p.CutAfter(2 << 20)
	// A stream (not seekable) cannot be replayed: the Put fails.
	err := tr.Put(ctx, "v/obj", io.LimitReader(rand.NewChaCha8([32]byte{1}), 16<<20))
	if err == nil {
		t.Fatal("Put succeeded through a cut connection")
	}
	if p.Cuts() != 1 {
		t.Fatalf("cuts %d", p.Cuts())
	}
	t.Log(err)
	objs, err := tr.List(ctx, "")
	if err != nil || len(objs) != 1 || objs[0].Size != int64(len(old)) {
		t.Fatalf("after the cut: List = %+v, %v", objs, err)
	}
	data := bytes.Repeat([]byte("new "), 1<<18)
	if err := tr.Put(ctx, "v/obj", io.MultiReader(bytes.NewReader(data))); err != nil {
		t.Fatalf("Put after the cut: %v", err)
	}
	checkContent(t, tr, "v/obj", data)

	// A seekable input is replayed on a new connection.
	p.CutAfter(1 << 20)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18)
	if err := tr.Put(ctx, "v/seekable", bytes.NewReader(big)); err != nil {
		t.Fatalf("Put of a seekable input across a cut: %v", err)
	}
	if p.Cuts() != 2 {
		t.Fatalf("cuts %d, want 2", p.Cuts())
	}
	checkContent(t, tr, "v/seekable", big)

	// A download cut midway continues on a new connection.
	rc, err := tr.Open(ctx, "v/seekable")
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1000)
	if _, err := io.ReadFull(rc, first); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	rest, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("read across a cut: %v", err)
	}
	if !bytes.Equal(append(first, rest...), big) {
		t.Fatal("content differs after resuming the read")
	}
}

func checkContent(t *testing.T, tr backup.Transport, name string, want []byte) {
	t.Helper()
	rc, err := tr.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, %v; want %d bytes", name, len(got), err, len(want))
	}
}

// TestUnreachableRetriesThenFails: a refused connection is retried with
// backoff, then reported; context errors stop retries at once.
func TestUnreachableRetries(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	p := sshtest.NewProxy(t, srv.Addr)
	cfg := config(srv, newRoot(t, srv))
	cfg.Address = p.Addr
	cfg.KnownHostsFile = sshtest.WriteKnownHosts(t, filepath.Join(t.TempDir(), "kh"), p.Addr, srv.HostKeys[sshtest.Ed25519])
	cfg.Retry.Attempts = 3
	tr := newTransport(t, cfg)
	p.Refuse(true)
	if _, err := tr.List(context.Background(), ""); err == nil {
		t.Fatal("List through a refusing proxy succeeded")
	}
	p.Refuse(false)
	if _, err := tr.List(context.Background(), ""); err != nil {
		t.Fatalf("List after the network came back: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with a cancelled context = %v", err)
	}
}

// TestStalledLinkTimesOut: a link that goes silent is declared dead after
// IOTimeout instead of hanging forever (without the deadline, this test
// would hang until the test binary's timeout).
func TestStalledLinkTimesOut(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	p := sshtest.NewProxy(t, srv.Addr)
	cfg := config(srv, newRoot(t, srv))
	cfg.Address = p.Addr
	cfg.KnownHostsFile = sshtest.WriteKnownHosts(t, filepath.Join(t.TempDir(), "kh"), p.Addr, srv.HostKeys[sshtest.Ed25519])
	cfg.IOTimeout = 300 * time.Millisecond
	cfg.KeepAliveInterval = 100 * time.Millisecond
	cfg.DialTimeout = 300 * time.Millisecond
	cfg.Retry.Attempts = 2
	tr := newTransport(t, cfg)
	ctx := context.Background()
	if err := tr.Put(ctx, "s/obj", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	p.Stall()
	if _, err := tr.List(ctx, ""); err == nil {
		t.Fatal("List succeeded through a stalled link")
	} else {
		t.Log(err)
	}
	p.Resume()
	if objs, err := tr.List(ctx, ""); err != nil || len(objs) != 1 {
		t.Fatalf("List after the stall: %v, %v", objs, err)
	}
}
