#!/usr/bin/env bash
# Browser tests: `versioner serve` pages opened in real headless Chromium (Debian's package)
# driven by Playwright, with every request to another host refused, so a page that needs the
# network fails. Installs Chromium (apt-get, as root) and Playwright (into ./.venv) when
# missing, and axe-core (npm, pinned) for the dashboard's accessibility check; never downloads a
# browser (`playwright install` is not used). Screenshots go to target/browser/ (the API
# reference) and target/screenshots/ (the dashboard, every page at 1280 and 390 px). Called by
# scripts/test.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${VERSIONER_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "Chromium is missing at $CHROMIUM; install Debian's 'chromium' package" >&2
    exit 1
  fi
  echo "==> installing Chromium (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

PYTHON="${PYTHON:-python3}"
VENV=.venv
PY="$VENV/bin/python"
if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 9)' 2>/dev/null; then
  echo "==> creating $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
fi
echo "==> pip install playwright pytest"
"$PY" -m pip install --quiet --disable-pip-version-check 'playwright==1.65.2' 'pytest==9.2.0'

# axe-core, injected into the dashboard's pages by test_dashboard.py (pinned; outside the
# repository, under the target directory).
AXE_VERSION=4.14.1
AXE_DIR="${CARGO_TARGET_DIR:-$PWD/target}/browser-node"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ] \
  || ! grep -q "\"version\": \"$AXE_VERSION\"" "$AXE_DIR/node_modules/axe-core/package.json"; then
  command -v npm >/dev/null || { echo "npm is required (axe-core)" >&2; exit 1; }
  echo "==> npm install axe-core@$AXE_VERSION"
  mkdir -p "$AXE_DIR"
  npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION" >/dev/null
fi
export VERSIONER_AXE="$AXE_DIR/node_modules/axe-core/axe.min.js"

echo "==> cargo build -p versioner-cli"
cargo build --quiet -p versioner-cli
export VERSIONER_BIN="${VERSIONER_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/versioner}"
export VERSIONER_CHROMIUM="$CHROMIUM"
export VERSIONER_SHOTS="${CARGO_TARGET_DIR:-$PWD/target}/browser"
export VERSIONER_SCREENSHOTS="${CARGO_TARGET_DIR:-$PWD/target}/screenshots"
mkdir -p "$VERSIONER_SHOTS" "$VERSIONER_SCREENSHOTS"

echo "==> pytest versioner-server/tests/browser"
"$PY" -m pytest -q -p no:cacheprovider versioner-server/tests/browser
echo "==> browser tests passed"
