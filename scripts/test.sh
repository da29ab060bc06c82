#!/usr/bin/env bash
# The whole opskit test suite, on a fresh machine with only Go installed:
# installs what the tests need (apt-get), starts the servers they talk to
# (scripts/test.d/*.sh), runs `go test -race ./...` and the fuzz targets
# briefly, and stops everything it started.
#
# Environment:
#   OPSKIT_TEST_NO_SKIP=1   a test that lacks a real component fails (CI sets it)
#   OPSKIT_FUZZTIME=10s     how long each fuzz target runs (0 to skip fuzzing)
#   OPSKIT_CACHE            download cache (default ~/.cache/opskit)
#   extra arguments are passed to `go test` (e.g. -run TestX ./backup/...)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openssh-server openssh-client rsync gnupg zstd postgresql
  default-jre-headless maven chromium chromium-driver fonts-dejavu-core python3 procps util-linux e2fsprogs wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export OPSKIT_CACHE="${OPSKIT_CACHE:-$HOME/.cache/opskit}"
mkdir -p "$OPSKIT_CACHE"
OPSKIT_CLEANUP=()
cleanup() {
  local i
  for ((i = ${#OPSKIT_CLEANUP[@]} - 1; i >= 0; i--)); do eval "${OPSKIT_CLEANUP[$i]}" || true; done
}
trap cleanup EXIT INT TERM

for hook in scripts/test.d/*.sh; do
  # shellcheck source=/dev/null
  source "$hook"
done

go vet ./...
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(./...)
go test -race -count=1 -timeout 30m "${args[@]}"

fuzztime="${OPSKIT_FUZZTIME:-10s}"
if [ "$fuzztime" != 0 ] && [ $# -eq 0 ]; then
  # Each fuzz target runs for $fuzztime on top of its seed corpus (which the
  # go test run above already replayed).
  for pkg in $(go list ./...); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | cut -d' ' -f2); do
      echo "fuzz: $pkg $f ($fuzztime)"
      go test -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" "$pkg" >/tmp/opskit-fuzz.log 2>&1 || { cat /tmp/opskit-fuzz.log; exit 1; }
    done
  done
fi
echo "test.sh: all tests passed"
