#!/usr/bin/env bash
# OpenPGP encryption speed: backup/openpgp against go-crypto's own writer
# and GnuPG 2.2, on 64 MiB of incompressible data (what zstd hands over).
#
#   bench/openpgp.sh            # COUNT=5 to change the repetitions
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
grep -o 'sha_ni\|aes\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' '; echo "($(nproc) cores)"
go test -run '^$' -bench . -benchtime 8x -count "$COUNT" ./backup/openpgp | grep -E '^(Benchmark|cpu)'

W=$(mktemp -d); trap 'GNUPGHOME=$W/g gpgconf --kill all 2>/dev/null; rm -rf "$W"' EXIT
mkdir -m 700 "$W/g"; export GNUPGHOME=$W/g
head -c 67108864 /dev/urandom > "$W/data"
gpg --batch -q --pinentry-mode loopback --passphrase '' --quick-gen-key 'bench <bench@example.com>' future-default default never 2>/dev/null
for i in $(seq "$COUNT"); do
  /usr/bin/time -f "gpg --encrypt --compress-algo none: %e s (64 MiB)" \
    sh -c "gpg --batch -q --trust-model always --compress-algo none -r bench@example.com -e < $W/data > $W/data.gpg"
done
for i in $(seq "$COUNT"); do
  /usr/bin/time -f "gpg --decrypt: %e s (64 MiB)" sh -c "gpg --batch -q -d $W/data.gpg 2>/dev/null > /dev/null"
done
