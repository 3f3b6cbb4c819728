#!/usr/bin/env bash
# The long fuzz run (not part of scripts/test.sh): the property tests over every parser and
# every request body, with many more cases than the default suite runs.
#   scripts/fuzz.sh            # 20000 cases per property
#   PROPTEST_CASES=200000 scripts/fuzz.sh
# A failure prints the minimal failing input; proptest saves it under proptest-regressions/
# so the default suite replays it from then on (commit that file with the fix).
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${PROPTEST_CASES:-20000}"
echo "==> property tests with PROPTEST_CASES=$PROPTEST_CASES"
cargo test --release -p versioner-core --test parsers
cargo test --release -p versioner-server --test input_edges -- any_body_is_a_clear_answer
echo "==> fuzz run passed"
