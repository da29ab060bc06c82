// Package sftp is a [backup.Transport] that stores objects on an SSH server
// over SFTP, using golang.org/x/crypto/ssh and github.com/pkg/sftp (no
// ssh binary needed). It is the usual way to ship backups to dedicated
// backup nodes.
//
// Security: the server's host key is always checked against
// Config.KnownHostsFile (there is no way to skip it); only the key types
// listed there for the server are negotiated, so a server with ed25519,
// ECDSA and RSA keys of which only one is pinned presents that one. An
// unknown or changed key fails with [ErrHostKey], a refused client key
// with [ErrAuth]; neither is retried. Private key files must be mode 0600;
// encrypted keys are used through ssh-agent (Config.Agent).
//
// Atomicity: Put writes to ".<base>.partial" in the object's directory
// (mode 0600; directories are created mode 0700), then renames it over the
// name with posix-rename@openssh.com, an atomic replace. An interrupted
// upload leaves at most that temporary file, which is never listed and is
// truncated by the next Put of the name (a clean restart, not a resume:
// backup volumes are encrypted streams that are made again anyway).
// Concurrent Puts of the same name are not supported; package backup's
// locks prevent them.
//
// Robustness: one SSH connection, opened on first use, is shared by all
// calls. Every read and write on it has a deadline (Config.IOTimeout) and
// keepalive@openssh.com requests (Config.KeepAliveInterval) keep an idle
// connection provably alive, so a silently dead link fails instead of
// hanging. Transient failures (lost connection, refused or timed out dial)
// are retried on a new connection after an exponential, jittered backoff
// (Config.Retry). A Put is retried only when nothing of its input was read
// yet or the input implements io.Seeker; otherwise it returns the error and
// the caller makes the stream again. A download that loses its connection
// continues at the same offset on a new one. Context errors and permanent
// errors (permissions, invalid or missing names) are never retried.
//
// Speed: transfers keep Config.Concurrency (64) SFTP requests in flight
// per file, with 255 KiB requests on OpenSSH servers; use io.Copy on the
// reader Open returns (it implements io.WriterTo).
//
// It does not remove directories left empty by Delete, and it does not
// log object access (package backup's Repository audits every access).
package sftp
