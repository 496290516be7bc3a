#!/usr/bin/env bash
# Idempotent set-up of everything the course needs: system tools, the .venv, JupyterLab settings.
# Quick when already done: the venv is rebuilt only when requirements.txt or pyproject.toml change.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
want_hub=0
for flag in "$@"; do
  case "$flag" in
    --with-browser) want_browser=1 ;;  # chromium, for the browser tests
    --with-hub) want_hub=1 ;;  # JupyterHub's proxy, for `make hub` and its test
    *) printf 'bootstrap: unknown flag %s (known: --with-browser --with-hub)\n' "$flag" >&2; exit 2 ;;
  esac
done

say() { printf 'bootstrap: %s\n' "$*"; }
fail() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || fail "Python 3.11 or newer is needed as python3 (found: $(python3 --version 2>&1 || echo none))."

# Debian packages: graphviz (diagrams needs `dot`), redis-server (ElastiCache caches on the local cloud: Redis
# OSS 7.0 stands in for Valkey 7.2, same protocol), chromium (the browser tests only). The browser tests use
# LABKIT_BROWSER when set (GitHub's Ubuntu runners have no Debian chromium package, but their own Google Chrome).
apt_missing=()
command -v dot >/dev/null 2>&1 || apt_missing+=(graphviz)
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
if [ "$want_browser" = 1 ] && [ -n "${LABKIT_BROWSER:-}" ]; then
  [ -x "$LABKIT_BROWSER" ] || fail "LABKIT_BROWSER=$LABKIT_BROWSER is not an executable Chromium or Chrome."
elif [ "$want_browser" = 1 ] && ! [ -x /usr/bin/chromium ]; then
  if grep -qx 'ID=debian' /etc/os-release 2>/dev/null; then  # Ubuntu's chromium is a snap, not a package
    apt_missing+=(chromium)
  else
    fail "no browser for the browser tests: this system has no Debian chromium package. Set LABKIT_BROWSER to a Chromium or Google Chrome binary (GitHub's Ubuntu runners: /usr/bin/google-chrome), then run this again."
  fi
fi
if [ "${#apt_missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing ${apt_missing[*]} with apt-get"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  else
    fail "missing system packages: ${apt_missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${apt_missing[*]}; macOS: brew install graphviz redis), then run this again."
  fi
fi

# JupyterHub's proxy (configurable-http-proxy, an npm package) goes in .venv/hub: nothing global.
proxy=.venv/hub/node_modules/.bin/configurable-http-proxy
if [ "$want_hub" = 1 ] && ! [ -x "$proxy" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      say "installing npm with apt-get (for JupyterHub's proxy)"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    else
      fail "npm is missing (JupyterHub's proxy is an npm package): install Node.js and npm, then run this again."
    fi
  fi
  say "installing configurable-http-proxy into .venv/hub"
  mkdir -p .venv/hub
  npm install --prefix .venv/hub --no-fund --no-audit --silent configurable-http-proxy@5.3.0 >/dev/null
fi

stamp=.venv/.labkit-bootstrap
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/labkit ]; then
  exit 0
fi

say "building .venv (about 30 s the first time)"
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! .venv/bin/python -m uv --version >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q --disable-pip-version-check uv
fi
# Compiled bytecode: this image sets PYTHONDONTWRITEBYTECODE=1, so without it every import is slow.
.venv/bin/python -m uv pip install -q --python .venv/bin/python --compile-bytecode -r requirements.txt
.venv/bin/python -m uv pip install -q --python .venv/bin/python --compile-bytecode --no-deps -e .

# JupyterLab: start the kernel without asking, no news pop-up.
settings=.venv/share/jupyter/lab/settings
mkdir -p "$settings"
cat > "$settings/overrides.json" <<'JSON'
{
  "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": true},
  "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}
}
JSON

echo "$want" > "$stamp"
say "ready"
