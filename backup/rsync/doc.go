// Package rsync is a [backup.Transport] that drives the rsync binary over
// ssh ("exported over rsync+ssh to our backup nodes"). Use it where the
// backup node offers rsync but no SFTP, or restricts the key to rsync with
// a forced command such as rrsync; otherwise package backup/sftp is faster
// per operation and needs no local binaries.
//
// Every operation runs `rsync -s -e "ssh ..."` with host keys verified
// against Config.KnownHostsFile alone (StrictHostKeyChecking=yes,
// BatchMode=yes, IdentitiesOnly=yes, -F none: the user's ssh configuration
// plays no part). Remote names travel as rsync protocol data (-s), never
// through a remote shell, so no object name can inject options or shell
// syntax.
//
//   - Put spools its input to a local file (mode 0600, in Config.SpoolDir,
//     removed afterwards; memory stays constant), then rsyncs it into the
//     object's directory (--mkpath creates missing directories). rsync
//     writes ".<base>.XXXXXX" and renames it when complete (never
//     --inplace), so the name appears only complete and a failed transfer
//     leaves the previous object; the spooled copy makes retries possible.
//     Files are mode 0600; directories get the server's default mode.
//   - Open rsyncs the object into a spool file, unlinks it, and returns a
//     reader over it. rsync rather than `ssh cat`: it needs no shell on the
//     server (rrsync -ro works) and checks each transfer with a whole-file
//     checksum; the price is that the whole object arrives before the first
//     byte is returned, and local disk space for it.
//   - List parses `rsync -r --list-only` of the one directory that can hold
//     the prefix; dot files (rsync's and other temporary files) are never
//     listed.
//   - Delete checks the name is a file (--list-only), then runs
//     `rsync -d --delete` from an empty directory with filters that select
//     that one file (wildcards escaped). Again no shell is needed.
//
// rsync and ssh exit codes become [*ExitError] with rsync's meaning and the
// end of stderr; it unwraps to [ErrHostKey], [ErrAuth] or [fs.ErrNotExist]
// where they apply. Connection failures and timeouts (exit codes 10, 12,
// 30, 35, 255) are retried per Config.Retry; context cancellation kills
// rsync and is never retried. ssh connections are shared (ControlMaster)
// unless Config.DisableMultiplex; call Close when done.
//
// It does not remove directories left empty by Delete and does not log
// object access (package backup's Repository audits every access).
package rsync
