//! The schemas and their versioned migrations, SQLite's and PostgreSQL's side by side: a
//! change to one is made to the other in the same commit.
//!
//! `PRAGMA user_version` holds the schema version. Opening runs every migration above it, each
//! in its own transaction; a database whose version is above [`SCHEMA_VERSION`] was written by a
//! newer library and is refused.

/// Fills the four keys' rollups (created empty by migration 14) from the ledger: the end of
/// migration 14, and of an import large enough that refilling beats upkeep per event.
macro_rules! sqlite_dora_fill {
    () => {
        r#"
INSERT INTO dora_days(environment_id, day, product_id, successes, failures)
SELECT environment_id, substr(completed_at, 1, 10), product_id,
       SUM(status = 'completed'), SUM(status = 'failed')
FROM deployments WHERE status IN ('completed', 'failed') AND completed_at IS NOT NULL
GROUP BY 1, 2, 3;
INSERT INTO dora_days(environment_id, day, product_id, successes, failures)
SELECT environment_id, day, 0, SUM(successes), SUM(failures) FROM dora_days GROUP BY environment_id, day;
INSERT INTO dora_versions(version_id, product_id, first_at, first_env, last_first_at, firsts, lead_start_at)
SELECT f.version_id, v.product_id, MIN(f.first_at),
       CAST(substr(MIN(f.first_at || '|' || f.environment_id), 29) AS INTEGER),
       MAX(f.first_at), group_concat(f.environment_id || '=' || f.first_at, ';'),
       COALESCE(v.scm_committed_at, (SELECT MIN(b.started_at) FROM builds b WHERE b.version_id = v.id), v.created_at)
FROM (SELECT version_id, environment_id, MIN(completed_at) AS first_at FROM deployments
      WHERE status = 'completed' AND completed_at IS NOT NULL GROUP BY version_id, environment_id) f
JOIN versions v ON v.id = f.version_id
GROUP BY f.version_id;
INSERT INTO dora_failures(deployment_id, product_id, environment_id, completed_at, restored_at)
SELECT d.id, d.product_id, d.environment_id, d.completed_at,
       (SELECT MIN(s.completed_at) FROM deployments s WHERE s.product_id = d.product_id
        AND s.environment_id = d.environment_id AND s.status = 'completed'
        AND (s.completed_at > d.completed_at OR (s.completed_at = d.completed_at AND s.id > d.id)))
FROM deployments d WHERE d.status = 'failed' AND d.completed_at IS NOT NULL;
"#
    };
}

/// Empties the four keys' rollups, then fills them from the ledger (`sqlite_dora_fill`).
pub(super) const SQLITE_DORA_REFILL: &str = concat!(
    "DELETE FROM dora_days; DELETE FROM dora_versions; DELETE FROM dora_failures;",
    sqlite_dora_fill!()
);

