package sftp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey is returned (wrapped) when the server's host key is not in the
// known_hosts file, or differs from the key recorded there. It is never
// retried.
var ErrHostKey = errors.New("ssh host key not trusted")

// ErrAuth is returned (wrapped) when the server refuses every key offered.
// It is never retried.
var ErrAuth = errors.New("ssh authentication failed")

// permanentError marks a dial error that retrying cannot fix.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// conn is one SSH connection with its SFTP session.
type conn struct {
	ssh  *ssh.Client
	sftp *pkgsftp.Client
	// posixRename reports whether the server has posix-rename@openssh.com.
	posixRename bool

	once sync.Once
	dead chan struct{} // closed when the connection is closed or lost
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.dead)
		c.sftp.Close()
		c.ssh.Close()
	})
}

func (c *conn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// deadlineConn fails a read or write that blocks longer than timeout, so a
// silently dead link is noticed. Keepalives keep an idle connection's reads
// within the timeout.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	if d.timeout > 0 {
		d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	}
	return d.Conn.Read(p)
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	if d.timeout > 0 {
		d.Conn.SetWriteDeadline(time.Now().Add(d.timeout))
	}
	return d.Conn.Write(p)
}

// openSSHPacket is the largest read and write OpenSSH's sftp-server accepts
// (SFTP_MAX_MSG_LENGTH 256 KiB less 1 KiB for headers), used when the server
// advertises limits@openssh.com.
const openSSHPacket = 255 << 10

// dial connects, verifies the host key, authenticates and starts SFTP.
func (t *Transport) dial(ctx context.Context) (*conn, error) {
	cfg := t.cfg
	auth, closeAgent, err := t.authMethods()
	if err != nil {
		return nil, &permanentError{err}
	}
	defer closeAgent()
	hostKeys, err := knownhosts.New(cfg.KnownHostsFile)
	if err != nil {
		return nil, &permanentError{fmt.Errorf("known_hosts: %w", err)}
	}
	d := net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.Address, err)
	}
	algos, err := hostKeyAlgorithms(hostKeys, cfg.Address, nc.RemoteAddr())
	if err != nil {
		nc.Close()
		return nil, &permanentError{fmt.Errorf("%w: %s: %w", ErrHostKey, cfg.KnownHostsFile, err)}
	}
	var keyErr error
	clientCfg := &ssh.ClientConfig{
		User: cfg.User,
		Auth: auth,
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			err := hostKeys(host, remote, key)
			if err != nil {
				keyErr = fmt.Errorf("%w: %s offered %s key %s, which %s does not list for it (a changed server, or someone in between): %w",
					ErrHostKey, cfg.Address, key.Type(), ssh.FingerprintSHA256(key), cfg.KnownHostsFile, err)
			}
			return err
		},
		HostKeyAlgorithms: algos,
		Timeout:           cfg.DialTimeout,
	}
	// Bound the handshake by DialTimeout and ctx.
	timer := time.AfterFunc(cfg.DialTimeout, func() { nc.Close() })
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(&deadlineConn{Conn: nc, timeout: cfg.IOTimeout}, cfg.Address, clientCfg)
	timer.Stop()
	stop()
	if err != nil {
		nc.Close()
		switch {
		case keyErr != nil:
			return nil, &permanentError{keyErr}
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, &permanentError{fmt.Errorf("%w: as %s on %s: %w", ErrAuth, cfg.User, cfg.Address, err)}
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", cfg.Address, err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	packet := cfg.MaxPacket
	if packet == 0 {
		packet = 32 << 10
	}
	opts := func(packet int) []pkgsftp.ClientOption {
		return []pkgsftp.ClientOption{
			pkgsftp.MaxPacketUnchecked(packet),
			pkgsftp.UseConcurrentWrites(true),
			pkgsftp.UseConcurrentReads(true),
			pkgsftp.MaxConcurrentRequestsPerFile(cfg.Concurrency),
			pkgsftp.UseFstat(true),
		}
	}
	sc2, err := pkgsftp.NewClient(client, opts(packet)...)
	if err == nil && cfg.MaxPacket == 0 {
		if _, ok := sc2.HasExtension("limits@openssh.com"); ok {
			// An OpenSSH server: it takes 255 KiB reads and writes, which
			// cut the per-request overhead eightfold.
			sc2.Close()
			sc2, err = pkgsftp.NewClient(client, opts(openSSHPacket)...)
		}
	}
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("sftp session on %s: %w", cfg.Address, err)
	}
	_, posix := sc2.HasExtension("posix-rename@openssh.com")
	c := &conn{ssh: client, sftp: sc2, posixRename: posix, dead: make(chan struct{})}
	go func() {
		client.Wait()
		c.close()
	}()
	if cfg.KeepAliveInterval > 0 {
		go c.keepAlive(cfg.KeepAliveInterval)
	}
	return c, nil
}

// keepAlive sends keepalive@openssh.com requests; a connection whose
// requests go unanswered for IOTimeout dies by the read deadline.
func (c *conn) keepAlive(interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-tick.C:
			if _, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				c.close()
				return
			}
		}
	}
}

// authMethods returns the key file and/or agent signers.
func (t *Transport) authMethods() ([]ssh.AuthMethod, func(), error) {
	var signers []ssh.Signer
	closer := func() {}
	if t.cfg.KeyFile != "" {
		s, err := loadKey(t.cfg.KeyFile)
		if err != nil {
			return nil, closer, err
		}
		signers = append(signers, s)
	}
	if t.cfg.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, closer, errors.New("Config.Agent is set but SSH_AUTH_SOCK is not")
		}
		ac, err := net.Dial("unix", sock)
		if err != nil {
			return nil, closer, fmt.Errorf("ssh-agent: %w", err)
		}
		closer = func() { ac.Close() }
		as, err := agent.NewClient(ac).Signers()
		if err != nil {
			return nil, closer, fmt.Errorf("ssh-agent: %w", err)
		}
		signers = append(signers, as...)
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signers...)}, closer, nil
}

// loadKey reads an unencrypted private key that only its owner can read.
func loadKey(file string) (ssh.Signer, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("private key %s: mode %v lets others read it; chmod 600 it", file, fi.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("private key %s is encrypted: load it into ssh-agent and set Config.Agent", file)
	}
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", file, err)
	}
	return s, nil
}

// hostKeyAlgorithms returns the host key algorithms of the keys known_hosts
// lists for the server, so that the server is asked for a key we can check
// (a server with ed25519, ECDSA and RSA keys of which only one is trusted
// must present that one).
func hostKeyAlgorithms(cb ssh.HostKeyCallback, addr string, remote net.Addr) ([]string, error) {
	// Asking the callback about a key it cannot know makes it list the
	// keys it does know for this host.
	// An ed25519 key of 0x42 bytes: nobody holds its private key.
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(bytes.Repeat([]byte{0x42}, ed25519.PublicKeySize)))
	if err != nil {
		return nil, err
	}
	err = cb(addr, remote, probe)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil, fmt.Errorf("cannot read the keys listed for %s: %v", addr, err)
	}
	if len(ke.Want) == 0 {
		return nil, fmt.Errorf("no host key listed for %s (add the backup node's key, e.g. from ssh-keyscan verified out of band)", knownhosts.Normalize(addr))
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, k := range ke.Want {
		switch k.Key.Type() {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		default:
			add(k.Key.Type())
		}
	}
	return algos, nil
}
