# Sourced by scripts/test.sh: Node.js packages the tests use, installed with
# npm into ${OPSKIT_CACHE}/node (once; later runs reuse them):
#   axe-core      the accessibility checker the status page test runs in
#                 headless Chromium      → OPSKIT_TEST_AXE (path of axe.min.js)
#   statuspage.io a third-party Statuspage API client that reads the status
#                 page's JSON            → OPSKIT_TEST_NODE_PATH (node_modules)
# Installs nodejs and npm with apt-get when missing. When something cannot
# be had, the variables stay unset and the tests that need them skip (or fail
# under OPSKIT_TEST_NO_SKIP=1).
opskit_node_setup() {
  local dir="${OPSKIT_CACHE:-$HOME/.cache/opskit}/node"
  # statuspage.io 3.4.6 was published without its dist/ folder; 3.3.8 is whole.
  local pkgs=(axe-core@4.14.1 statuspage.io@3.3.8)
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "test.d/node: installing nodejs npm"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null || {
      echo "test.d/node: cannot install nodejs/npm; accessibility and JSON consumer tests will skip" >&2
      return 0
    }
  fi
  mkdir -p "$dir"
  if [ ! -f "$dir/node_modules/axe-core/axe.min.js" ] || [ ! -f "$dir/node_modules/statuspage.io/dist/index.js" ] ||
     ! grep -q '"version": "4.14.1"' "$dir/node_modules/axe-core/package.json" 2>/dev/null; then
    echo "test.d/node: npm install ${pkgs[*]} into $dir"
    if ! (cd "$dir" && npm install --no-audit --no-fund --silent --no-save "${pkgs[@]}" >"$dir/npm.log" 2>&1); then
      echo "test.d/node: npm install failed (see $dir/npm.log); accessibility and JSON consumer tests will skip" >&2
      return 0
    fi
  fi
  export OPSKIT_TEST_AXE="$dir/node_modules/axe-core/axe.min.js"
  export OPSKIT_TEST_NODE_PATH="$dir/node_modules"
  echo "test.d/node: axe-core and statuspage.io in $dir"
}
opskit_node_setup
unset -f opskit_node_setup
