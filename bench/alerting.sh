#!/usr/bin/env bash
# Alert ingest over HTTP, opskit against Alertmanager, in one run: the same
# 10,000 distinct alerts re-sent in batches of 100 from 8 connections for
# 10 s (median of 3), to Alertmanager v0.35.0's API (/api/v2/alerts) and
# to opsd's alert input (/api/alerts/alertmanager, Alertmanager webhook v4
# JSON) in front of the alerting Manager on SQLite. Both deduplicate and
# group (group_by alertname, instance; group_wait 30s) and notify nobody.
#
# Alertmanager is built from its module on the Go module proxy (its web UI
# assets are not in the module, so an empty page stands in for them), cached
# in $OPSKIT_CACHE (default ~/.cache/opskit).
set -euo pipefail
cd "$(dirname "$0")/.."
AM_VERSION=v0.35.0
cache="${OPSKIT_CACHE:-$HOME/.cache/opskit}/bench"
am="$cache/alertmanager-$AM_VERSION"
mkdir -p "$cache"
if [ ! -x "$am" ]; then
  echo "alerting.sh: building Alertmanager $AM_VERSION from the Go module proxy (once)"
  src=$(mktemp -d)
  (cd "$src" && go mod init ambuild >/dev/null 2>&1 && go mod download -json "github.com/prometheus/alertmanager@$AM_VERSION" >/dev/null)
  moddir=$(go env GOMODCACHE)/github.com/prometheus/alertmanager@$AM_VERSION
  cp -r "$moddir" "$src/am" && chmod -R u+w "$src/am"
  mkdir -p "$src/am/ui/app/dist" && echo '<!doctype html>' >"$src/am/ui/app/dist/index.html"
  (cd "$src/am" && go build -o "$am" ./cmd/alertmanager)
  rm -rf "$src"
fi
go build -o /tmp/opskit-alertserver ./bench/alertserver
go build -o /tmp/opskit-alertload ./bench/alertload
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/am.yml" <<'YML'
route:
  receiver: "null"
  group_by: [alertname, instance]
  group_wait: 30s
receivers:
  - name: "null"
YML
AM_PORT=${AM_PORT:-9193}
OPS_PORT=${OPS_PORT:-8197}
"$am" --config.file="$work/am.yml" --storage.path="$work/am" --web.listen-address=127.0.0.1:$AM_PORT \
  --cluster.listen-address= --log.level=warn 2>"$work/am.log" &
pids+=($!)
/tmp/opskit-alertserver -addr 127.0.0.1:$OPS_PORT 2>"$work/ops.log" &
pids+=($!)
for _ in $(seq 300); do
  curl -fs "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null 2>&1 && grep -q serving "$work/ops.log" && break
  sleep 0.1
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
median() { sort -n | sed -n 2p; }
run() { # format url
  local r=()
  for _ in 1 2 3; do
    r+=("$(/tmp/opskit-alertload -format "$1" -url "$2" -d "${DURATION:-10s}" | tee /dev/stderr | awk '{print $2}')")
  done
  printf '%s\n' "${r[@]}" | median
}
am_rate=$(run am "http://127.0.0.1:$AM_PORT/api/v2/alerts")
ops_rate=$(run opsd "http://127.0.0.1:$OPS_PORT/api/alerts/alertmanager")
echo "median: Alertmanager $AM_VERSION $am_rate alerts/s, opskit $ops_rate alerts/s, opskit/Alertmanager = $(awk -v a="$ops_rate" -v b="$am_rate" 'BEGIN{printf "%.2f", a/b}')x"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
