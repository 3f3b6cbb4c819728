#!/usr/bin/env bash
# Runs every benchmark of the project and writes BENCHMARKS.md. One command:
#
#   ./scripts/bench.sh
#
# Needs Rust, Python >= 3.9 (with venv), Node >= 20 and npm; PostgreSQL is started with
# scripts/pg.sh (installed with apt-get when missing, as root). Takes 5-6 minutes on a 2-core
# machine when the release builds are up to date; the first run builds them (about 8 minutes).
#
# What it measures (benches/, the numbering of BENCHMARKS.md):
#   1-4  criterion, benches/preflight.rs: preflight+record vs a raw rusqlite baseline, growth
#        with history, the dry-run check vs one indexed read, durable ingest vs the raw
#        single-commit floor; plus benches/calls.rs `pair` (1, interleaved, robust to fsync drift);
#        and benches/rego.rs (3): the pure evaluation vs Regorus's interpreter and bytecode VM
#        on the same five rules written in Rego (benches/rego/five_rules.rego), per scenario
#   5    bindings: benches/calls.rs (Rust), benches/bindings/calls.py, benches/bindings/calls.mjs
#   6    CLI: benches/cli.rs, a whole `versioner --db FILE track deployment` process
#   7    server: benches/server.rs, `POST /deployment-events/` over loopback (127.0.0.1 only,
#        bounded in requests and time) on SQLite and PostgreSQL, vs the single-commit floor
#   8    dashboard: benches/dashboard.rs (criterion), the home page for 200 products × 20
#        environments rendered server-side, and its size as sent (gzip)
#   9    notifications: benches/delivery.rs (criterion), delivery throughput to a local receiver
#        vs raw signed POSTs to it, recording with 0 vs 3 channels; and the outbox's cost in a
#        preflight+record round (benches/calls.rs `pair`: the raw baseline with and without the
#        outbox's statements)
#   10   history import: benches/import.rs, events/s of importing N events (JSON Lines) vs the
#        raw bulk-insert floor (the same rows in one rusqlite transaction) in the same run
# and benches/report.py turns the results into BENCHMARKS.md (+ benches/analysis.md verbatim).
#
# Builds are release builds kept apart from the debug builds other work uses:
#   cargo   target/release: `versioner` (feature postgres) and the bench drivers
#   Python  a release wheel (`maturin build --release`) installed into target/bench/venv
#   Node    `napi build --release --output-dir target/bench/node`; the addon is loaded by path
# so neither versioner-py/python/ nor versioner-node/ (their debug artifacts) is touched.
#
# Knobs: VERSIONER_BENCH_SIZES (growth, default 1000,100000,1000000),
# VERSIONER_BENCH_IMPORT_SIZES (history import, default 1000000), BENCH_PG=0 (skip
# PostgreSQL), BENCH_SKIP_CRITERION=1 (reuse the last criterion results; the report marks them
# missing if they are older than this run). Not part of scripts/test.sh: benchmarks are not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/target/bench
results=$out/results
rm -rf "$results"
mkdir -p "$results"

started=$(date +%s)
stage_start=$started
printf 'started\t%s\n' "$started" >"$results/timings.tsv"
: >"$results/commands.txt"
stage() {
  local now
  now=$(date +%s)
  printf '%s\t%s\n' "$1" "$((now - stage_start))" >>"$results/timings.tsv"
  stage_start=$now
}
# Logs a command (paths relative to the repository) to commands.txt and stderr, then runs it.
run() {
  local shown="${*//$root\//}"
  [ "$PWD" = "$root" ] || shown="(cd ${PWD#"$root"/}) $shown"
  echo "$shown" >>"$results/commands.txt"
  echo "==> $shown" >&2
  "$@"
}

for tool in cargo python3 node npm; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

# ----- builds (release) ----------------------------------------------------------------------
echo "==> cargo build --release: versioner (feature postgres) and the bench drivers" >&2
targets=(--bin versioner --bench preflight --bench calls --bench cli --bench server --bench dashboard --bench delivery --bench import --bench rego)
features=versioner-cli/postgres,versioner/rego-comparison
echo "cargo build --release -p versioner-cli -p versioner ${targets[*]} --features $features" \
  >>"$results/commands.txt"
cargo build --release -p versioner-cli -p versioner "${targets[@]}" \
  --features "$features" --message-format=json-render-diagnostics >"$out.cargo.json"
eval "$(python3 - "$out.cargo.json" <<'EOF'
import json, sys
names = {"preflight": "PREFLIGHT", "calls": "CALLS", "cli": "CLI", "server": "SERVER", "dashboard": "DASHBOARD", "delivery": "DELIVERY", "import": "IMPORT", "rego": "REGO", "versioner": "VERSIONER"}
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    kind = "bin" if m["target"]["name"] == "versioner" else "bench"
    if m["target"]["name"] in names and m["target"]["kind"] == [kind]:
        print(f'{names[m["target"]["name"]]}="{m["executable"]}"')
EOF
)"
rm -f "$out.cargo.json"
for v in PREFLIGHT CALLS CLI SERVER DASHBOARD DELIVERY IMPORT REGO VERSIONER; do
  [ -n "${!v:-}" ] || { echo "error: cargo did not report the $v executable" >&2; exit 1; }
