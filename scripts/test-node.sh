#!/usr/bin/env bash
# The Node binding's suite (called by scripts/test.sh). On a fresh machine with Rust, Node >= 20
# and npm it:
#   1. installs the npm dev tools exactly as the committed lock says (`npm ci`: the versions
#      pinned in package.json and package-lock.json, nothing resolved anew), and fails if the
#      lock was rewritten (a test run must leave the tree as it found it);
#   2. builds the addon with the napi CLI (debug) and fails if the committed generated files
#      (versioner-node/index.js, index.d.ts) differ from the fresh build;
#   3. builds `versioner serve` and runs `node --test` (the remote Client is tested against it);
#   4. type-checks the TypeScript example with `tsc --noEmit`, then compiles and runs it.
# With arguments (test files under versioner-node/), steps 1-3 run only those files
# (scripts/test-postgres.sh runs __test__/postgres.test.mjs so).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required for the Node suite" >&2; exit 1; }
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "error: Node >= 20 is required, found $(node --version)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "==> npm ci (versioner-node)"
cp versioner-node/package-lock.json "$work/package-lock.json.committed"
(cd versioner-node && npm ci --no-audit --no-fund --loglevel=error)
if ! cmp -s "$work/package-lock.json.committed" versioner-node/package-lock.json; then
  diff -u "$work/package-lock.json.committed" versioner-node/package-lock.json >&2 || true
  echo "error: npm ci rewrote versioner-node/package-lock.json (diff above)" >&2
  exit 1
fi

echo "==> napi build (debug)"
generated=(index.js index.d.ts)
for f in "${generated[@]}"; do
  [ -f "versioner-node/$f" ] && cp "versioner-node/$f" "$work/$f.committed"
done
(cd versioner-node && node_modules/.bin/napi build --platform)

echo "==> generated files match the fresh build"
stale=0
for f in "${generated[@]}"; do
  if [ ! -f "$work/$f.committed" ]; then
    echo "error: versioner-node/$f was missing; it has now been generated: commit it" >&2
    stale=1
  elif ! diff -u "$work/$f.committed" "versioner-node/$f"; then
    echo "error: versioner-node/$f differs from a fresh build (diff above); commit the regenerated file" >&2
    stale=1
  fi
done
[ "$stale" -eq 0 ]

echo "==> versioner serve (for the Client tests)"
cargo build -p versioner-cli --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
export VERSIONER_BIN="$target_dir/debug/versioner"
export VERSIONER_REQUIRE_SERVER=1

if [ "$#" -gt 0 ]; then
  echo "==> node --test $*"
  (cd versioner-node && node --test "$@")
  exit
fi

echo "==> node --test"
# No arguments: Node 20 treats arguments as paths and Node >= 21 as globs; the default
# patterns find versioner-node/__test__/*.test.mjs on both.
(cd versioner-node && node --test)

echo "==> TypeScript example: tsc --noEmit"
tsc="$root/versioner-node/node_modules/.bin/tsc"
"$tsc" -p examples/node --noEmit

echo "==> TypeScript example: run"
"$tsc" -p examples/node --outDir "$work/example"
mkdir -p "$work/example/node_modules/@versioner"
ln -s "$root/versioner-node" "$work/example/node_modules/@versioner/node"
(cd "$work/example" && node quickstart.js >/dev/null && node quickstart.js "$work/example/q.db" >/dev/null \
  && node quickstart.js "$work/example/q.db" | grep -q 'checkout  1.0.1  1.0.1    1.0.1')

echo "==> node suite passed"