/// As `sqlite_dora_fill`, for PostgreSQL.
#[cfg(feature = "postgres")]
macro_rules! pg_dora_fill {
    () => {
        r#"
INSERT INTO dora_days(environment_id, day, product_id, successes, failures)
SELECT environment_id, (completed_at AT TIME ZONE 'UTC')::date, product_id,
       COUNT(*) FILTER (WHERE status = 'completed'), COUNT(*) FILTER (WHERE status = 'failed')
FROM deployments WHERE status IN ('completed', 'failed') AND completed_at IS NOT NULL
GROUP BY 1, 2, 3;
INSERT INTO dora_days(environment_id, day, product_id, successes, failures)
SELECT environment_id, day, 0, SUM(successes), SUM(failures) FROM dora_days GROUP BY environment_id, day;
INSERT INTO dora_versions(version_id, product_id, first_at, first_env, last_first_at, firsts, lead_start_at)
SELECT f.version_id, v.product_id, MIN(f.first_at),
       (array_agg(f.environment_id ORDER BY f.first_at, f.environment_id))[1],
       MAX(f.first_at),
       string_agg(f.environment_id::text || '=' || to_char(f.first_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ';'),
       COALESCE(v.scm_committed_at, (SELECT MIN(b.started_at) FROM builds b WHERE b.version_id = v.id), v.created_at)
FROM (SELECT version_id, environment_id, MIN(completed_at) AS first_at FROM deployments
      WHERE status = 'completed' AND completed_at IS NOT NULL GROUP BY version_id, environment_id) f
JOIN versions v ON v.id = f.version_id
GROUP BY f.version_id, v.product_id, v.scm_committed_at, v.id, v.created_at;
INSERT INTO dora_failures(deployment_id, product_id, environment_id, completed_at, restored_at)
SELECT d.id, d.product_id, d.environment_id, d.completed_at,
       (SELECT MIN(s.completed_at) FROM deployments s WHERE s.product_id = d.product_id
        AND s.environment_id = d.environment_id AND s.status = 'completed'
        AND (s.completed_at > d.completed_at OR (s.completed_at = d.completed_at AND s.id > d.id)))
FROM deployments d WHERE d.status = 'failed' AND d.completed_at IS NOT NULL;
"#
    };
}

/// As [`SQLITE_DORA_REFILL`], for PostgreSQL.
#[cfg(feature = "postgres")]
pub(super) const PG_DORA_REFILL: &str = concat!(
    "DELETE FROM dora_days; DELETE FROM dora_versions; DELETE FROM dora_failures;",
    pg_dora_fill!()
);

/// The newest schema version this library writes.
pub const SCHEMA_VERSION: i64 = 15;

/// Migrations; entry `i` takes the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
CREATE TABLE products(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE environments(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  env_type TEXT NOT NULL,
  type_overridden INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE versions(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  product_id INTEGER NOT NULL REFERENCES products(id),
  version TEXT NOT NULL,
  scm_sha TEXT,
  scm_branch TEXT,
  scm_repository TEXT,
  build_number TEXT,
  build_url TEXT,
  built_by TEXT,
  created_at TEXT NOT NULL,
  UNIQUE(product_id, version)
);
CREATE INDEX versions_by_product ON versions(product_id, id);
CREATE INDEX versions_by_sha ON versions(scm_sha) WHERE scm_sha IS NOT NULL;
CREATE TABLE builds(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  version_id INTEGER NOT NULL REFERENCES versions(id),
  status TEXT NOT NULL,
  is_open INTEGER NOT NULL,
  built_by TEXT,
  started_at TEXT,
  completed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  fields TEXT NOT NULL,
  extra_metadata TEXT NOT NULL
);
CREATE INDEX builds_by_version ON builds(version_id, is_open, id);
CREATE TABLE build_events(
  id INTEGER PRIMARY KEY,
  build_id INTEGER NOT NULL REFERENCES builds(id),
  status TEXT NOT NULL,
  invoke_id TEXT,
  recorded_at TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX build_events_by_invoke ON build_events(invoke_id, status) WHERE invoke_id IS NOT NULL;
CREATE TABLE deployments(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  product_id INTEGER NOT NULL REFERENCES products(id),
  version_id INTEGER NOT NULL REFERENCES versions(id),
  environment_id INTEGER NOT NULL REFERENCES environments(id),
  status TEXT NOT NULL,
  is_open INTEGER NOT NULL,
  deployed_at TEXT NOT NULL,
  started_at TEXT,
  completed_at TEXT,
  updated_at TEXT NOT NULL,
  fields TEXT NOT NULL,
  extra_metadata TEXT NOT NULL
);
CREATE TABLE preflights(
  deployment_id INTEGER PRIMARY KEY REFERENCES deployments(id),
  preflight TEXT NOT NULL
);
CREATE INDEX deployments_open ON deployments(environment_id) WHERE is_open = 1;
CREATE INDEX deployments_by_outcome ON deployments(product_id, environment_id, status, completed_at);
CREATE INDEX deployments_by_version ON deployments(product_id, environment_id, version_id, status, completed_at);
CREATE INDEX deployments_by_start ON deployments(product_id, environment_id, deployed_at);
CREATE INDEX deployments_by_time ON deployments(deployed_at);
CREATE TABLE deployment_events(
  id INTEGER PRIMARY KEY,
  deployment_id INTEGER NOT NULL REFERENCES deployments(id),
  status TEXT NOT NULL,
  invoke_id TEXT,
  recorded_at TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX deployment_events_by_deployment ON deployment_events(deployment_id);
CREATE INDEX deployment_events_by_invoke ON deployment_events(invoke_id, status) WHERE invoke_id IS NOT NULL;
CREATE TABLE product_environments(
  product_id INTEGER NOT NULL REFERENCES products(id),
  environment_id INTEGER NOT NULL REFERENCES environments(id),
  PRIMARY KEY(product_id, environment_id)
) WITHOUT ROWID;
CREATE TABLE rules(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  position INTEGER NOT NULL,
  status TEXT NOT NULL,
  definition TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE rule_status_changes(
  id INTEGER PRIMARY KEY,
  rule_name TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  changed_at TEXT NOT NULL
);
CREATE INDEX rule_status_changes_by_rule ON rule_status_changes(rule_name, id);
CREATE TABLE approvals(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  version_id INTEGER NOT NULL REFERENCES versions(id),
  approval_type TEXT NOT NULL,
  approver TEXT NOT NULL,
  approver_role TEXT,
  environment TEXT,
  comment TEXT,
  granted_at TEXT NOT NULL,
  revoked_at TEXT,
  revoked_by TEXT,
  revoke_reason TEXT
);
CREATE INDEX approvals_by_version ON approvals(version_id, id);
"#,
    // 2: server state (API keys, idempotency records) and the outbox of domain events.
    r#"
CREATE TABLE api_keys(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  prefix TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at TEXT
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys(name) WHERE revoked_at IS NULL;
CREATE TABLE idempotency(
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  result TEXT,
  status INTEGER,
  content_type TEXT,
  body BLOB,
  created_at TEXT NOT NULL,
  PRIMARY KEY(scope, key)
);
CREATE INDEX idempotency_created ON idempotency(created_at);
CREATE TABLE outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_type TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  actor TEXT,
  subject TEXT,
  payload TEXT NOT NULL
);
CREATE TABLE outbox_consumers(
  name TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
"#,
    // 3: elapsed-time policy (soak, order) reads recorded times: a completed deployment's
    // `updated_at` is when its completion was recorded.
    r#"
CREATE INDEX deployments_by_recorded_outcome ON deployments(product_id, environment_id, status, updated_at);
"#,
    // 4: the audit chain: each outbox event's hash chains to the previous one's.
    r#"
ALTER TABLE outbox ADD COLUMN hash TEXT;
"#,
    // 5: a record of every decision, and the policies they were decided under.
    r#"
CREATE TABLE decisions(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  recorded_at TEXT NOT NULL,
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  environment TEXT NOT NULL,
  status TEXT NOT NULL,
  outcome TEXT NOT NULL,
  actor TEXT,
  deployment_id TEXT,
  policy_hash TEXT NOT NULL,
  request TEXT NOT NULL,
  verdict TEXT NOT NULL,
  facts TEXT NOT NULL
);
CREATE INDEX decisions_by_time ON decisions(recorded_at);
CREATE INDEX decisions_by_outcome ON decisions(outcome, id);
CREATE TABLE policies(
  hash TEXT PRIMARY KEY,
  rules TEXT NOT NULL,
  first_seen TEXT NOT NULL
);
"#,
    // 6: principals (an API key belongs to one, and acts with its role) and the policy's
    // settings (the approval catalog). Each key name of an earlier version becomes a principal
    // with the role of its active (else newest) key; names equal but for ASCII case become one
    // principal. The roles of earlier versions are renamed: deployer → ci, approver →
    // release_manager.
    r#"
CREATE TABLE principals(
  name TEXT PRIMARY KEY,
  name_key TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT OR IGNORE INTO principals(name, name_key, role, created_at, updated_at)
  SELECT name, lower(trim(name)),
         CASE role WHEN 'deployer' THEN 'ci' WHEN 'approver' THEN 'release_manager' ELSE role END,
         created_at, created_at
  FROM api_keys ORDER BY (revoked_at IS NULL) DESC, created_at DESC, id;
ALTER TABLE api_keys ADD COLUMN principal TEXT REFERENCES principals(name);
UPDATE api_keys SET principal = (SELECT p.name FROM principals p WHERE p.name_key = lower(trim(api_keys.name)));
ALTER TABLE api_keys DROP COLUMN role;
CREATE INDEX api_keys_by_principal ON api_keys(principal);
CREATE TABLE settings(
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
"#,
    // 7: dashboard sessions (an API key exchanged for a session cookie; only the token's
    // SHA-256 is kept), and decisions found by their deployment (a cell's admitting verdict).
    r#"
CREATE TABLE sessions(
  token_hash TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  principal TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
CREATE INDEX decisions_by_deployment ON decisions(deployment_id) WHERE deployment_id IS NOT NULL;
"#,
    // 8: the catalog: products and environments carry a description and free JSON metadata.
    r#"
ALTER TABLE products ADD COLUMN description TEXT;
ALTER TABLE products ADD COLUMN extra_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE environments ADD COLUMN description TEXT;
ALTER TABLE environments ADD COLUMN extra_metadata TEXT NOT NULL DEFAULT '{}';
"#,
    // 9: notification channels (their config holds secrets: never returned), the preferences that
    // subscribe them to event types, each channel's delivery cursor and lease (one deliverer
    // per channel across processes), and the history of every delivery attempt.
    r#"
CREATE TABLE notification_channels(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  record TEXT NOT NULL,
  cursor_seq INTEGER NOT NULL,
  lease_holder TEXT,
  lease_until TEXT
);
CREATE TABLE notification_preferences(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  channel_uid TEXT NOT NULL REFERENCES notification_channels(uid) ON DELETE CASCADE,
  record TEXT NOT NULL
);
CREATE INDEX notification_preferences_by_channel ON notification_preferences(channel_uid);
CREATE TABLE notification_history(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  channel_uid TEXT NOT NULL,
  status TEXT NOT NULL,
  attempted_at TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX notification_history_by_channel ON notification_history(channel_uid, id);
CREATE INDEX notification_history_by_status ON notification_history(status, id);
"#,
    // 10: a version's commit time (where its lead time for changes starts), and the finished
    // deployments of an environment by finish time (the four keys read them so).
    r#"
ALTER TABLE versions ADD COLUMN scm_committed_at TEXT;
CREATE INDEX deployments_by_finish ON deployments(environment_id, completed_at) WHERE status IN ('completed', 'failed');
"#,
    // 11: Deployment Requests (the record holds slots, steps and history), the version and
    // environment pairs each one targets (what the preflight looks up), and templates.
    r#"
CREATE TABLE deployment_requests(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX deployment_requests_by_status ON deployment_requests(status, id);
CREATE TABLE deployment_request_targets(
  request_id INTEGER NOT NULL REFERENCES deployment_requests(id) ON DELETE CASCADE,
  version_uid TEXT NOT NULL,
  environment_key TEXT NOT NULL
);
CREATE INDEX deployment_request_targets_by_target ON deployment_request_targets(version_uid, environment_key);
CREATE INDEX deployment_request_targets_by_request ON deployment_request_targets(request_id);
CREATE TABLE deployment_request_templates(
  name TEXT PRIMARY KEY,
  record TEXT NOT NULL
);
"#,
    // 12: the wait queue: one ticket per waiting deployment, in arrival order (`id`) per
    // environment (its name key); the record is the ticket (`QueueEntry`).
    r#"
CREATE TABLE wait_queue(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uid TEXT NOT NULL UNIQUE,
  environment_key TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX wait_queue_by_environment ON wait_queue(environment_key, id);
"#,
    // 13: history import: builds and deployments recorded by `versioner import` carry the
    // instant of their import (`imported_at`; null for live records), and each imported line's
    // key (a hash of its canonical content) is kept so a second import of it writes nothing.
    r#"
ALTER TABLE builds ADD COLUMN imported_at TEXT;
ALTER TABLE deployments ADD COLUMN imported_at TEXT;
CREATE TABLE imported_lines(
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  record_id INTEGER NOT NULL,
  imported_at TEXT NOT NULL
) WITHOUT ROWID;
"#,
    // 14: the four keys' rollups, kept up to date as deployments finish so a DORA query reads
    // aggregates instead of the ledger: finished deployments per environment, product and UTC
    // day (product 0: every product); per version, its first success in each environment (`firsts`: `ENV=INSTANT`
    // entries joined by `;`, ENV the environment's key) and where its lead time starts; and
    // each failure with when it was restored (the next success of its product there). Filled
    // from the existing history here.
    concat!(
        r#"
CREATE TABLE dora_days(
  environment_id INTEGER NOT NULL,
  day TEXT NOT NULL,
  product_id INTEGER NOT NULL,
  successes INTEGER NOT NULL,
  failures INTEGER NOT NULL,
  PRIMARY KEY(environment_id, product_id, day)
) WITHOUT ROWID;
CREATE TABLE dora_versions(
  version_id INTEGER PRIMARY KEY,
  product_id INTEGER NOT NULL,
  first_at TEXT NOT NULL,
  first_env INTEGER NOT NULL,
  last_first_at TEXT NOT NULL,
  lead_start_at TEXT NOT NULL,
  firsts TEXT NOT NULL
);
CREATE INDEX dora_versions_by_last ON dora_versions(last_first_at);
CREATE INDEX dora_versions_by_product ON dora_versions(product_id, last_first_at);
CREATE TABLE dora_failures(
  deployment_id INTEGER PRIMARY KEY,
  product_id INTEGER NOT NULL,
  environment_id INTEGER NOT NULL,
  completed_at TEXT NOT NULL,
  restored_at TEXT
);
CREATE INDEX dora_failures_by_time ON dora_failures(environment_id, completed_at);
CREATE INDEX dora_failures_by_restore ON dora_failures(product_id, environment_id, restored_at);
"#,
        sqlite_dora_fill!()
    ),
    // 15: the outbox without AUTOINCREMENT: each append wrote `sqlite_sequence` too, one more
    // page in every committing transaction's WAL frames. Its rows are never deleted, so the
    // rowid (the newest `seq` + 1, read with the chain head the append reads anyway) never
    // reuses a sequence number; the append now writes its hash in the same INSERT.
    r#"
CREATE TABLE outbox_next(
  seq INTEGER PRIMARY KEY,
  event_type TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  actor TEXT,
  subject TEXT,
  payload TEXT NOT NULL,
  hash TEXT
);
INSERT INTO outbox_next(seq, event_type, occurred_at, actor, subject, payload, hash)
  SELECT seq, event_type, occurred_at, actor, subject, payload, hash FROM outbox ORDER BY seq;
DROP TABLE outbox;
ALTER TABLE outbox_next RENAME TO outbox;
DELETE FROM sqlite_sequence WHERE name = 'outbox';
"#,
];

/// The newest Postgres schema version this library writes.
#[cfg(feature = "postgres")]
pub const PG_SCHEMA_VERSION: i64 = 14;

/// PostgreSQL migrations; entry `i` takes the schema from version `i` to `i + 1`.
#[cfg(feature = "postgres")]
pub(super) const PG_MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE products(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE environments(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  env_type TEXT NOT NULL,
  type_overridden BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE versions(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  product_id BIGINT NOT NULL REFERENCES products(id),
  version TEXT NOT NULL,
  scm_sha TEXT, scm_branch TEXT, scm_repository TEXT, build_number TEXT, build_url TEXT, built_by TEXT,
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE(product_id, version)
);
CREATE INDEX versions_by_product ON versions(product_id, id);
CREATE INDEX versions_by_sha ON versions(scm_sha text_pattern_ops) WHERE scm_sha IS NOT NULL;
CREATE TABLE builds(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  version_id BIGINT NOT NULL REFERENCES versions(id),
  status TEXT NOT NULL,
  is_open BOOLEAN NOT NULL,
  built_by TEXT,
  started_at TIMESTAMPTZ, completed_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
  fields JSONB NOT NULL, extra_metadata JSONB NOT NULL
);
CREATE INDEX builds_by_version ON builds(version_id, is_open, id);
CREATE TABLE build_events(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  build_id BIGINT NOT NULL REFERENCES builds(id),
  status TEXT NOT NULL, invoke_id TEXT, recorded_at TIMESTAMPTZ NOT NULL, payload JSONB NOT NULL
);
CREATE INDEX build_events_by_invoke ON build_events(invoke_id, status) WHERE invoke_id IS NOT NULL;
CREATE TABLE deployments(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  product_id BIGINT NOT NULL REFERENCES products(id),
  version_id BIGINT NOT NULL REFERENCES versions(id),
  environment_id BIGINT NOT NULL REFERENCES environments(id),
  status TEXT NOT NULL,
  is_open BOOLEAN NOT NULL,
  deployed_at TIMESTAMPTZ NOT NULL, started_at TIMESTAMPTZ, completed_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL,
  fields JSONB NOT NULL, extra_metadata JSONB NOT NULL
);
CREATE TABLE preflights(
  deployment_id BIGINT PRIMARY KEY REFERENCES deployments(id),
  preflight JSONB NOT NULL
);
CREATE INDEX deployments_open ON deployments(environment_id) WHERE is_open;
CREATE INDEX deployments_by_outcome ON deployments(product_id, environment_id, status, completed_at, id);
CREATE INDEX deployments_by_version ON deployments(product_id, environment_id, version_id, status, completed_at, id);
CREATE INDEX deployments_by_start ON deployments(product_id, environment_id, deployed_at, id);
CREATE INDEX deployments_by_time ON deployments(deployed_at, id);
CREATE TABLE deployment_events(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deployment_id BIGINT NOT NULL REFERENCES deployments(id),
  status TEXT NOT NULL, invoke_id TEXT, recorded_at TIMESTAMPTZ NOT NULL, payload JSONB NOT NULL
);
CREATE INDEX deployment_events_by_deployment ON deployment_events(deployment_id);
CREATE INDEX deployment_events_by_invoke ON deployment_events(invoke_id, status) WHERE invoke_id IS NOT NULL;
CREATE TABLE product_environments(
  product_id BIGINT NOT NULL REFERENCES products(id),
  environment_id BIGINT NOT NULL REFERENCES environments(id),
  PRIMARY KEY(product_id, environment_id)
);
CREATE TABLE rules(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  position BIGINT NOT NULL,
  status TEXT NOT NULL,
  definition JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE rule_status_changes(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_name TEXT NOT NULL, from_status TEXT NOT NULL, to_status TEXT NOT NULL,
  actor TEXT NOT NULL, reason TEXT NOT NULL, changed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX rule_status_changes_by_rule ON rule_status_changes(rule_name, id);
CREATE TABLE approvals(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  version_id BIGINT NOT NULL REFERENCES versions(id),
  approval_type TEXT NOT NULL, approver TEXT NOT NULL, approver_role TEXT, environment TEXT,
  comment TEXT, granted_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ, revoked_by TEXT, revoke_reason TEXT
);
CREATE INDEX approvals_by_version ON approvals(version_id, id);
"#,
    // 2: server state (API keys, idempotency records) and the outbox of domain events.
    r#"
CREATE TABLE api_keys(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  prefix TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL,
  last_used_at TIMESTAMPTZ,
  revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys(name) WHERE revoked_at IS NULL;
CREATE TABLE idempotency(
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  result JSONB,
  status INTEGER,
  content_type TEXT,
  body BYTEA,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY(scope, key)
);
CREATE INDEX idempotency_created ON idempotency(created_at);
CREATE TABLE outbox(
  seq BIGINT PRIMARY KEY,
  event_type TEXT NOT NULL,
  occurred_at TIMESTAMPTZ NOT NULL,
  actor TEXT,
  subject TEXT,
  payload JSONB NOT NULL
);
-- One row: the last sequence number handed out. Appending takes its row lock until commit,
-- so sequence numbers are gap-free and committed in order across every server.
CREATE TABLE outbox_head(
  only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
  seq BIGINT NOT NULL
);
INSERT INTO outbox_head(only_row, seq) VALUES (TRUE, 0);
CREATE TABLE outbox_consumers(
  name TEXT PRIMARY KEY,
  seq BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
"#,
    // 3: elapsed-time policy (soak, order) reads recorded times: a completed deployment's
    // `updated_at` is when its completion was recorded.
    r#"
CREATE INDEX deployments_by_recorded_outcome ON deployments(product_id, environment_id, status, updated_at);
"#,
    // 4: the audit chain: each outbox event's hash chains to the previous one's; the head
    // keeps the newest hash under the same row lock as the sequence.
    r#"
ALTER TABLE outbox ADD COLUMN hash TEXT;
ALTER TABLE outbox_head ADD COLUMN hash TEXT;
UPDATE outbox_head SET hash = (SELECT hash FROM outbox ORDER BY seq DESC LIMIT 1);
"#,
    // 5: a record of every decision, and the policies they were decided under.
    r#"
CREATE TABLE decisions(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  recorded_at TIMESTAMPTZ NOT NULL,
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  environment TEXT NOT NULL,
  status TEXT NOT NULL,
  outcome TEXT NOT NULL,
  actor TEXT,
  deployment_id TEXT,
  policy_hash TEXT NOT NULL,
  request JSONB NOT NULL,
  verdict JSONB NOT NULL,
  facts JSONB NOT NULL
);
CREATE INDEX decisions_by_time ON decisions(recorded_at);
CREATE INDEX decisions_by_outcome ON decisions(outcome, id);
CREATE TABLE policies(
  hash TEXT PRIMARY KEY,
  rules JSONB NOT NULL,
  first_seen TIMESTAMPTZ NOT NULL
);
"#,
    // 6: principals and the policy's settings (see the SQLite migration 6).
    r#"
CREATE TABLE principals(
  name TEXT PRIMARY KEY,
  name_key TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
INSERT INTO principals(name, name_key, role, created_at, updated_at)
  SELECT DISTINCT ON (name_key) name, name_key, role, created_at, created_at FROM (
    SELECT name, translate(btrim(name, ' '), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') AS name_key,
           CASE role WHEN 'deployer' THEN 'ci' WHEN 'approver' THEN 'release_manager' ELSE role END AS role,
           created_at, revoked_at, id
    FROM api_keys
  ) k
  ORDER BY name_key, (revoked_at IS NULL) DESC, created_at DESC, id;
ALTER TABLE api_keys ADD COLUMN principal TEXT REFERENCES principals(name);
UPDATE api_keys SET principal = p.name FROM principals p
  WHERE p.name_key = translate(btrim(api_keys.name, ' '), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
ALTER TABLE api_keys DROP COLUMN role;
CREATE INDEX api_keys_by_principal ON api_keys(principal);
CREATE TABLE settings(
  name TEXT PRIMARY KEY,
  value JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
"#,
    // 7: dashboard sessions and decisions by deployment (see the SQLite migration 7).
    r#"
CREATE TABLE sessions(
  token_hash TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  principal TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
CREATE INDEX decisions_by_deployment ON decisions(deployment_id) WHERE deployment_id IS NOT NULL;
"#,
    // 8: the catalog (see the SQLite migration 8).
    r#"
ALTER TABLE products ADD COLUMN description TEXT;
ALTER TABLE products ADD COLUMN extra_metadata JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE environments ADD COLUMN description TEXT;
ALTER TABLE environments ADD COLUMN extra_metadata JSONB NOT NULL DEFAULT '{}'::jsonb;
"#,
    // 9: notifications (see the SQLite migration 9).
    r#"
CREATE TABLE notification_channels(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  record JSONB NOT NULL,
  cursor_seq BIGINT NOT NULL,
  lease_holder TEXT,
  lease_until TIMESTAMPTZ
);
CREATE TABLE notification_preferences(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  channel_uid TEXT NOT NULL REFERENCES notification_channels(uid) ON DELETE CASCADE,
  record JSONB NOT NULL
);
CREATE INDEX notification_preferences_by_channel ON notification_preferences(channel_uid);
CREATE TABLE notification_history(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  channel_uid TEXT NOT NULL,
  status TEXT NOT NULL,
  attempted_at TIMESTAMPTZ NOT NULL,
  record JSONB NOT NULL
);
CREATE INDEX notification_history_by_channel ON notification_history(channel_uid, id);
CREATE INDEX notification_history_by_status ON notification_history(status, id);
"#,
    // 10 (see the SQLite migration 10): a version's commit time, finished deployments
    // by finish time.
    r#"
ALTER TABLE versions ADD COLUMN scm_committed_at TIMESTAMPTZ;
CREATE INDEX deployments_by_finish ON deployments(environment_id, completed_at) WHERE status IN ('completed', 'failed');
"#,
    // 11 (see the SQLite migration 11): Deployment Requests, their targets, templates.
    r#"
CREATE TABLE deployment_requests(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  record JSONB NOT NULL
);
CREATE INDEX deployment_requests_by_status ON deployment_requests(status, id);
CREATE TABLE deployment_request_targets(
  request_id BIGINT NOT NULL REFERENCES deployment_requests(id) ON DELETE CASCADE,
  version_uid TEXT NOT NULL,
  environment_key TEXT NOT NULL
);
CREATE INDEX deployment_request_targets_by_target ON deployment_request_targets(version_uid, environment_key);
CREATE INDEX deployment_request_targets_by_request ON deployment_request_targets(request_id);
CREATE TABLE deployment_request_templates(
  name TEXT PRIMARY KEY,
  record JSONB NOT NULL
);
"#,
    // 12 (see the SQLite migration 12): the wait queue.
    r#"
CREATE TABLE wait_queue(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  environment_key TEXT NOT NULL,
  record JSONB NOT NULL
);
CREATE INDEX wait_queue_by_environment ON wait_queue(environment_key, id);
"#,
    // 13 (see the SQLite migration 13): imported builds and deployments, imported lines' keys.
    r#"
ALTER TABLE builds ADD COLUMN imported_at TIMESTAMPTZ;
ALTER TABLE deployments ADD COLUMN imported_at TIMESTAMPTZ;
CREATE TABLE imported_lines(
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  record_id BIGINT NOT NULL,
  imported_at TIMESTAMPTZ NOT NULL
);
"#,
    // 14: the four keys' rollups (as SQLite's migration 14; `firsts` holds instants in the
    // stored text form, `2026-11-30T12:00:00.000000Z`, so entries compare as text).
    concat!(
        r#"
CREATE TABLE dora_days(
  environment_id BIGINT NOT NULL,
  day DATE NOT NULL,
  product_id BIGINT NOT NULL,
  successes BIGINT NOT NULL,
  failures BIGINT NOT NULL,
  PRIMARY KEY(environment_id, product_id, day)
);
CREATE TABLE dora_versions(
  version_id BIGINT PRIMARY KEY,
  product_id BIGINT NOT NULL,
  first_at TIMESTAMPTZ NOT NULL,
  first_env BIGINT NOT NULL,
  last_first_at TIMESTAMPTZ NOT NULL,
  lead_start_at TIMESTAMPTZ NOT NULL,
  firsts TEXT NOT NULL
);
CREATE INDEX dora_versions_by_last ON dora_versions(last_first_at);
CREATE INDEX dora_versions_by_product ON dora_versions(product_id, last_first_at);
CREATE TABLE dora_failures(
  deployment_id BIGINT PRIMARY KEY,
  product_id BIGINT NOT NULL,
  environment_id BIGINT NOT NULL,
  completed_at TIMESTAMPTZ NOT NULL,
  restored_at TIMESTAMPTZ
);
CREATE INDEX dora_failures_by_time ON dora_failures(environment_id, completed_at);
CREATE INDEX dora_failures_by_restore ON dora_failures(product_id, environment_id, restored_at);
"#,
        pg_dora_fill!()
    ),
];
