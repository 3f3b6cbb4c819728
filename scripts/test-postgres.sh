#!/usr/bin/env bash
# Everything PostgreSQL against a throwaway cluster: the Store conformance suites, the outage
# test, the CLI's --database-url, and the bindings' connect functions (C, Python, Node).
# Never skipped: if no server can be started, this fails, and VERSIONER_REQUIRE_POSTGRES=1 makes
# every binding test that needs the database fail rather than skip without it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
pg_start
trap pg_stop EXIT
# Every PostgreSQL test below must run against the cluster: none may skip.
export VERSIONER_REQUIRE_POSTGRES=1

# Every core suite (tracking, rules, policy vectors, concurrency) against PostgreSQL.
cargo test -p versioner-core --features postgres --test tracking --test rules --test policy_vectors --test concurrency --test outbox --test trust --test identity --test insights --test requests --test queue --test skew --test import
# Notification delivery on PostgreSQL: per-channel leases (several deliverers, each event once),
# cursors, retries and the history.
cargo test -p versioner-core --features postgres,notify --test notifications --test buttons --test subscriptions
# Losing the database mid-run: STORAGE errors, then recovery (stops and starts the cluster, so it
# runs alone).
cargo test -p versioner-core --features postgres --test pg_outage

# The CLI: in-process commands and `versioner serve` on --database-url; two servers on one
# database admit exactly one of 32 concurrent `started` events.
cargo test -p versioner-cli --features postgres --test tests database_url
cargo test -p versioner-cli --features postgres --test tests crash::
cargo test -p versioner-cli --features postgres --test postgres_servers
# The bindings: versioner_connect_postgres (C), Versioner.connect (Python, Node). The C test
# reuses the workspace build (as scripts/test-c.sh does); the Python and Node scripts build
# their module, then run only their PostgreSQL tests.
cargo test --workspace --test c_api -- --exact c_program_on_postgresql
bash scripts/test-python.sh versioner-py/tests/test_postgres.py
bash scripts/test-node.sh __test__/postgres.test.mjs
