package sshtest_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/opskit/opskit/internal/sshtest"
	"github.com/opskit/opskit/internal/testenv"
)

func sshRun(t *testing.T, srv *sshtest.Server, knownHosts, addrPort string, command string) (string, error) {
	t.Helper()
	args := srv.SSHArgs(knownHosts)
	if addrPort != "" {
		for i, a := range args {
			if a == "-p" {
				args[i+1] = addrPort
			}
		}
	}
	args = append(args, "127.0.0.1", command)
	out, err := exec.Command(testenv.LookPath(t, "ssh"), args...).CombinedOutput()
	return string(out), err
}

func TestServerWithOpenSSHClient(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{Trust: []string{sshtest.Ed25519}})
	out, err := sshRun(t, srv, "", "", "cd "+srv.DataDir+" && echo hello > f && cat f && id -un")
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, out)
	}
	if !strings.Contains(out, "hello\n"+srv.User) {
		t.Fatalf("ssh output %q", out)
	}
	if b, err := os.ReadFile(srv.DataDir + "/f"); err != nil || string(b) != "hello\n" {
		t.Fatalf("file on server: %q, %v", b, err)
	}
	// A known_hosts file with a foreign key is refused.
	foreign, _ := ssh.NewSignerFromSigner(sshtest.NewKey(t, sshtest.Ed25519))
	bad := srv.WriteKnownHosts(t, "bad_known_hosts", foreign.PublicKey())
	out, err = sshRun(t, srv, bad, "", "true")
	if err == nil || !strings.Contains(out, "Host key verification failed") {
		t.Fatalf("ssh with a foreign host key: %v\n%s", err, out)
	}
}

func dial(t *testing.T, srv *sshtest.Server, addr string, known string) (*ssh.Client, error) {
	t.Helper()
	cb, err := knownhosts.New(known)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: srv.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(srv.ClientSigner)},
		HostKeyCallback: cb, Timeout: 10 * time.Second,
	})
}

func TestHostKeysAndGoClient(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	if len(srv.HostKeys) != 3 {
		t.Fatalf("host keys %v", srv.HostKeys)
	}
	c, err := dial(t, srv, srv.Addr, srv.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("echo ok")
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("output %q, %v", out, err)
	}
}

func TestProxyCutMidTransfer(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	p := sshtest.NewProxy(t, srv.Addr)
	known := sshtest.WriteKnownHosts(t, t.TempDir()+"/kh", p.Addr, srv.HostKeys[sshtest.Ed25519])
	c, err := dial(t, srv, p.Addr, known)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := sess.StdinPipe()
	if err := sess.Start("cat > /dev/null"); err != nil {
		t.Fatal(err)
	}
	p.CutAfter(1 << 20)
	_, err = io.Copy(stdin, io.LimitReader(zeros{}, 64<<20))
	werr := sess.Wait()
	if err == nil && werr == nil {
		t.Fatal("64 MiB went through a proxy armed to cut after 1 MiB")
	}
	if p.Cuts() != 1 {
		t.Fatalf("cuts = %d", p.Cuts())
	}
	// The network is back: a new connection works.
	c2, err := dial(t, srv, p.Addr, known)
	if err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	c2.Close()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func TestProxyStallResumeCutRefuse(t *testing.T) {
	p := sshtest.NewProxy(t, echoServer(t))
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip := func(msg string) error {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != msg {
			return errors.New("echo mismatch: " + string(buf))
		}
		return nil
	}
	if err := roundTrip("one"); err != nil {
		t.Fatal(err)
	}
	p.Stall()
	c.Write([]byte("two"))
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Read(make([]byte, 3)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read through a stalled proxy: %d, %v", n, err)
	}
	c.SetReadDeadline(time.Time{})
	p.Resume()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, []byte("two")) {
		t.Fatalf("after resume: %q, %v", buf, err)
	}
	p.Cut()
	if _, err := io.ReadFull(c, buf); err == nil {
		t.Fatal("read after Cut succeeded")
	}
	p.Refuse(true)
	c2, err := net.Dial("tcp", p.Addr)
	if err == nil {
		_, err = io.ReadFull(c2, buf)
		c2.Close()
	}
	if err == nil {
		t.Fatal("a refused connection worked")
	}
	if up, down := p.Bytes(); up != 6 || down != 6 {
		t.Fatalf("bytes up %d down %d, want 6 and 6", up, down)
	}
}
