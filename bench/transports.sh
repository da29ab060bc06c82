#!/usr/bin/env bash
# Transport throughput: Put and Open of 256 MiB of random data over a
# loopback OpenSSH sshd (started by the Go benchmarks themselves, through
# internal/sshtest), for backup/sftp (255 KiB and 32 KiB SFTP packets),
# backup/rsync, and scp / `ssh cat` of the same file as the reference.
#
#   bench/transports.sh            # 3 iterations each (COUNT=N to change)
set -euo pipefail
cd "$(dirname "$0")/.."
for b in sshd:openssh-server ssh:openssh-client rsync:rsync; do
  command -v "${b%%:*}" >/dev/null || [ -x "/usr/sbin/${b%%:*}" ] || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${b#*:}" >/dev/null; }
done
COUNT=${COUNT:-3}
go test -run '^$' -bench Transfer -benchtime "${COUNT}x" ./backup/sftp ./backup/rsync
