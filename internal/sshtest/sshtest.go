package sshtest

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opskit/opskit/internal/testenv"
)

// Host key types.
const (
	Ed25519 = "ed25519"
	ECDSA   = "ecdsa"
	RSA     = "rsa"
)

// Options configure a server. The zero value gives a server with all three
// host key types, all of them trusted.
type Options struct {
	// HostKeys are the host key types sshd offers (Ed25519, ECDSA, RSA).
	// Default: all three.
	HostKeys []string
	// Trust are the host key types written to KnownHostsFile. Default: all
	// of HostKeys.
	Trust []string
	// StartTimeout bounds how long to wait for sshd to listen. Default 20s.
	StartTimeout time.Duration
}

// Server is a running sshd.
type Server struct {
	Addr           string // 127.0.0.1:port
	Port           int
	User           string // the current user: sshd runs as, and accepts, only this user
	Dir            string // the harness's private directory (keys, config, log)
	DataDir        string // an empty directory for the test's files, owned by User
	ClientKeyFile  string // the client's OpenSSH private key (ed25519, no passphrase), mode 0600
	ClientSigner   ssh.Signer
	KnownHostsFile string                   // known_hosts for Addr with the trusted host keys only
	HostKeys       map[string]ssh.PublicKey // every host key sshd offers, by type
	LogFile        string                   // sshd's log (-e)

	cmd *exec.Cmd
}

// Start starts sshd for the duration of t.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	sshd := testenv.LookPath(t, "sshd")
	if len(opts.HostKeys) == 0 {
		opts.HostKeys = []string{Ed25519, ECDSA, RSA}
	}
	if opts.Trust == nil {
		opts.Trust = opts.HostKeys
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 20 * time.Second
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshtest: current user: %v", err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root needs its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
	}
	dir := t.TempDir()
	s := &Server{User: u.Username, Dir: dir, DataDir: filepath.Join(dir, "data"),
		LogFile: filepath.Join(dir, "sshd.log"), HostKeys: map[string]ssh.PublicKey{}}
	if err := os.Mkdir(s.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}

	var hostKeyFiles []string
	for _, kt := range opts.HostKeys {
		signer, file := writeKey(t, dir, "host_"+kt, kt)
		s.HostKeys[kt] = signer.PublicKey()
		hostKeyFiles = append(hostKeyFiles, file)
	}
	s.ClientSigner, s.ClientKeyFile = writeKey(t, dir, "client_ed25519", Ed25519)
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(s.ClientSigner.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}

	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("sshtest: %v", err)
		}
		cfg := config(port, hostKeyFiles, authorized, s.User)
		cfgFile := filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		lastErr = s.start(t, sshd, cfgFile, port, opts.StartTimeout)
		if lastErr == nil {
			s.Port = port
			s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			break
		}
		if !errors.Is(lastErr, errPortTaken) {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("sshtest: %v", lastErr)
	}
	var trusted []ssh.PublicKey
	for _, kt := range opts.Trust {
		k, ok := s.HostKeys[kt]
		if !ok {
			t.Fatalf("sshtest: Options.Trust names %q, which is not among HostKeys %v", kt, opts.HostKeys)
		}
		trusted = append(trusted, k)
	}
	s.KnownHostsFile = s.WriteKnownHosts(t, "known_hosts", trusted...)
	return s
}

var errPortTaken = errors.New("port taken")

func config(port int, hostKeys []string, authorized, user string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ListenAddress 127.0.0.1:%d\n", port)
	for _, k := range hostKeys {
		fmt.Fprintf(&b, "HostKey %s\n", k)
	}
	fmt.Fprintf(&b, "AuthorizedKeysFile %s\n", authorized)
	fmt.Fprintf(&b, "AllowUsers %s\n", user)
	b.WriteString(`PidFile none
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
MaxStartups 100:30:200
MaxSessions 100
PrintMotd no
LogLevel VERBOSE
`)
	return b.String()
}

// start runs sshd and waits for "Server listening" in its log.
func (s *Server) start(t testing.TB, sshd, cfgFile string, port int, timeout time.Duration) error {
	logf, err := os.OpenFile(s.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfgFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	cmd.Stdout = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start sshd: %w", err)
	}
	ready := make(chan error, 1)
	var log strings.Builder
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		signal := func(err error) {
			if !signalled {
				signalled = true
				ready <- err
			}
		}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			logMu.Lock()
			if log.Len() < 8192 {
				log.WriteString(line + "\n")
			}
			logMu.Unlock()
			switch {
			case strings.Contains(line, "Server listening on 127.0.0.1 port "+strconv.Itoa(port)):
				signal(nil)
			case strings.Contains(line, "Address already in use"):
				signal(errPortTaken)
			}
		}
		signal(errors.New("sshd exited"))
		logf.Close()
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func() {
		// Connection processes leave sshd's process group (setsid): kill
		// every descendant, so that no session outlives the test, even one
		// kept open by a client such as an ssh ControlMaster.
		for _, pid := range descendants(cmd.Process.Pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err != nil {
			kill()
			logMu.Lock()
			defer logMu.Unlock()
			return fmt.Errorf("sshd did not start: %w\n%s", err, log.String())
		}
	case <-timer.C:
		kill()
		logMu.Lock()
		defer logMu.Unlock()
		return fmt.Errorf("sshd did not listen within %v:\n%s", timeout, log.String())
	}
	s.cmd = cmd
	t.Cleanup(func() {
		kill()
		if t.Failed() {
			if b, err := os.ReadFile(s.LogFile); err == nil {
				t.Logf("sshd log (%s):\n%s", s.LogFile, tail(string(b), 4000))
			}
		}
	})
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WriteKnownHosts writes a known_hosts file named name in the harness
// directory that lists keys for this server's address, and returns its
// path. Use it to test trust in some, none or foreign host keys.
func (s *Server) WriteKnownHosts(t testing.TB, name string, keys ...ssh.PublicKey) string {
	t.Helper()
	return WriteKnownHosts(t, filepath.Join(s.Dir, name), s.Addr, keys...)
}

// WriteKnownHosts writes a known_hosts file at path listing keys for addr
// (host:port) and returns path.
func WriteKnownHosts(t testing.TB, path, addr string, keys ...ssh.PublicKey) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	pattern := host
	if port != "22" {
		pattern = "[" + host + "]:" + port
	}
	var b strings.Builder
	b.WriteString("# written by sshtest\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s", pattern, ssh.MarshalAuthorizedKey(k))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// NewKey generates a key of the given type (Ed25519, ECDSA, RSA).
func NewKey(t testing.TB, keyType string) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch keyType {
	case Ed25519:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case ECDSA:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		err = fmt.Errorf("unknown key type %q", keyType)
	}
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return k
}

// writeKey generates a key and writes it in OpenSSH format (mode 0600) as
// dir/name, with dir/name.pub beside it.
func writeKey(t testing.TB, dir, name, keyType string) (ssh.Signer, string) {
	t.Helper()
	k := NewKey(t, keyType)
	signer, err := ssh.NewSignerFromSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(k, "sshtest "+name)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	return signer, file
}

// SSHArgs returns ssh(1) options that log in to the server as s.User with
// the client key, verifying the host key against knownHosts (s.KnownHostsFile
// if empty) and ignoring the user's ssh configuration.
func (s *Server) SSHArgs(knownHosts string) []string {
	if knownHosts == "" {
		knownHosts = s.KnownHostsFile
	}
	return []string{"-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=none",
		"-o", "IdentitiesOnly=yes", "-i", s.ClientKeyFile, "-p", strconv.Itoa(s.Port), "-l", s.User}
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
