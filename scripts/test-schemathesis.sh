#!/usr/bin/env bash
# Schemathesis against a running `versioner serve`: every operation of /openapi.json is called
# with generated requests (valid and invalid, every method, the stateful phase following the
# document's links); the run fails on any 5xx, any response whose status, content type,
# headers or body does not match the document, a 405 without `Allow`, or a method the document
# does not list answered with anything but 405. Installs schemathesis (pinned) into ./.venv, as
# scripts/test-python.sh does. Called by scripts/test.sh; runs on its own too.
# SCHEMATHESIS_EXAMPLES (default 25) sets the cases per operation.
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
echo "==> pip install schemathesis==4.32.5"
"$PY" -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'

echo "==> cargo build -p versioner-cli"
cargo build --quiet -p versioner-cli
BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/versioner"

WORK="$(mktemp -d)"
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

KEY="$("$BIN" keys create --db "$WORK/v.db" --name admin --role admin | tail -n 1)"
"$BIN" serve --db "$WORK/v.db" --listen 127.0.0.1:0 >"$WORK/out" 2>"$WORK/err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$WORK/out" 2>/dev/null && break
  sleep 0.1
done
URL="$(sed -n 's/^listening on //p' "$WORK/out" | head -n 1)"
if [ -z "$URL" ]; then
  echo "error: versioner serve did not start:" >&2
  cat "$WORK/err" >&2
  exit 1
fi
# A wrong key would only make schemathesis warn and test 401s: check it first.
if ! "$PY" - "$URL" "$KEY" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/rules/", headers={"Authorization": "Bearer " + sys.argv[2]})
sys.exit(0 if urllib.request.urlopen(req).status == 200 else 1)
PY
then
  echo "error: the admin key was refused by $URL" >&2
  exit 1
fi

echo "==> schemathesis run $URL/openapi.json"
cd "$WORK"
# scripts/schemathesis_hooks.py: how to send the JSON Lines body of POST /import.
PYTHONPATH="$OLDPWD/scripts" SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$OLDPWD/$VENV/bin/schemathesis" run "$URL/openapi.json" \
  -H "Authorization: Bearer $KEY" \
  --seed 1 \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method,allow_header_conformance,missing_required_header
echo "==> schemathesis: no 5xx, every response matches the document"
