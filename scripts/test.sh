#!/usr/bin/env bash
# Runs every test of the project: lint, docs, Rust (core, CLI, server, C ABI) and each
# binding's suite (scripts/test-*.sh), installing what they need on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "==> cargo test"
cargo test --workspace

for suite in scripts/test-*.sh; do
  [ -e "$suite" ] || continue
  echo "==> $suite"
  bash "$suite"
done
echo "==> all tests passed"
