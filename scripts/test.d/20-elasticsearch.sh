# Sourced by scripts/test.sh: start a throw-away single-node Elasticsearch 8
# on loopback and export OPSKIT_TEST_ES_URL.
#
# If OPSKIT_TEST_ES_URL is already set and answers, it is used as it is.
# Otherwise the integ-test distribution (a small zip without x-pack's data
# streams, ILM or machine learning) is fetched once from Maven Central with
# mvn into ${OPSKIT_CACHE:-$HOME/.cache/opskit}, unpacked into a temporary
# directory and run on the machine's Java 17 as a non-root user (opskit-es,
# created when running as root). When it cannot be had, the variable stays
# unset and the tests that need it skip (or fail under OPSKIT_TEST_NO_SKIP=1).
#
# Environment:
#   OPSKIT_ES_VERSION   the distribution version (default 8.19.7)
#   OPSKIT_ES_TIMEOUT   seconds to wait for the node to become yellow (default 180)
# opskit_es_unzip ZIP DIR: unzip, or Python's zipfile (keeping file modes)
# where unzip is not installed.
opskit_es_unzip() {
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$1" -d "$2"
  else
    python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = info.external_attr >> 16
        if mode and not info.is_dir():
            os.chmod(path, mode & 0o7777)
PY
  fi
}

opskit_es_start() {
  local version="${OPSKIT_ES_VERSION:-8.19.7}"
  local cache="${OPSKIT_CACHE:-$HOME/.cache/opskit}"
  local zip="$cache/elasticsearch-$version.zip"
  local timeout="${OPSKIT_ES_TIMEOUT:-180}"

  if [ -n "${OPSKIT_TEST_ES_URL:-}" ]; then
    if curl -fsS -m 5 "$OPSKIT_TEST_ES_URL/_cluster/health" >/dev/null 2>&1; then
      echo "test.d/elasticsearch: using $OPSKIT_TEST_ES_URL"
      return 0
    fi
    echo "test.d/elasticsearch: OPSKIT_TEST_ES_URL=$OPSKIT_TEST_ES_URL does not answer; starting our own" >&2
    unset OPSKIT_TEST_ES_URL
  fi

  local java_home=""
  local d
  # Java 17 as on the CI machine; 21 (also supported by Elasticsearch 8) if
  # that is all there is.
  for d in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/java-1.17.0-openjdk-* /usr/lib/jvm/*17* \
    /usr/lib/jvm/java-21-openjdk-* /usr/lib/jvm/*21*; do
    if [ -x "$d/bin/java" ]; then java_home="$d"; break; fi
  done
  if [ -z "$java_home" ]; then
    echo "test.d/elasticsearch: no Java 17 or 21 under /usr/lib/jvm (apt-get install openjdk-17-jre-headless); Elasticsearch tests will skip" >&2
    return 0
  fi

  mkdir -p "$cache"
  if [ ! -s "$zip" ]; then
    if ! command -v mvn >/dev/null 2>&1; then
      echo "test.d/elasticsearch: mvn not found (apt-get install maven); Elasticsearch tests will skip" >&2
      return 0
    fi
    echo "test.d/elasticsearch: fetching the Elasticsearch $version integ-test zip from Maven Central"
    if ! mvn -q -B dependency:copy \
      "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$version:zip" \
      "-DoutputDirectory=$cache" >"$cache/es-mvn.log" 2>&1 || [ ! -s "$zip" ]; then
      echo "test.d/elasticsearch: could not fetch elasticsearch $version (see $cache/es-mvn.log); Elasticsearch tests will skip" >&2
      return 0
    fi
  fi

  local esuser
  esuser=$(id -un)
  if [ "$(id -u)" = 0 ]; then
    esuser=opskit-es
    if ! id -u "$esuser" >/dev/null 2>&1; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$esuser" || {
        echo "test.d/elasticsearch: cannot create user $esuser; Elasticsearch tests will skip" >&2
        return 0
      }
    fi
  fi

  local dir
  dir=$(mktemp -d /tmp/opskit-es.XXXXXX)
  if ! opskit_es_unzip "$zip" "$dir"; then
    echo "test.d/elasticsearch: cannot unpack $zip; Elasticsearch tests will skip" >&2
    rm -rf "$dir"
    return 0
  fi
  local home="$dir/elasticsearch-$version"
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  chown -R "$esuser" "$dir"
  chmod 755 "$dir"

  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local tport
  tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

  local start=$SECONDS
  # setsid gives Elasticsearch its own process group, so cleanup kills the
  # launcher, the JVM and its native controller together.
  local runas=()
  [ "$(id -u)" = 0 ] && runas=(runuser -u "$esuser" --)
  setsid env JAVA_HOME="$java_home" ES_JAVA_HOME="$java_home" ES_TMPDIR="$dir/tmp" \
    ES_JAVA_OPTS="-Xms512m -Xmx512m -XX:-HeapDumpOnOutOfMemoryError -XX:-UsePerfData" \
    CLI_JAVA_OPTS="-XX:-UsePerfData" \
    "${runas[@]}" "$home/bin/elasticsearch" \
    -E discovery.type=single-node \
    -E network.host=127.0.0.1 \
    -E http.port="$port" \
    -E transport.port="$tport" \
    -E path.data="$dir/data" \
    -E path.logs="$dir/logs" \
    -E cluster.name=opskit-test \
    -E cluster.routing.allocation.disk.threshold_enabled=false \
    -E xpack.security.enabled=false \
    >"$dir/stdout.log" 2>&1 </dev/null &
  local pid=$!
  OPSKIT_CLEANUP+=("kill -TERM -- -$pid 2>/dev/null || true; for _ in \$(seq 50); do kill -0 -- -$pid 2>/dev/null || break; sleep 0.2; done; kill -KILL -- -$pid 2>/dev/null || true; rm -rf $dir; rmdir /tmp/hsperfdata_$esuser 2>/dev/null || true")

  local url="http://127.0.0.1:$port"
  while :; do
    if curl -fsS -m 5 "$url/_cluster/health?wait_for_status=yellow&timeout=2s" >/dev/null 2>&1; then
      break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "test.d/elasticsearch: Elasticsearch exited during start-up; Elasticsearch tests will skip:" >&2
      tail -n 40 "$dir/stdout.log" >&2
      return 0
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      echo "test.d/elasticsearch: Elasticsearch not ready after ${timeout}s; Elasticsearch tests will skip:" >&2
      tail -n 40 "$dir/stdout.log" >&2
      return 0
    fi
    sleep 0.5
  done
  export OPSKIT_TEST_ES_URL="$url"
  echo "test.d/elasticsearch: Elasticsearch $version on $url (ready in $((SECONDS - start))s)"
}
opskit_es_start
unset -f opskit_es_start opskit_es_unzip
