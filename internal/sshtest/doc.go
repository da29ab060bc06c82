// Package sshtest runs a real OpenSSH sshd on 127.0.0.1 for tests, and a
// loopback TCP proxy in front of it that a test can cut or stall.
//
// [Start] generates host keys (ed25519, ECDSA P-256 and RSA by default), a
// client key, an authorized_keys file and a known_hosts file that trusts
// only the host keys the test chooses ([Options.Trust]), writes an sshd
// configuration (public key authentication only, internal-sftp, no PAM, no
// chroot) and starts `sshd -D -e` as the current user on a free port. It
// works as root (creating sshd's privilege separation directory if it is
// missing) and as an ordinary user (sshd then runs unprivileged and only
// that user can log in). Readiness is read from sshd's log, with a
// deadline; [testing.TB.Cleanup] kills sshd, and sshd gets SIGKILL if the
// test binary dies first.
//
//	srv := sshtest.Start(t, sshtest.Options{})
//	// srv.Addr, srv.User, srv.ClientKeyFile, srv.KnownHostsFile, srv.DataDir
//
// A [Proxy] forwards a loopback port to the server; [Proxy.Cut] drops every
// connection at once, [Proxy.CutAfter] drops them once a number of bytes
// went up (a connection lost mid-upload), and [Proxy.Stall] stops moving
// bytes without closing anything (a silently dead link).
//
// sshd comes from the openssh-server package; tests skip (fail in CI) when
// it is missing.
package sshtest
