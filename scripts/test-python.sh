#!/usr/bin/env bash
# The Python binding's suite: builds `versioner` into ./.venv with maturin, runs pytest,
# checks the hand-written stubs with stubtest and the examples with `mypy --strict`; the
# remote Client is tested against `versioner serve` (built here with cargo).
# Needs only Rust and Python >= 3.9 (with venv); creates the virtual environment if missing.
# Called by scripts/test.sh; runs on its own too. With arguments, builds the same way and runs
# only `pytest ARGS` (scripts/test-postgres.sh runs versioner-py/tests/test_postgres.py so).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
PY="$VENV/bin/python"

if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 9)' 2>/dev/null; then
  echo "==> creating $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
fi

# Pinned: a test run uses the same tools on every machine (bump them here, on purpose).
# icalendar (6.x still installs on Python 3.9): test_calendar_ics.py parses
# `versioner calendar --format ics` with it.
echo "==> pip install maturin pytest mypy openapi-spec-validator icalendar prometheus_client"
"$PY" -m pip install --quiet --disable-pip-version-check 'maturin==1.16.0' 'pytest==9.2.0' \
  'mypy==2.4.1' 'openapi-spec-validator==0.9.0' 'icalendar==6.3.2' \
  'prometheus_client==0.26.0'

echo "==> maturin develop (versioner-py)"
# maturin finds ./.venv through VIRTUAL_ENV; the build is a debug build.
VIRTUAL_ENV="$PWD/$VENV" "$VENV/bin/maturin" develop --quiet -m versioner-py/Cargo.toml

# The remote `versioner.Client` is tested against a real `versioner serve`.
if [ -f versioner-cli/Cargo.toml ]; then
  echo "==> cargo build -p versioner-cli (for the Client tests)"
  cargo build --quiet -p versioner-cli
  export VERSIONER_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/versioner"
fi

if [ "$#" -gt 0 ]; then
  echo "==> pytest $*"
  "$PY" -m pytest -q -p no:cacheprovider "$@"
  exit
fi

echo "==> pytest versioner-py/tests"
set +e
"$PY" -m pytest -q -p no:cacheprovider versioner-py/tests
status=$?
set -e
case "$status" in
  0) ;;
  5) echo "error: pytest collected no tests from versioner-py/tests" >&2; exit 1 ;;
  *) echo "error: pytest failed (exit $status)" >&2; exit "$status" ;;
esac

# The server's OpenAPI document validates as OpenAPI 3.1 (openapi-spec-validator from this venv);
# VERSIONER_REQUIRE_TOOLS makes the test fail, not skip, if the validator were missing.
echo "==> openapi-spec-validator: /openapi.json is valid OpenAPI 3.1"
VERSIONER_REQUIRE_TOOLS=1 VERSIONER_VENV="$PWD/$VENV" \
  cargo test --quiet -p versioner-server --test openapi -- --exact the_document_is_valid_openapi_3_1

echo "==> stubtest versioner._native, versioner"
"$PY" -m mypy.stubtest versioner._native
"$PY" -m mypy.stubtest versioner

echo "==> mypy --strict examples/python versioner-py/tests"
"$PY" -m mypy --strict --no-incremental examples/python
"$PY" -m mypy --strict --no-incremental versioner-py/tests

echo "==> python binding: all checks passed"
