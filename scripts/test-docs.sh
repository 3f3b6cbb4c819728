#!/usr/bin/env bash
# The guide's checks (called by scripts/test.sh; runs on its own too). On a fresh machine with
# Rust, Python >= 3.9, Node >= 20, npm and gcc it:
#   1. installs the pinned mdBook into the target directory (tools/bin) and builds the guide;
#   2. builds what the examples run against: the `versioner` CLI, the Python binding (into
#      ./.venv, as scripts/test-python.sh does), the Node addon (keeping the committed
#      generated files as they are: scripts/test-node.sh checks them) and the C library;
#   3. tests the docs runner and the link checker on broken fixtures (they must fail);
#   4. runs every code block of README.md and docs/src (scripts/docs/run_examples.py) and
#      checks every relative link and anchor (scripts/docs/check_links.py).
# The guide's Rust blocks are doctests of versioner-core (src/guide.rs): `cargo test` runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

MDBOOK_VERSION=0.5.4
target_dir="${CARGO_TARGET_DIR:-$root/target}"
tools="$target_dir/tools"
mdbook="$tools/bin/mdbook"

echo "==> mdbook $MDBOOK_VERSION"
if ! { [ -x "$mdbook" ] && "$mdbook" --version | grep -qx "mdbook v$MDBOOK_VERSION"; }; then
  echo "installing mdbook $MDBOOK_VERSION into $tools"
  CARGO_TARGET_DIR="$target_dir/tools-build" cargo install mdbook --version "$MDBOOK_VERSION" --locked \
    --no-default-features --features search --root "$tools" --quiet
fi
"$mdbook" build docs --dest-dir "$target_dir/book"

echo "==> versioner CLI"
cargo build --quiet -p versioner-cli

echo "==> Python binding (.venv)"
PY=.venv/bin/python
if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 9)' 2>/dev/null; then
  rm -rf .venv
  "${PYTHON:-python3}" -m venv .venv
fi
"$PY" -m pip install --quiet --disable-pip-version-check 'maturin==1.16.0'
VIRTUAL_ENV="$root/.venv" .venv/bin/maturin develop --quiet -m versioner-py/Cargo.toml

echo "==> Node addon"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd versioner-node && npm install --no-audit --no-fund --loglevel=error)
# The napi build rewrites index.js and index.d.ts; put the committed ones back, so that
# scripts/test-node.sh still compares the committed files with its own fresh build.
for f in index.js index.d.ts; do cp "versioner-node/$f" "$work/$f"; done
(cd versioner-node && node_modules/.bin/napi build --platform >/dev/null)
for f in index.js index.d.ts; do cp "$work/$f" "versioner-node/$f"; done

echo "==> C library"
# The libraries the C tests link (target/debug/deps), as scripts/test-c.sh does: building
# versioner-ffi on its own would unify features differently and rebuild much of the graph.
cargo test --workspace --test c_api --no-run --quiet

export VERSIONER_DOCS_BIN_DIR="$target_dir/debug"
export VERSIONER_DOCS_PYTHON="$root/.venv/bin/python"
export VERSIONER_DOCS_NODE_MODULE="$root/versioner-node"
export VERSIONER_DOCS_C_LIBDIR="$target_dir/debug/deps"

echo "==> the runner and the link checker fail on broken fixtures"
python3 -m unittest discover -s scripts/docs -p 'test_*.py'

echo "==> every example of README.md and docs/src"
python3 scripts/docs/run_examples.py

echo "==> every relative link and anchor"
python3 scripts/docs/check_links.py

echo "==> docs: all checks passed"
