#!/usr/bin/env bash
# Bytes received from Elasticsearch per evaluation of a brute-force
# frequency rule over one day of logs (43,200 documents): counting pushed to
# Elasticsearch (terms aggregation per run_every minute) against document
# pulling, and their ratio. Needs OPSKIT_TEST_ES_URL (scripts/test.sh starts
# an Elasticsearch and exports it; /work/dev/env.sh-style files may be
# sourced first).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${OPSKIT_TEST_ES_URL:-}" ]; then
  echo "esrule.sh: OPSKIT_TEST_ES_URL is not set (run under scripts/test.sh or export it)" >&2
  exit 2
fi
out=$(OPSKIT_TEST_NO_SKIP=1 go test -run '^$' -bench 'BenchmarkFrequencyDay' -benchtime "${BENCHTIME:-1x}" -count 1 ./alerting/esrule/)
echo "$out"
echo "$out" | awk '
  /FrequencyDay\/aggregation/ { for (i = 1; i <= NF; i++) if ($(i+1) == "bytes/eval") agg = $i }
  /FrequencyDay\/documents/   { for (i = 1; i <= NF; i++) if ($(i+1) == "bytes/eval") doc = $i }
  END {
    if (agg == "" || doc == "") { print "esrule.sh: benchmark output not understood" > "/dev/stderr"; exit 1 }
    printf "bytes received per evaluation: aggregation %d, documents %d, documents/aggregation = %.1fx\n", agg, doc, doc / agg
  }'
