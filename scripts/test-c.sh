#!/usr/bin/env bash
# The C binding's checks beyond plain `cargo test` (run by scripts/test.sh after it):
#  1. the C test program under valgrind -- no leak, no invalid access -- installing valgrind
#     when it is missing (required when CI=true);
#  2. the example's Makefile and pkg-config file: build the preflight gate against the shared
#     and the static library, and check its exit codes (0 allowed, 5 blocked).
# `cargo test` already compiles and runs the C tests against both libraries (tests/c_api.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--> valgrind"
if ! command -v valgrind >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    echo "installing valgrind (apt-get)"
    $SUDO apt-get install -y valgrind >/dev/null 2>&1 ||
      { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y valgrind >/dev/null 2>&1; } ||
      true
  fi
fi
if command -v valgrind >/dev/null 2>&1; then
  # Reuses the pass `cargo test` just recorded for the same library, else runs it now.
  VERSIONER_VALGRIND=1 cargo test --workspace --test c_api -- --exact c_program_under_valgrind_is_clean
elif [ "${CI:-}" = "true" ]; then
  echo "error: valgrind is required in CI and could not be installed" >&2
  exit 1
else
  echo "warning: valgrind is not installed and could not be installed; memory check skipped" >&2
fi

echo "--> examples/c: Makefile and pkg-config"
# Against the libraries the test build left in target/debug/deps (PROFILE selects the directory
# under target/): a `cargo build -p versioner-ffi` here would unify features differently and
# recompile half the dependency graph, and the next `cargo test --workspace` would again.
cargo test --workspace --test c_api --no-run --quiet
make -C examples/c --no-print-directory PROFILE=debug/deps clean all >/dev/null
db="$(mktemp -d)/gate.db"
trap 'rm -rf "$(dirname "$db")"; make -C examples/c --no-print-directory clean >/dev/null' EXIT
for gate in examples/c/preflight_gate examples/c/preflight_gate_static; do
  set +e
  "$gate" --db "$db" --policy examples/c/versioner.toml \
    --product api --version 1.0.0 --environment production >/dev/null
  blocked=$?
  "$gate" --db "$db" --product api --version 1.0.0 --environment staging --record >/dev/null
  allowed=$?
  set -e
  if [ "$blocked" != 5 ] || [ "$allowed" != 0 ]; then
    echo "error: $gate exited $blocked (want 5, blocked) and $allowed (want 0, allowed)" >&2
    exit 1
  fi
  rm -f "$db" "$db-wal" "$db-shm"
done
echo "C binding: valgrind and examples/c OK"
