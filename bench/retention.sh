#!/usr/bin/env bash
# Benchmarks of retention.Policy.Apply: 10k, 100k and 1M items under a 5-rule
# policy (last 10, 6-hourly within 5 days, daily 365, weekly 52, monthly 36),
# and the worst case where unlimited rules walk every item. Items are one
# every 5 minutes, shuffled. The bar: 1,000,000 items in under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'BenchmarkApply' -benchtime "${BENCHTIME:-10x}" -count "${COUNT:-3}" ./retention/
