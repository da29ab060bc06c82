// Package backup makes encrypted, signed, off-site backups that restore,
// with stock tools if need be.
//
// A [Job] takes a [Snapshotter] (a directory as tar with [Dir], or a
// program's output with [Command], such as `pg_dump -Fc`), compresses it
// with zstd, encrypts it with an [Encryptor] to the instance's own public
// key (backup/openpgp; the host that makes backups holds no key that can
// read them), hashes every stored object with SHA-256, and stores it
// through a [Transport] (backup/local, backup/sftp, backup/rsync) under a
// temporary name that becomes visible only when complete. Last it writes a
// manifest (instance, times, sizes, hashes, key fingerprints, format
// version) with a detached OpenPGP signature made by the daemon's own
// [Signer], so a backup node can neither forge nor alter a backup. The
// manifest is the commit marker: a failed or interrupted job leaves no
// manifest, so it never looks like a good backup.
//
// A large snapshot is cut into volumes (Job.VolumeSize, 64 MiB of stream
// by default), each one complete OpenPGP message holding one zstd frame.
// Volumes of a [Dir] are made in parallel on every core, each worker
// reading its own files, and a failed upload is retried per volume by the
// transport. Memory stays bounded whatever the snapshot size.
//
// A [Repository] is one instance's backups on a transport. It lists them
// (checking every manifest signature), verifies them without a private key
// ([Repository.Verify]: every object's size and hash against the signed
// manifest, recorded so retention knows which backups are proven),
// restores them ([Repository.Restore]), runs restore drills
// ([Repository.Drill]: restore into scratch space, compare every file with
// the backup's encrypted file index, report the time to restore) and prunes
// them ([Repository.Prune], which never deletes unverified backups nor the
// newest verified one, and refuses a policy that would delete everything).
// Operations on an instance take a lock object on the transport, so a
// backup, a prune and a drill from different processes never interleave;
// abandoned locks are detected and reported. Every object access is
// written to the audit log through log/slog (attribute audit=true).
//
// Nothing unverified reaches a restore target: a [DirRestorer] unpacks into
// a hidden staging directory (confined with os.Root: no path traversal, no
// writes through symbolic links) that is moved into place only after every
// volume's hash and OpenPGP integrity check passed; a restorer that cannot
// roll back, such as a [CommandRestorer] running pg_restore, is fed from a
// local copy only after a full verification pass.
//
// # Layout on the transport
//
//	INSTANCE/snapshots/ID.json              manifest, written last
//	INSTANCE/snapshots/ID.json.asc          its detached signature
//	INSTANCE/snapshots/ID.verified.json     signed record of the last verification (+ .asc)
//	INSTANCE/data/ID/vol-000001.zst.pgp ... volumes, in stream order
//	INSTANCE/data/ID/index.jsonl.zst.pgp    encrypted file index (directory snapshots)
//	INSTANCE/locks/*.json                   locks
//
// IDs look like 20261122T030000Z-a1b2c3 (UTC start time, random suffix).
//
// # Restoring without opskit
//
// Everything is in standard formats. With the instance's private key in
// GnuPG:
//
//	gpg --verify snapshots/ID.json.asc snapshots/ID.json    # with the daemon's public key
//	jq -r '.volumes[] | "\(.sha256)  \(.name)"' snapshots/ID.json | sha256sum -c   # from the INSTANCE/.. directory
//	for v in data/ID/vol-*.zst.pgp; do gpg --decrypt "$v"; done | zstd -d | tar -x
//
// A command snapshot restores the same way, without the tar:
// `... | zstd -d | pg_restore -d mydb`.
//
// # What it does not do
//
// No deduplication or incremental backups: each backup is a complete
// snapshot, as the operations practice asks, and old ones go by retention
// (package retention). No scheduling: the reference daemon
// (examples/opsd) runs jobs on cron schedules.
package backup
