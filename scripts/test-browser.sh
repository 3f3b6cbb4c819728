#!/usr/bin/env bash
# Browser tests: `versioner serve` pages opened in real headless Chromium (Debian's package)
# driven by Playwright, with every request to another host refused, so a page that needs the
# network fails. Installs Chromium (apt-get, as root) and Playwright (into ./.venv) when
# missing; never downloads a browser (`playwright install` is not used). Screenshots go to
# target/browser/. Called by scripts/test.sh; runs on its own too.
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

echo "==> cargo build -p versioner-cli"
cargo build --quiet -p versioner-cli
export VERSIONER_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/versioner"
export VERSIONER_CHROMIUM="$CHROMIUM"
export VERSIONER_SHOTS="${CARGO_TARGET_DIR:-$PWD/target}/browser"
mkdir -p "$VERSIONER_SHOTS"

echo "==> pytest versioner-server/tests/browser"
"$PY" -m pytest -q -p no:cacheprovider versioner-server/tests/browser
echo "==> browser tests passed"
