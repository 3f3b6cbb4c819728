#!/usr/bin/env bash
# The Store conformance suites against a throwaway PostgreSQL cluster, plus the outage test.
# Never skipped: if no server can be started, this fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
pg_start
trap pg_stop EXIT

# Every core suite (tracking, rules, policy vectors, concurrency) against PostgreSQL.
cargo test -p versioner-core --features postgres --test tracking --test rules --test policy_vectors --test concurrency
# Losing the database mid-run: STORAGE errors, then recovery (stops and starts the cluster, so it
# runs alone).
cargo test -p versioner-core --features postgres --test pg_outage