done
stage "cargo build"

venv=$out/venv
py=$venv/bin/python
if ! "$py" -c 'import sys; assert sys.version_info >= (3, 9)' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
"$py" -m pip install --quiet --disable-pip-version-check 'maturin==1.16.0'
rm -rf "$out/wheels"
run "$venv/bin/maturin" build --release --quiet -m versioner-py/Cargo.toml -i "$py" -o "$out/wheels" >&2
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$out"/wheels/*.whl
stage "Python wheel (release)"

if [ ! -x versioner-node/node_modules/.bin/napi ]; then
  (cd versioner-node && npm ci --no-audit --no-fund --loglevel=error)
fi
rm -rf "$out/node"
mkdir -p "$out/node"
(cd versioner-node && run node_modules/.bin/napi build --release --output-dir "$out/node" \
  --dts index.d.ts >&2)
addon=$(find "$out/node" -maxdepth 1 -name '*.node' | head -n 1)
[ -n "$addon" ] || { echo "error: napi build produced no .node file in $out/node" >&2; exit 1; }
stage "Node addon (release)"

# ----- 1-4: criterion ------------------------------------------------------------------------
export CRITERION_HOME=$root/target/criterion
if [ "${BENCH_SKIP_CRITERION:-0}" != 1 ]; then
  run "$PREFLIGHT" --bench >"$out/criterion.log" 2>&1 || { tail -n 40 "$out/criterion.log" >&2; exit 1; }
  stage "criterion (1-4)"
  run "$REGO" --bench >"$out/rego.log" 2>&1 || { tail -n 40 "$out/rego.log" >&2; exit 1; }
  stage "evaluation vs Regorus (3)"
  run env VERSIONER_BENCH_RESULTS="$results" "$DASHBOARD" --bench >"$out/dashboard.log" 2>&1 \
    || { tail -n 40 "$out/dashboard.log" >&2; exit 1; }
  stage "dashboard (8)"
  run env VERSIONER_BENCH_RESULTS="$results" "$DELIVERY" --bench >"$out/delivery.log" 2>&1 || { tail -n 40 "$out/delivery.log" >&2; exit 1; }
  stage "notification delivery (9)"
fi
run "$CALLS" pair full 1500 >"$results/pair-full.json"
run "$CALLS" pair normal 3000 >"$results/pair-normal.json"
stage "preflight+record interleaved (1)"

# ----- 5: bindings ---------------------------------------------------------------------------
fixture=$out/fixture.db
rm -f "$fixture" "$fixture-wal" "$fixture-shm"
run "$CALLS" fixture "$fixture"
for rep in 1 2 3; do
  for lang in rust python node; do
    db=$out/calls-$lang.db
    cp "$fixture" "$db"
    rm -f "$db-wal" "$db-shm"
    case $lang in
      rust) run "$CALLS" measure "$db" 5000 >"$results/calls-rust-$rep.json" ;;
      python) run "$py" benches/bindings/calls.py "$db" 5000 >"$results/calls-python-$rep.json" ;;
      node) run node benches/bindings/calls.mjs "$addon" "$db" 5000 >"$results/calls-node-$rep.json" ;;
    esac
  done
done
stage "bindings (5)"

# ----- 6: CLI --------------------------------------------------------------------------------
run "$CLI" "$VERSIONER" "$fixture" 60 >"$results/cli.json"
stage "CLI (6)"

# ----- 7: server -----------------------------------------------------------------------------
run "$SERVER" "$VERSIONER" sqlite >"$results/server-sqlite.json"
stage "server SQLite (7)"
if [ "${BENCH_PG:-1}" != 0 ]; then
  # shellcheck source=scripts/pg.sh
  source scripts/pg.sh
  trap pg_stop EXIT
  pg_start >&2
  # scripts/pg.sh runs its test cluster with fsync=off; the floor and the server are measured
  # durable (PostgreSQL's defaults: fsync=on, synchronous_commit=on).
  if [[ $VERSIONER_TEST_PG_CTL == *fsync=off* ]]; then
    eval "${VERSIONER_TEST_PG_CTL/fsync=off/fsync=on} -m fast -w restart" >/dev/null
    echo "PostgreSQL: the throwaway cluster of scripts/pg.sh, restarted with fsync=on" >>"$results/commands.txt"
  else
    echo "PostgreSQL: the throwaway cluster of scripts/pg.sh, as it configures it" >>"$results/commands.txt"
  fi
  run "$SERVER" "$VERSIONER" postgres "$VERSIONER_TEST_DATABASE_URL" >"$results/server-postgres.json"
  pg_stop
  trap - EXIT
  stage "server PostgreSQL (7)"
fi

# ----- 9: history import ---------------------------------------------------------------------
# shellcheck disable=SC2086 # the sizes are a list
run "$IMPORT" ${VERSIONER_BENCH_IMPORT_SIZES:-1000000} >"$results/import.json"
stage "history import (9)"

# ----- report --------------------------------------------------------------------------------
total=$(($(date +%s) - started))
printf 'total\t%s\n' "$total" >>"$results/timings.tsv"
BENCH_PYTHON=$py python3 benches/report.py "$results" "$CRITERION_HOME" BENCHMARKS.md
echo "==> BENCHMARKS.md written in ${total}s" >&2
