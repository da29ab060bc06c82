#!/usr/bin/env bash
# Status page benchmark: a page with 50 components, 1,000 incidents and a
# maintenance, updated by a simulated check every 100 ms, measured with wrk
# on loopback (-t2 -c32, 10 s, median of 3), plain and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
PORT=${PORT:-8099}
go build -o /tmp/opskit-statusserver ./bench/statusserver
/tmp/opskit-statusserver -addr 127.0.0.1:$PORT 2>/tmp/opskit-statusserver.log &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1800); do grep -q serving /tmp/opskit-statusserver.log 2>/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:$PORT/p/bench
# Other load on the machine skews wrk's numbers: say how busy it was.
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "page weight: HTML $(curl -s $base/ | wc -c) bytes raw, $(curl -s -H 'Accept-Encoding: gzip' $base/ | wc -c) gzipped;" \
  "summary.json $(curl -s $base/api/v2/summary.json | wc -c) raw, $(curl -s -H 'Accept-Encoding: gzip' $base/api/v2/summary.json | wc -c) gzipped"
run() { # path, extra wrk args
  local rps=() p99=()
  for i in 1 2 3; do
    out=$(wrk -t2 -c32 -d10s --latency "${@:2}" "$base$1")
    rps+=("$(echo "$out" | awk '/Requests\/sec/ {print $2}')")
    p99+=("$(echo "$out" | awk '$1=="99%" {print $2}')")
  done
  med=$(printf '%s\n' "${rps[@]}" | sort -n | sed -n 2p)
  printf '%-28s %-6s median %10s req/s   (runs %s)  p99 %s\n' "$1" "${3:+gzip}" "$med" "${rps[*]}" "${p99[*]}"
}
run /api/v2/summary.json
run /api/v2/summary.json -H 'Accept-Encoding: gzip'
run / 
run / -H 'Accept-Encoding: gzip'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
