/*
 * The C test of libversioner: every function of versioner.h, success and error paths,
 * ownership (every returned string is freed: valgrind checks it), threads and use after close.
 *
 * Usage: test_versioner SCRATCH_DIR [API_URL ADMIN_KEY]
 *   SCRATCH_DIR  an existing, writable directory for database and policy files
 *   API_URL      when given, the remote tests run against this `versioner serve`
 *   ADMIN_KEY    an admin API key of that server
 * Environment: VERSIONER_TEST_DATABASE_URL, when set, names a PostgreSQL database for the
 * versioner_connect_postgres tests (each run uses a schema of its own).
 *
 * Prints one line per failed check and a summary; exits 0 when every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "versioner.h"

/* ----- a tiny test harness ------------------------------------------------------------------ */

static int checks = 0;
static int failures = 0;

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    checks++;                                                                               \
    if (!(cond)) {                                                                          \
      failures++;                                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n    last error: %s\n", __FILE__, __LINE__, \
              #cond, versioner_last_error_message());                                      \
    }                                                                                       \
  } while (0)

/* Runs a call and checks its status; on mismatch prints both names and the last error. */
#define EXPECT(expected, call)                                                                   \
  do {                                                                                           \
    VersionerStatus st_ = (call);                                                                \
    checks++;                                                                                    \
    if (st_ != (expected)) {                                                                     \
      failures++;                                                                                \
      fprintf(stderr, "%s:%d: %s\n    returned %s, expected %s\n    last error: %s\n", __FILE__, \
              __LINE__, #call, versioner_status_name((int)st_),                                 \
              versioner_status_name((int)(expected)), versioner_last_error_message());           \
    }                                                                                            \
  } while (0)

#define OK(call) EXPECT(VERSIONER_STATUS_OK, call)

static int contains(const char *haystack, const char *needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* Copies the string value of the first `"key":"…"` in `json` into `buf`; "" when absent. */
static const char *json_str(const char *json, const char *key, char *buf, size_t size) {
  char pattern[128];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  buf[0] = '\0';
  const char *p = json ? strstr(json, pattern) : NULL;
  if (p == NULL) return buf;
  p += strlen(pattern);
  size_t n = 0;
  while (p[n] != '\0' && p[n] != '"' && n + 1 < size) {
    buf[n] = p[n];
    n++;
  }
  buf[n] = '\0';
  return buf;
}

/* A pointer no call may leave behind: out-parameters must be NULL after an error. */
static char sentinel_byte;
#define SENTINEL ((char *)&sentinel_byte)

static char scratch[1024];

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void path_in_scratch(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", scratch, name);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
}

/* A deployment event as JSON. */
static char *event(char *buf, size_t size, const char *product, const char *version,
                   const char *env, const char *status, const char *extra) {
  snprintf(buf, size,
           "{\"product_name\":\"%s\",\"version\":\"%s\",\"environment_name\":\"%s\","
           "\"status\":\"%s\"%s%s}",
           product, version, env, status, extra ? "," : "", extra ? extra : "");
  return buf;
}

/* Tracks a deployment event and expects `expected`; frees the result. */
static void deploy(const VersionerHandle *h, VersionerStatus expected, const char *product,
                   const char *version, const char *env, const char *status) {
  char buf[512];
  char *out = NULL;
  EXPECT(expected, versioner_track_deployment(h, event(buf, sizeof buf, product, version, env,
                                                       status, "\"deployed_by\":\"dana\""),
                                              &out));
  versioner_string_free(out);
}

/* ----- library-level functions -------------------------------------------------------------- */

static void test_statuses_and_meta(void) {
  CHECK(VERSIONER_STATUS_OK == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_OK), "OK") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_INVALID_INPUT), "INVALID_INPUT") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_VERSION_CONFLICT), "VERSION_CONFLICT") ==
        0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_FLOW_VIOLATION), "FLOW_VIOLATION") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_QUALITY_APPROVAL_REQUIRED),
               "QUALITY_APPROVAL_REQUIRED") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_NETWORK), "NETWORK") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_RATE_LIMITED), "RATE_LIMITED") == 0);
  CHECK(VERSIONER_STATUS_DEPLOYMENT_REQUEST_PENDING == 16);
  CHECK(VERSIONER_STATUS_DEPLOYMENT_REQUEST_REQUIRED == 17);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_DEPLOYMENT_REQUEST_PENDING),
               "DEPLOYMENT_REQUEST_PENDING") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_DEPLOYMENT_REQUEST_REQUIRED),
               "DEPLOYMENT_REQUEST_REQUIRED") == 0);
  CHECK(versioner_status_is_blocked(VERSIONER_STATUS_DEPLOYMENT_REQUEST_PENDING));
  CHECK(versioner_status_is_blocked(VERSIONER_STATUS_DEPLOYMENT_REQUEST_REQUIRED));
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_NULL_POINTER), "NULL_POINTER") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_INVALID_UTF8), "INVALID_UTF8") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_INVALID_HANDLE), "INVALID_HANDLE") == 0);
  CHECK(strcmp(versioner_status_name(VERSIONER_STATUS_PANIC), "PANIC") == 0);
  CHECK(strcmp(versioner_status_name(42), "UNKNOWN") == 0);
  CHECK(strcmp(versioner_status_name(-1), "UNKNOWN") == 0);

  /* Distinct values, one per code; exactly the eight policy codes are "blocked". */
  int blocked = 0;
  for (int s = -5; s < 300; s++) {
    if (versioner_status_is_blocked(s)) blocked++;
  }
  CHECK(blocked == 8);
  CHECK(versioner_status_is_blocked(VERSIONER_STATUS_CONCURRENT_DEPLOYMENT));
  CHECK(versioner_status_is_blocked(VERSIONER_STATUS_NO_DEPLOY_WINDOW));
  CHECK(versioner_status_is_blocked(VERSIONER_STATUS_FLOW_VIOLATION));
  CHECK(versioner_status_is_blocked(VERSIONER_STATUS_INSUFFICIENT_SOAK_TIME));
  CHECK(versioner_status_is_blocked(VERSIONER_STATUS_APPROVAL_REQUIRED));
  CHECK(versioner_status_is_blocked(VERSIONER_STATUS_QUALITY_APPROVAL_REQUIRED));
  CHECK(!versioner_status_is_blocked(VERSIONER_STATUS_OK));
  CHECK(!versioner_status_is_blocked(VERSIONER_STATUS_VERSION_CONFLICT));

  const char *v = versioner_library_version();
  CHECK(v != NULL && strchr(v, '.') != NULL);

  /* No error yet on this thread. */
  CHECK(strcmp(versioner_last_error_message(), "") == 0);
  CHECK(versioner_last_error_json() == NULL);

  versioner_string_free(NULL); /* a no-op */
}

static void test_ci_detect(void) {
  char *out = NULL;
  setenv("GITHUB_ACTIONS", "true", 1);
  setenv("GITHUB_REPOSITORY", "acme/checkout", 1);
  setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567", 1);
  OK(versioner_detect_ci(&out));
  CHECK(contains(out, "\"system\":\"github\""));
  CHECK(contains(out, "\"source_system\":\"github\""));
  CHECK(contains(out, "\"scm_repository\":\"acme/checkout\""));
  versioner_string_free(out);
  unsetenv("GITHUB_ACTIONS");
  unsetenv("GITHUB_REPOSITORY");
  unsetenv("GITHUB_SHA");
  OK(versioner_detect_ci(&out));
  CHECK(contains(out, "\"source_system\":\"unknown\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NULL_POINTER, versioner_detect_ci(NULL));
  /* The old spelling still works for one release (declared deprecated: the compiler warns). */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  OK(versioner_ci_detect(&out));
  CHECK(contains(out, "\"source_system\":\"unknown\""));
  versioner_string_free(out);
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
}

/* ----- handles ------------------------------------------------------------------------------ */

static void test_open_and_close(void) {
  VersionerHandle *h = (VersionerHandle *)SENTINEL;
  char *out = NULL;
  char path[2048];

  OK(versioner_open(NULL, &h));
  CHECK(h != NULL);
  OK(versioner_products(h, &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  OK(versioner_close(h));

  OK(versioner_open(":memory:", &h));
  OK(versioner_close(h));

  /* A file database keeps what was recorded. */
  path_in_scratch(path, sizeof path, "persist.db");
  OK(versioner_open(path, &h));
  deploy(h, VERSIONER_STATUS_OK, "persist", "1.0.0", "staging", "completed");
  OK(versioner_close(h));
  OK(versioner_open_with(path, "{\"synchronous\":\"normal\",\"busy_timeout_ms\":5000}", &h));
  OK(versioner_products(h, &out));
  CHECK(contains(out, "\"name\":\"persist\""));
  versioner_string_free(out);
  OK(versioner_close(h));
  OK(versioner_open_with(NULL, NULL, &h));
  OK(versioner_close(h));

  /* Errors: the out-parameter is NULL afterwards. */
  h = (VersionerHandle *)SENTINEL;
  EXPECT(VERSIONER_STATUS_STORAGE, versioner_open("/nonexistent-dir/deeper/v.db", &h));
  CHECK(h == NULL);
  CHECK(contains(versioner_last_error_message(), "storage"));
  CHECK(contains(versioner_last_error_json(), "\"code\":\"STORAGE\""));
  EXPECT(VERSIONER_STATUS_NULL_POINTER, versioner_open(NULL, NULL));
  CHECK(contains(versioner_last_error_message(), "out_handle"));
  CHECK(contains(versioner_last_error_json(), "\"code\":\"NULL_POINTER\""));
  h = (VersionerHandle *)SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_open_with(NULL, "{\"synchronous\":\"off\"}", &h));
  CHECK(h == NULL);
  CHECK(contains(versioner_last_error_message(), "synchronous"));
  /* An unknown option key is refused, naming the key (the same options and the same answer in
   * every binding: the core reads them). */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_open_with(NULL, "{\"colour\":1}", &h));
  CHECK(contains(versioner_last_error_message(), "`colour`: unknown option"));
  CHECK(contains(versioner_last_error_json(), "\"colour\""));
  /* A key of the other store is named as such. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_open_with(NULL, "{\"schema\":\"s\"}", &h));
  CHECK(contains(versioner_last_error_message(), "PostgreSQL option"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_open_with(NULL, "{\"busy_timeout_ms\":\"30s\"}", &h));
  CHECK(contains(versioner_last_error_message(), "busy_timeout_ms"));
  /* Locations: `sqlite:PATH` is a file; another URL scheme is refused, naming `path`. */
  path_in_scratch(path, sizeof path, "persist.db");
  {
    char location[2100];
    snprintf(location, sizeof location, "sqlite:%s", path);
    OK(versioner_open_with(location, "{\"busy_timeout_ms\":100}", &h));
    OK(versioner_products(h, &out));
    CHECK(contains(out, "\"name\":\"persist\""));
    versioner_string_free(out);
    OK(versioner_close(h));
  }
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_open("mysql://db/versioner", &h));
  CHECK(h == NULL);
  CHECK(contains(versioner_last_error_message(), "path"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_open_with(NULL, "{not json", &h));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8, versioner_open_with(NULL, "{\"synchronous\":\"\xff\"}", &h));
  EXPECT(VERSIONER_STATUS_NULL_POINTER, versioner_open_with(NULL, NULL, NULL));

  /* A successful call clears the thread's last error. */
  OK(versioner_open(NULL, &h));
  CHECK(strcmp(versioner_last_error_message(), "") == 0);
  CHECK(versioner_last_error_json() == NULL);

  /* Close: NULL is a no-op; afterwards every use is INVALID_HANDLE, never a crash. */
  OK(versioner_close(NULL));
  OK(versioner_close(h));
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_products(h, &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "closed"));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_close(h));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE,
         versioner_track_build(h, "{\"product_name\":\"a\",\"version\":\"1\",\"status\":\"ok\"}",
                               &out));

  /* A value that was never a handle. */
  VersionerHandle *forged = (VersionerHandle *)(uintptr_t)0xdeadbeef;
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_rules(forged, &out));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_close(forged));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_close((VersionerHandle *)SENTINEL));
}

/* Every function that takes a handle refuses a NULL handle and a NULL out-parameter. */
static void test_null_arguments(void) {
  VersionerHandle *h = NULL;
  OK(versioner_open(NULL, &h));
  const VersionerHandle *n = NULL;
  char *o = NULL;
  const char *ev = "{\"product_name\":\"a\",\"version\":\"1\",\"status\":\"completed\"}";
  const VersionerStatus NP = VERSIONER_STATUS_NULL_POINTER;

  EXPECT(NP, versioner_track_build(n, ev, &o));
  EXPECT(NP, versioner_track_build(h, NULL, &o));
  EXPECT(NP, versioner_track_build(h, ev, NULL));
  EXPECT(NP, versioner_track_deployment(n, ev, &o));
  EXPECT(NP, versioner_track_deployment(h, NULL, &o));
  EXPECT(NP, versioner_track_deployment(h, ev, NULL));
  EXPECT(NP, versioner_check(n, ev, &o));
  EXPECT(NP, versioner_check(h, NULL, &o));
  EXPECT(NP, versioner_check(h, ev, NULL));
  EXPECT(NP, versioner_apply_policy(n, "", NULL, NULL, "ci", &o));
  EXPECT(NP, versioner_apply_policy(h, NULL, NULL, NULL, "ci", &o));
  EXPECT(NP, versioner_apply_policy(h, "", NULL, NULL, NULL, &o));
  EXPECT(NP, versioner_apply_policy(h, "", NULL, NULL, "ci", NULL));
  EXPECT(NP, versioner_apply_policy_file(n, "x.toml", NULL, "ci", &o));
  EXPECT(NP, versioner_apply_policy_file(h, NULL, NULL, "ci", &o));
  EXPECT(NP, versioner_apply_policy_file(h, "x.toml", NULL, NULL, &o));
  EXPECT(NP, versioner_apply_policy_file(h, "x.toml", NULL, "ci", NULL));
  EXPECT(NP, versioner_rules(n, &o));
  EXPECT(NP, versioner_rules(h, NULL));
  EXPECT(NP, versioner_rule(n, "r", &o));
  EXPECT(NP, versioner_rule(h, NULL, &o));
  EXPECT(NP, versioner_rule(h, "r", NULL));
  EXPECT(NP, versioner_add_rule(n, "{}", &o));
  EXPECT(NP, versioner_add_rule(h, NULL, &o));
  EXPECT(NP, versioner_add_rule(h, "{}", NULL));
  EXPECT(NP, versioner_update_rule(n, "r", "{}", &o));
  EXPECT(NP, versioner_update_rule(h, NULL, "{}", &o));
  EXPECT(NP, versioner_update_rule(h, "r", NULL, &o));
  EXPECT(NP, versioner_update_rule(h, "r", "{}", NULL));
  EXPECT(NP, versioner_delete_rule(n, "r"));
  EXPECT(NP, versioner_delete_rule(h, NULL));
  EXPECT(NP, versioner_set_rule_status(n, "r", "enabled", "a", "b", &o));
  EXPECT(NP, versioner_set_rule_status(h, NULL, "enabled", "a", "b", &o));
  EXPECT(NP, versioner_set_rule_status(h, "r", NULL, "a", "b", &o));
  EXPECT(NP, versioner_set_rule_status(h, "r", "enabled", NULL, "b", &o));
  EXPECT(NP, versioner_set_rule_status(h, "r", "enabled", "a", NULL, &o));
  EXPECT(NP, versioner_set_rule_status(h, "r", "enabled", "a", "b", NULL));
  EXPECT(NP, versioner_rule_history(n, NULL, &o));
  EXPECT(NP, versioner_rule_history(h, NULL, NULL));
  EXPECT(NP, versioner_approve(n, "{}", &o));
  EXPECT(NP, versioner_approve(h, NULL, &o));
  EXPECT(NP, versioner_approve(h, "{}", NULL));
  EXPECT(NP, versioner_revoke_approval(n, "id", "a", "b", &o));
  EXPECT(NP, versioner_revoke_approval(h, NULL, "a", "b", &o));
  EXPECT(NP, versioner_revoke_approval(h, "id", NULL, "b", &o));
  EXPECT(NP, versioner_revoke_approval(h, "id", "a", NULL, &o));
  EXPECT(NP, versioner_revoke_approval(h, "id", "a", "b", NULL));
  {
    VersionerHandle *as = NULL;
    EXPECT(NP, versioner_acting_as(n, "a", NULL, &as));
    EXPECT(NP, versioner_acting_as(h, NULL, NULL, &as));
    EXPECT(NP, versioner_acting_as(h, "a", NULL, NULL));
    CHECK(as == NULL);
  }
  EXPECT(NP, versioner_approvals(n, "p", "v", &o));
  EXPECT(NP, versioner_approvals(h, NULL, "v", &o));
  EXPECT(NP, versioner_approvals(h, "p", NULL, &o));
  EXPECT(NP, versioner_approvals(h, "p", "v", NULL));
  EXPECT(NP, versioner_products(n, &o));
  EXPECT(NP, versioner_products(h, NULL));
  EXPECT(NP, versioner_environments(n, &o));
  EXPECT(NP, versioner_environments(h, NULL));
  EXPECT(NP, versioner_set_environment_type(n, "e", NULL, &o));
  EXPECT(NP, versioner_set_environment_type(h, NULL, NULL, &o));
  EXPECT(NP, versioner_set_environment_type(h, "e", NULL, NULL));
  EXPECT(NP, versioner_product(n, "p", &o));
  EXPECT(NP, versioner_product(h, NULL, &o));
  EXPECT(NP, versioner_product(h, "p", NULL));
  EXPECT(NP, versioner_environment(n, "e", &o));
  EXPECT(NP, versioner_environment(h, NULL, &o));
  EXPECT(NP, versioner_environment(h, "e", NULL));
  EXPECT(NP, versioner_update_product(n, "p", "{}", &o));
  EXPECT(NP, versioner_update_product(h, NULL, "{}", &o));
  EXPECT(NP, versioner_update_product(h, "p", NULL, &o));
  EXPECT(NP, versioner_update_product(h, "p", "{}", NULL));
  EXPECT(NP, versioner_update_environment(n, "e", "{}", &o));
  EXPECT(NP, versioner_update_environment(h, NULL, "{}", &o));
  EXPECT(NP, versioner_update_environment(h, "e", NULL, &o));
  EXPECT(NP, versioner_update_environment(h, "e", "{}", NULL));
  EXPECT(NP, versioner_versions(n, "p", 0, 0, &o));
  EXPECT(NP, versioner_versions(h, NULL, 0, 0, &o));
  EXPECT(NP, versioner_versions(h, "p", 0, 0, NULL));
  EXPECT(NP, versioner_version(n, "p", "v", &o));
  EXPECT(NP, versioner_version(h, NULL, "v", &o));
  EXPECT(NP, versioner_version(h, "p", NULL, &o));
  EXPECT(NP, versioner_version(h, "p", "v", NULL));
  EXPECT(NP, versioner_version_by_id(n, "id", &o));
  EXPECT(NP, versioner_version_by_id(h, NULL, &o));
  EXPECT(NP, versioner_version_by_id(h, "id", NULL));
  EXPECT(NP, versioner_versions_by_sha(n, "abcd", &o));
  EXPECT(NP, versioner_versions_by_sha(h, NULL, &o));
  EXPECT(NP, versioner_versions_by_sha(h, "abcd", NULL));
  EXPECT(NP, versioner_deployment(n, "id", &o));
  EXPECT(NP, versioner_deployment(h, NULL, &o));
  EXPECT(NP, versioner_deployment(h, "id", NULL));
  EXPECT(NP, versioner_history(n, NULL, &o));
  EXPECT(NP, versioner_history(h, NULL, NULL));
  EXPECT(NP, versioner_state(n, NULL, &o));
  EXPECT(NP, versioner_state(h, NULL, NULL));
  EXPECT(NP, versioner_state_table(n, NULL, &o));
  EXPECT(NP, versioner_state_table(h, NULL, NULL));
  EXPECT(NP, versioner_drift(n, NULL, NULL, &o));
  EXPECT(NP, versioner_drift(h, NULL, NULL, NULL));
  EXPECT(NP, versioner_violations(n, NULL, &o));
  EXPECT(NP, versioner_violations(h, NULL, NULL));
  EXPECT(NP, versioner_dora(n, "{}", &o));
  EXPECT(NP, versioner_dora(h, NULL, &o));
  EXPECT(NP, versioner_dora(h, "{}", NULL));
  EXPECT(NP, versioner_import_events(n, "", NULL, &o));
  EXPECT(NP, versioner_import_events(h, NULL, NULL, &o));
  EXPECT(NP, versioner_import_events(h, "", NULL, NULL));
  EXPECT(NP, versioner_export_events(n, &o));
  EXPECT(NP, versioner_export_events(h, NULL));
  EXPECT(NP, versioner_skew(n, "{}", &o));
  EXPECT(NP, versioner_skew(h, NULL, &o));
  EXPECT(NP, versioner_skew(h, "{}", NULL));
  EXPECT(NP, versioner_stale(n, "{}", &o));
  EXPECT(NP, versioner_stale(h, NULL, &o));
  EXPECT(NP, versioner_stale(h, "{}", NULL));
  EXPECT(NP, versioner_replay(n, "2026-01-01T00:00:00Z", NULL, &o));
  EXPECT(NP, versioner_replay(h, NULL, NULL, &o));
  EXPECT(NP, versioner_replay(h, "2026-01-01T00:00:00Z", NULL, NULL));
  EXPECT(NP, versioner_audit_verify(n, &o));
  EXPECT(NP, versioner_audit_verify(h, NULL));
  EXPECT(NP, versioner_deliver_pending(n, &o));
  EXPECT(NP, versioner_deliver_pending(h, NULL));
  EXPECT(NP, versioner_events_since(n, 0, 10, &o));
  EXPECT(NP, versioner_events_since(h, 0, 10, NULL));
  {
    int64_t seq = 0;
    EXPECT(NP, versioner_last_event_seq(n, &seq));
    EXPECT(NP, versioner_last_event_seq(h, NULL));
    EXPECT(NP, versioner_cursor(n, "hook", &seq));
    EXPECT(NP, versioner_cursor(h, NULL, &seq));
    EXPECT(NP, versioner_cursor(h, "hook", NULL));
    EXPECT(NP, versioner_acknowledge(n, "hook", 0));
    EXPECT(NP, versioner_acknowledge(h, NULL, 0));
    EXPECT(NP, versioner_backup(n, "b.db"));
    EXPECT(NP, versioner_backup(h, NULL));
    EXPECT(NP, versioner_restore(n, "b.db", NULL));
    EXPECT(NP, versioner_restore(h, NULL, NULL));
  }
  EXPECT(NP, versioner_connect(NULL, NULL, (VersionerHandle **)&o));
  EXPECT(NP, versioner_connect("http://127.0.0.1:1", NULL, NULL));
  EXPECT(NP, versioner_connect_with(NULL, NULL, NULL, (VersionerHandle **)&o));
  EXPECT(NP, versioner_connect_with("http://127.0.0.1:1", NULL, NULL, NULL));
  CHECK(contains(versioner_last_error_message(), "out_handle"));
  EXPECT(NP, versioner_connect_postgres(NULL, NULL, (VersionerHandle **)&o));
  EXPECT(NP, versioner_connect_postgres("host=/tmp dbname=x", NULL, NULL));
  OK(versioner_close(h));
}

/* ----- tracking ----------------------------------------------------------------------------- */

static void test_tracking(void) {
  VersionerHandle *h = NULL;
  char *out = NULL;
  char buf[1024];
  OK(versioner_open(NULL, &h));

  OK(versioner_track_build(
      h,
      "{\"product_name\":\"checkout\",\"version\":\"1.0.0\",\"status\":\"SUCCESS\","
      "\"scm_sha\":\"abc1234\",\"build_number\":42,\"built_by\":\"ci-bot\"}",
      &out));
  CHECK(contains(out, "\"status\":\"completed\""));
  CHECK(contains(out, "\"product_name\":\"checkout\""));
  CHECK(contains(out, "\"build_number\":\"42\""));
  CHECK(contains(out, "\"version_id\":\""));
  versioner_string_free(out);

  /* Versions are immutable: another SHA for 1.0.0 is a conflict. */
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_VERSION_CONFLICT,
         versioner_track_build(h,
                               "{\"product_name\":\"checkout\",\"version\":\"1.0.0\","
                               "\"status\":\"completed\",\"scm_sha\":\"def5678\"}",
                               &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "abc1234"));
  CHECK(contains(versioner_last_error_json(), "\"code\":\"VERSION_CONFLICT\""));
  CHECK(contains(versioner_last_error_json(), "already exists with different SHA"));

  /* Bad input names the field; malformed JSON, wrong shapes and bad UTF-8 are errors too. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_track_build(h, "{\"version\":\"1\",\"status\":\"completed\"}", &out));
  CHECK(contains(versioner_last_error_message(), "product_name"));
  CHECK(contains(versioner_last_error_json(), "\"loc\":[\"body\",\"product_name\"]"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_track_build(h, "{\"product_name\":\"a\",\"version\":\"1\",\"status\":\"exploded\"}",
                               &out));
  CHECK(contains(versioner_last_error_message(), "status"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_track_build(h, "{\"product_name\":", &out));
  CHECK(contains(versioner_last_error_message(), "event_json"));
  CHECK(contains(versioner_last_error_message(), "not valid JSON"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_track_build(h, "[\"checkout\",\"1\"]", &out));
  CHECK(contains(versioner_last_error_message(), "JSON object"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_track_build(h, "{\"product_name\":[1,2],\"version\":\"1\",\"status\":\"ok\"}",
                               &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_track_build(h, "", &out));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8,
         versioner_track_build(h, "{\"product_name\":\"caf\xe9\"}", &out));
  CHECK(contains(versioner_last_error_message(), "event_json"));
  CHECK(out == NULL);

  /* Deployments: started opens, completed closes; aliases accepted. */
  OK(versioner_track_deployment(
      h, event(buf, sizeof buf, "checkout", "1.0.0", "staging", "in_progress", "\"invoke_id\":\"run-1\""),
      &out));
  CHECK(contains(out, "\"status\":\"started\""));
  CHECK(contains(out, "\"environment_name\":\"staging\""));
  CHECK(contains(out, "\"preflight_status\""));
  char id[128];
  json_str(out, "id", id, sizeof id);
  CHECK(strlen(id) > 10);
  versioner_string_free(out);
  /* The same run id and status again is idempotent: the same deployment comes back. */
  OK(versioner_track_deployment(
      h, event(buf, sizeof buf, "checkout", "1.0.0", "staging", "started", "\"invoke_id\":\"run-1\""),
      &out));
  CHECK(contains(out, id));
  versioner_string_free(out);
  OK(versioner_track_deployment(h, event(buf, sizeof buf, "checkout", "1.0.0", "staging", "success", NULL),
                                &out));
  CHECK(contains(out, id));
  CHECK(contains(out, "\"status\":\"completed\""));
  versioner_string_free(out);

  OK(versioner_deployment(h, id, &out));
  CHECK(contains(out, "\"status\":\"completed\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_deployment(h, "no-such-id", &out));
  CHECK(contains(versioner_last_error_json(), "\"code\":\"NOT_FOUND\""));

  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_track_deployment(h, "{\"product_name\":\"checkout\",\"version\":\"1.0.0\"}", &out));
  CHECK(contains(versioner_last_error_message(), "environment_name"));
  /* An emergency bypass needs a reason. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_track_deployment(
             h, event(buf, sizeof buf, "checkout", "1.0.0", "production", "started",
                      "\"skip_preflight_checks\":true"),
             &out));
  CHECK(contains(versioner_last_error_message(), "skip_preflight_reason"));
  OK(versioner_close(h));
}

/* ----- policy, preflight, rules and approvals ----------------------------------------------- */

static const char *POLICY_TOML =
    "[[rules]]\n"
    "name = \"Staging before production\"\n"
    "type = \"flow\"\n"
    "environments = [\"production\"]\n"
    "prerequisites = [\"staging\"]\n"
    "\n"
    "[[rules]]\n"
    "name = \"Prod needs 2 approvals\"\n"
    "type = \"release_approval\"\n"
    "environments = [\"production\"]\n"
    "required = 2\n"
    "\n"
    "[[rules]]\n"
    "name = \"One at a time\"\n"
    "type = \"concurrency\"\n"
    "max = 1\n"
    "per = \"environment\"\n";

static void test_policy_preflight_and_approvals(void) {
  VersionerHandle *h = NULL;
  char *out = NULL;
  char buf[1024];
  char path[2048];
  OK(versioner_open(NULL, &h));

  /* JSON text with no format is detected as JSON, as in every binding. */
  OK(versioner_apply_policy(h, "{\"rules\":[]}", NULL, NULL, "ci", &out));
  CHECK(contains(out, "\"added\":[]"));
  versioner_string_free(out);
  OK(versioner_apply_policy(h, POLICY_TOML, NULL, NULL, "ci", &out));
  CHECK(contains(out, "\"added\":[\"Staging before production\",\"Prod needs 2 approvals\",\"One at a time\"]"));
  versioner_string_free(out);
  OK(versioner_apply_policy(h, POLICY_TOML, "toml", "replace", "ci", &out));
  CHECK(contains(out, "\"unchanged\":[\"Staging before production\""));
  versioner_string_free(out);

  OK(versioner_rules(h, &out));
  CHECK(contains(out, "\"name\":\"Staging before production\""));
  CHECK(contains(out, "\"type\":\"release_approval\""));
  CHECK(contains(out, "\"position\":"));
  versioner_string_free(out);
  OK(versioner_rule(h, "One at a time", &out));
  CHECK(contains(out, "\"max\":1"));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_rule(h, "No such rule", &out));

  /* An invalid policy is refused whole, every problem named. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_apply_policy(h,
                                "[[rules]]\nname = \"A\"\ntype = \"flow\"\n"
                                "[[rules]]\nname = \"B\"\ntype = \"teleport\"\n",
                                NULL, NULL, "ci", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "prerequisites"));
  CHECK(contains(versioner_last_error_message(), "teleport"));
  CHECK(contains(versioner_last_error_json(), "\"problems\""));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_apply_policy(h, "[[rules", "toml", NULL, "ci", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_apply_policy(h, "{", "json", NULL, "ci", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_apply_policy(h, "", "yaml", NULL, "ci", &out));
  CHECK(contains(versioner_last_error_message(), "yaml"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_apply_policy(h, "", NULL, "upsert", "ci", &out));
  CHECK(contains(versioner_last_error_message(), "upsert"));
  OK(versioner_rules(h, &out));
  CHECK(contains(out, "One at a time")); /* nothing was applied */
  versioner_string_free(out);

  /* Production before staging: refused by the flow rule, nothing recorded. */
  OK(versioner_track_build(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"status\":\"completed\","
                              "\"built_by\":\"builder\"}",
                           &out));
  versioner_string_free(out);
  VersionerStatus st = versioner_track_deployment(
      h, event(buf, sizeof buf, "api", "2.0.0", "production", "started", "\"deployed_by\":\"dana\""), &out);
  CHECK(st == VERSIONER_STATUS_FLOW_VIOLATION);
  CHECK(versioner_status_is_blocked((int)st));
  CHECK(contains(out, "\"decision\":\"blocked\""));
  CHECK(contains(out, "\"code\":\"FLOW_VIOLATION\""));
  CHECK(contains(out, "\"rule_name\":\"Prod needs 2 approvals\"")); /* every rule is listed */
  versioner_string_free(out);
  CHECK(contains(versioner_last_error_message(), "Staging before production"));
  const char *body = versioner_last_error_json();
  CHECK(contains(body, "\"error\":\"deployment_blocked\""));
  CHECK(contains(body, "\"violations\""));
  CHECK(contains(body, "\"rule_name\":\"Staging before production\""));
  OK(versioner_history(h, "{\"environment_name\":\"production\"}", &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);

  /* The dry run says the same without recording, and takes an instant. */
  st = versioner_check(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"environment_name\":"
                          "\"production\",\"deployed_by\":\"dana\"}",
                       &out);
  CHECK(st == VERSIONER_STATUS_FLOW_VIOLATION);
  CHECK(contains(out, "\"decision\":\"blocked\""));
  versioner_string_free(out);
  CHECK(contains(versioner_last_error_json(), "deployment_blocked"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_check(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"environment_name\":"
                            "\"production\",\"at\":\"someday\"}",
                         &out));
  CHECK(out == NULL);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_check(h, "{\"product_name\":\"api\"}", &out));

  /* Through staging: now the release approvals are missing. */
  deploy(h, VERSIONER_STATUS_OK, "api", "2.0.0", "staging", "completed");
  st = versioner_check(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"environment_name\":"
                          "\"production\",\"deployed_by\":\"dana\"}",
                       &out);
  CHECK(st == VERSIONER_STATUS_APPROVAL_REQUIRED);
  versioner_string_free(out);

  /* Approvals. */
  char approval_id[128];
  OK(versioner_approve(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"approval_type\":"
                          "\"release\",\"approver\":\"sam\",\"approver_role\":\"sre\","
                          "\"comment\":\"looks good\"}",
                       &out));
  CHECK(contains(out, "\"approver\":\"sam\""));
  json_str(out, "id", approval_id, sizeof approval_id);
  versioner_string_free(out);
  OK(versioner_approve(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"approval_type\":"
                          "\"release\",\"approver\":\"kim\"}",
                       &out));
  versioner_string_free(out);
  /* The deployer's own approval never counts. */
  OK(versioner_approve(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"approval_type\":"
                          "\"release\",\"approver\":\"dana\"}",
                       &out));
  versioner_string_free(out);
  OK(versioner_approvals(h, "api", "2.0.0", &out));
  CHECK(contains(out, "\"approver\":\"kim\""));
  CHECK(contains(out, "\"comment\":\"looks good\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_approvals(h, "api", "9.9.9", &out));
  EXPECT(VERSIONER_STATUS_NOT_FOUND,
         versioner_approve(h, "{\"product_name\":\"api\",\"version\":\"9.9.9\",\"approval_type\":"
                              "\"qa\",\"approver\":\"sam\"}",
                           &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_approve(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"approval_type\":"
                              "\"qa!\",\"approver\":\"sam\"}",
                           &out));
  CHECK(contains(versioner_last_error_message(), "approval_type"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_approve(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\"}", &out));

  st = versioner_check(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"environment_name\":"
                          "\"production\",\"deployed_by\":\"dana\"}",
                       &out);
  CHECK(st == VERSIONER_STATUS_OK);
  CHECK(contains(out, "\"decision\":\"allowed\""));
  versioner_string_free(out);
  CHECK(versioner_last_error_json() == NULL);

  /* Revoking one approval blocks again; revoking twice or an unknown id is an error. */
  OK(versioner_revoke_approval(h, approval_id, "lead", "wrong build", &out));
  CHECK(contains(out, "\"revoked_by\":\"lead\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_revoke_approval(h, approval_id, "lead", "again", &out));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_revoke_approval(h, "nope", "lead", "x", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_revoke_approval(h, approval_id, " ", "x", &out));
  st = versioner_check(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"environment_name\":"
                          "\"production\",\"deployed_by\":\"dana\"}",
                       &out);
  CHECK(st == VERSIONER_STATUS_APPROVAL_REQUIRED);
  versioner_string_free(out);
  OK(versioner_approve(h, "{\"product_name\":\"api\",\"version\":\"2.0.0\",\"approval_type\":"
                          "\"release\",\"approver\":\"lee\"}",
                       &out));
  versioner_string_free(out);

  /* Allowed: recorded, with the preflight kept. A second deployment meanwhile is refused. */
  OK(versioner_track_deployment(
      h, event(buf, sizeof buf, "api", "2.0.0", "production", "started", "\"deployed_by\":\"dana\""), &out));
  CHECK(contains(out, "\"rules_evaluated\""));
  versioner_string_free(out);
  deploy(h, VERSIONER_STATUS_CONCURRENT_DEPLOYMENT, "web", "1.0.0", "production", "started");
  CHECK(contains(versioner_last_error_json(), "\"code\":\"CONCURRENT_DEPLOYMENT\""));
  deploy(h, VERSIONER_STATUS_OK, "api", "2.0.0", "production", "completed");

  /* Rule status changes are recorded with who and why; report_only warns instead of blocking. */
  OK(versioner_set_rule_status(h, "Staging before production", "report_only", "oncall",
                               "staging is down", &out));
  CHECK(contains(out, "\"status\":\"report_only\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_set_rule_status(h, "Staging before production", "sometimes", "a", "b", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_set_rule_status(h, "Staging before production", "enabled", "a", "", &out));
  CHECK(contains(versioner_last_error_message(), "reason"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_set_rule_status(h, "Nope", "enabled", "a", "b", &out));
  OK(versioner_rule_history(h, NULL, &out));
  CHECK(contains(out, "\"actor\":\"oncall\""));
  CHECK(contains(out, "\"reason\":\"staging is down\""));
  versioner_string_free(out);
  OK(versioner_rule_history(h, "One at a time", &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  OK(versioner_set_rule_status(h, "Prod needs 2 approvals", "disabled", "oncall", "demo", &out));
  versioner_string_free(out);
  OK(versioner_track_deployment(
      h, event(buf, sizeof buf, "web", "1.0.0", "production", "started", NULL), &out));
  CHECK(contains(out, "\"evaluation_result\":\"failed\"")); /* the report-only warning */
  versioner_string_free(out);
  deploy(h, VERSIONER_STATUS_OK, "web", "1.0.0", "production", "completed");

  /* Single rules: add, update (and rename), delete. */
  OK(versioner_add_rule(h, "{\"name\":\"QA sign-off\",\"type\":\"version_approval\","
                           "\"approval_types\":[\"qa\"],\"environments\":[\"production\"]}",
                        &out));
  CHECK(contains(out, "\"name\":\"QA sign-off\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_add_rule(h, "{\"name\":\"QA sign-off\",\"type\":\"version_approval\","
                               "\"approval_types\":[\"qa\"]}",
                            &out));
  CHECK(contains(versioner_last_error_message(), "already exists"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_add_rule(h, "{\"name\":\"X\"}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_add_rule(h, "not json", &out));
  CHECK(contains(versioner_last_error_message(), "rule_json"));
  deploy(h, VERSIONER_STATUS_QUALITY_APPROVAL_REQUIRED, "web", "1.0.1", "production", "started");
  OK(versioner_update_rule(h, "QA sign-off",
                           "{\"name\":\"QA and security\",\"type\":\"version_approval\","
                           "\"approval_types\":[\"qa\",\"security\"],\"status\":\"report_only\"}",
                           &out));
  CHECK(contains(out, "\"name\":\"QA and security\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND,
         versioner_update_rule(h, "QA sign-off", "{\"name\":\"Y\",\"type\":\"flow\","
                                                 "\"prerequisites\":[\"dev\"]}",
                               &out));
  OK(versioner_delete_rule(h, "QA and security"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_delete_rule(h, "QA and security"));

  /* Policy files, TOML and JSON, and merge mode. */
  path_in_scratch(path, sizeof path, "policy.toml");
  write_file(path, POLICY_TOML);
  OK(versioner_apply_policy_file(h, path, "replace", "ci", &out));
  CHECK(contains(out, "\"updated\":[\"Staging before production\",\"Prod needs 2 approvals\"]"));
  versioner_string_free(out);
  path_in_scratch(path, sizeof path, "extra.json");
  write_file(path, "{\"rules\":[{\"name\":\"Freeze\",\"type\":\"schedule\",\"mode\":\"deny\","
                   "\"timezone\":\"UTC\",\"environments\":[\"production\"],\"windows\":[{"
                   "\"recurrence\":\"once\",\"start\":\"2000-01-01T00:00\",\"end\":\"2000-01-02T00:00\"}]}]}");
  OK(versioner_apply_policy_file(h, path, "merge", "ci", &out));
  CHECK(contains(out, "\"added\":[\"Freeze\"]"));
  CHECK(contains(out, "\"deleted\":[]"));
  versioner_string_free(out);
  /* Only during a window long past: never allowed again. */
  OK(versioner_apply_policy(h, "[{\"name\":\"Freeze 2\",\"type\":\"schedule\",\"mode\":\"allow\","
                               "\"timezone\":\"UTC\",\"windows\":[{\"recurrence\":\"once\","
                               "\"start\":\"2000-01-01T00:00\",\"end\":\"2000-01-02T00:00\"}],"
                               "\"environments\":[\"frozen\"]}]",
                            NULL, "merge", "ci", &out));
  CHECK(contains(out, "\"added\":[\"Freeze 2\"]"));
  versioner_string_free(out);
  deploy(h, VERSIONER_STATUS_NO_DEPLOY_WINDOW, "api", "2.0.0", "frozen", "started");
  path_in_scratch(path, sizeof path, "missing.toml");
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_apply_policy_file(h, path, NULL, "ci", &out));
  CHECK(contains(versioner_last_error_message(), "cannot read"));
  OK(versioner_close(h));
}

/* ----- queries ------------------------------------------------------------------------------ */

static void test_queries(void) {
  VersionerHandle *h = NULL;
  char *out = NULL;
  char buf[1024];
  char version_id[128];
  OK(versioner_open(NULL, &h));

  OK(versioner_track_build(h, "{\"product_name\":\"shop\",\"version\":\"1.0.0\",\"status\":"
                              "\"completed\",\"scm_sha\":\"cafe1234cafe1234\"}",
                           &out));
  versioner_string_free(out);
  deploy(h, VERSIONER_STATUS_OK, "shop", "1.0.0", "staging", "completed");
  deploy(h, VERSIONER_STATUS_OK, "shop", "1.0.0", "production", "completed");
  deploy(h, VERSIONER_STATUS_OK, "shop", "1.1.0", "staging", "completed");
  deploy(h, VERSIONER_STATUS_OK, "shop", "1.2.0", "staging", "started");
  deploy(h, VERSIONER_STATUS_OK, "cart", "3.0.0", "dev", "failed");

  OK(versioner_products(h, &out));
  CHECK(contains(out, "\"name\":\"cart\""));
  CHECK(contains(out, "\"name\":\"shop\""));
  versioner_string_free(out);
  OK(versioner_environments(h, &out));
  CHECK(contains(out, "\"name\":\"staging\",\"type\":\"staging\""));
  CHECK(contains(out, "\"type\":\"production\""));
  versioner_string_free(out);
  OK(versioner_set_environment_type(h, "qa-lab", "test", &out));
  CHECK(contains(out, "\"type\":\"test\""));
  CHECK(contains(out, "\"type_overridden\":true"));
  versioner_string_free(out);
  OK(versioner_set_environment_type(h, "qa-lab", NULL, &out));
  CHECK(contains(out, "\"type_overridden\":false"));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_set_environment_type(h, "qa-lab", "moon", &out));

  /* The catalog: described and renamed by name or id; the id and the history stay. */
  {
    char product_id[128];
    OK(versioner_product(h, "SHOP", &out));
    CHECK(contains(out, "\"description\":null") && contains(out, "\"extra_metadata\":{}"));
    json_str(out, "id", product_id, sizeof product_id);
    versioner_string_free(out);
    OK(versioner_update_product(h, "shop", "{\"name\":\"store\",\"description\":\"The shop\","
                                           "\"extra_metadata\":{\"team\":\"web\"}}", &out));
    CHECK(contains(out, "\"name\":\"store\"") && contains(out, "\"description\":\"The shop\""));
    CHECK(contains(out, product_id));
    versioner_string_free(out);
    OK(versioner_product(h, product_id, &out));
    CHECK(contains(out, "\"team\":\"web\""));
    versioner_string_free(out);
    EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_product(h, "shop", &out));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_update_product(h, "store", "{\"name\":\"CART\"}", &out));
    CHECK(contains(versioner_last_error_message(), "already has this name"));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_update_product(h, "store", "{\"nmae\":\"x\"}", &out));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_update_product(h, "store", "{}", &out));
    OK(versioner_history(h, "{\"product_name\":\"store\"}", &out));
    CHECK(contains(out, "\"product_name\":\"store\""));
    versioner_string_free(out);
    OK(versioner_update_product(h, "store", "{\"name\":\"shop\"}", &out));
    versioner_string_free(out);
    OK(versioner_update_environment(h, "qa-lab", "{\"description\":\"the lab\"}", &out));
    CHECK(contains(out, "\"description\":\"the lab\""));
    versioner_string_free(out);
    OK(versioner_environment(h, "QA-LAB", &out));
    CHECK(contains(out, "\"name\":\"qa-lab\""));
    versioner_string_free(out);
    EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_environment(h, "nope", &out));
  }

  OK(versioner_versions(h, "shop", 0, 0, &out));
  CHECK(contains(out, "\"version\":\"1.2.0\""));
  CHECK(contains(out, "\"version\":\"1.0.0\""));
  versioner_string_free(out);
  OK(versioner_versions(h, "shop", 1, 0, &out));
  CHECK(contains(out, "\"version\":\"1.2.0\"") && !contains(out, "\"version\":\"1.0.0\""));
  versioner_string_free(out);
  OK(versioner_versions(h, "shop", 1, 2, &out));
  CHECK(contains(out, "\"version\":\"1.0.0\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_versions(h, "shop", 5000, 0, &out));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_versions(h, "nope", 0, 0, &out));

  OK(versioner_version(h, "shop", "1.0.0", &out));
  CHECK(contains(out, "\"scm_sha\":\"cafe1234cafe1234\""));
  json_str(out, "id", version_id, sizeof version_id);
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_version(h, "shop", "0.0.1", &out));
  OK(versioner_version_by_id(h, version_id, &out));
  CHECK(contains(out, "\"version\":\"1.0.0\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_version_by_id(h, "nope", &out));
  OK(versioner_versions_by_sha(h, "CAFE1234", &out));
  CHECK(contains(out, "\"version\":\"1.0.0\""));
  versioner_string_free(out);
  OK(versioner_versions_by_sha(h, "beef", &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_versions_by_sha(h, "not-hex!", &out));

  OK(versioner_history(h, NULL, &out));
  CHECK(contains(out, "\"product_name\":\"cart\""));
  versioner_string_free(out);
  OK(versioner_history(h, "{\"product_name\":\"shop\",\"environment\":\"staging\","
                          "\"status\":\"success\",\"limit\":10}",
                       &out));
  CHECK(contains(out, "\"version\":\"1.1.0\"") && !contains(out, "\"version\":\"1.2.0\""));
  CHECK(!contains(out, "\"product_name\":\"cart\""));
  versioner_string_free(out);
  OK(versioner_history(h, "{\"product\":\"shop\",\"version\":\"1.0.0\",\"since\":"
                          "\"2000-01-01T00:00:00Z\",\"until\":null}",
                       &out));
  CHECK(contains(out, "\"environment_name\":\"production\""));
  versioner_string_free(out);
  OK(versioner_history(h, "{\"product\":\"nobody\"}", &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_history(h, "{\"colour\":\"red\"}", &out));
  CHECK(contains(versioner_last_error_message(), "colour"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_history(h, "{\"limit\":0}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_history(h, "{\"version\":\"1.0.0\"}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_history(h, "[1]", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_history(h, "{", &out));

  OK(versioner_state(h, NULL, &out));
  CHECK(contains(out, "\"products\":[\"cart\",\"shop\"]"));
  CHECK(contains(out, "\"in_progress\":[{"));
  versioner_string_free(out);
  OK(versioner_state(h, "2000-01-01T00:00:00Z", &out));
  CHECK(contains(out, "\"cells\":[]"));
  versioner_string_free(out);
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_state(h, "yesterday", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "RFC 3339"));
  OK(versioner_state_table(h, NULL, &out));
  CHECK(contains(out, "PRODUCT"));
  CHECK(contains(out, "(*1.2.0)"));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_state_table(h, "", &out));

  OK(versioner_drift(h, NULL, NULL, &out));
  CHECK(contains(out, "\"product_name\":\"shop\""));
  CHECK(contains(out, "\"distinct_versions\":2"));
  versioner_string_free(out);
  OK(versioner_drift(h, NULL, "[\"staging\"]", &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  OK(versioner_drift(h, "2000-01-01T00:00:00Z", NULL, &out));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_drift(h, NULL, "{\"env\":1}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_drift(h, "x", NULL, &out));

  /* The four keys, read as GET /metrics/dora reads its query. */
  OK(versioner_dora(h, "{\"since\":\"2000-01-01T00:00:00Z\",\"until\":\"2100-01-01T00:00:00Z\","
                       "\"environment\":[\"staging\"],\"by\":null}", &out));
  CHECK(contains(out, "\"deployment_frequency\":{"));
  CHECK(contains(out, "\"environments\":[\"staging\"]"));
  CHECK(contains(out, "\"definitions\":{"));
  versioner_string_free(out);
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_dora(h, "{\"since\":\"2000-01-01T00:00:00Z\"}", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "until"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND,
         versioner_dora(h, "{\"since\":\"2000-01-01T00:00:00Z\",\"until\":\"2001-01-01T00:00:00Z\","
                           "\"product\":\"nope\"}", &out));
  /* Skew and stale versions, read as GET /skew and GET /stale read their queries. */
  OK(versioner_skew(h, "{\"ahead\":\"staging\",\"behind\":\"production\"}", &out));
  CHECK(out != NULL && out[0] == '[');
  versioner_string_free(out);
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_skew(h, "{\"ahead\":\"staging\"}", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "behind"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND,
         versioner_skew(h, "{\"ahead\":\"staging\",\"behind\":\"nowhere\"}", &out));
  OK(versioner_stale(h, "{\"environment\":\"staging\",\"older_than\":\"1s\","
                        "\"promoted_to\":[\"staging\"]}", &out));
  CHECK(out != NULL && out[0] == '[');
  versioner_string_free(out);
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_stale(h, "{\"environment\":\"staging\",\"older_than\":\"soon\"}", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "older_than"));
  (void)buf;
  OK(versioner_close(h));
}

/* ----- threads ------------------------------------------------------------------------------ */

#define THREADS 8
#define EVENTS_PER_THREAD 20

struct worker {
  const VersionerHandle *h;
  int index;
  int failures;
  VersionerStatus status; /* for the concurrency race */
};

static void *track_many(void *arg) {
  struct worker *w = arg;
  char buf[512];
  char product[32];
  snprintf(product, sizeof product, "svc-%d", w->index);
  for (int i = 0; i < EVENTS_PER_THREAD; i++) {
    char version[32];
    char *out = NULL;
    snprintf(version, sizeof version, "1.0.%d", i);
    if (versioner_track_deployment(w->h, event(buf, sizeof buf, product, version, "dev", "completed", NULL),
                                   &out) != VERSIONER_STATUS_OK)
      w->failures++;
    versioner_string_free(out);
    if (versioner_state(w->h, NULL, &out) != VERSIONER_STATUS_OK) w->failures++;
    versioner_string_free(out);
  }
  /* The last error is per thread: this thread's error survives other threads' successes. */
  char *out = NULL;
  if (versioner_track_build(w->h, "{}", &out) != VERSIONER_STATUS_INVALID_INPUT) w->failures++;
  sleep_ms(20);
  if (!contains(versioner_last_error_message(), "product_name")) w->failures++;
  return NULL;
}

static void *race_to_start(void *arg) {
  struct worker *w = arg;
  char buf[512];
  char product[32];
  char *out = NULL;
  snprintf(product, sizeof product, "racer-%d", w->index);
  w->status = versioner_track_deployment(w->h, event(buf, sizeof buf, product, "1.0.0", "arena",
                                                     "started", NULL),
                                         &out);
  versioner_string_free(out);
  return NULL;
}

struct closer_probe {
  VersionerHandle *h;
  int ok;
  int invalid;
  int other;
};

static void *use_until_closed(void *arg) {
  struct closer_probe *p = arg;
  for (;;) {
    char *out = NULL;
    VersionerStatus st = versioner_products(p->h, &out);
    versioner_string_free(out);
    if (st == VERSIONER_STATUS_OK) {
      p->ok++;
    } else if (st == VERSIONER_STATUS_INVALID_HANDLE) {
      p->invalid++;
      return NULL;
    } else {
      p->other++;
      return NULL;
    }
  }
}

static void test_threads(void) {
  VersionerHandle *h = NULL;
  char path[2048];
  char *out = NULL;
  path_in_scratch(path, sizeof path, "threads.db");
  OK(versioner_open(path, &h));

  pthread_t threads[THREADS];
  struct worker workers[THREADS];
  for (int i = 0; i < THREADS; i++) {
    workers[i] = (struct worker){.h = h, .index = i, .failures = 0, .status = VERSIONER_STATUS_OK};
    CHECK(pthread_create(&threads[i], NULL, track_many, &workers[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    CHECK(workers[i].failures == 0);
  }
  OK(versioner_history(h, "{\"environment_name\":\"dev\",\"limit\":1000}", &out));
  int count = 0;
  /* One `deployed_at` per deployment (a preflighted one also names its environment in its verdict). */
  for (const char *p = out; (p = strstr(p, "\"deployed_at\"")) != NULL; p++) count++;
  CHECK(count == THREADS * EVENTS_PER_THREAD);
  versioner_string_free(out);

  /* Check and record are one atomic step: of racing `started` events only one may pass. */
  OK(versioner_apply_policy(h, "[[rules]]\nname = \"Solo\"\ntype = \"concurrency\"\nmax = 1\n"
                               "per = \"environment\"\nenvironments = [\"arena\"]\n",
                            NULL, NULL, "test", &out));
  versioner_string_free(out);
  for (int i = 0; i < THREADS; i++) {
    workers[i] = (struct worker){.h = h, .index = i, .failures = 0, .status = VERSIONER_STATUS_OK};
    CHECK(pthread_create(&threads[i], NULL, race_to_start, &workers[i]) == 0);
  }
  int started = 0, refused = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    if (workers[i].status == VERSIONER_STATUS_OK) started++;
    if (workers[i].status == VERSIONER_STATUS_CONCURRENT_DEPLOYMENT) refused++;
  }
  CHECK(started == 1);
  CHECK(refused == THREADS - 1);

  /* Closing while another thread uses the handle: its calls end with INVALID_HANDLE. */
  struct closer_probe probe = {.h = h, .ok = 0, .invalid = 0, .other = 0};
  pthread_t user;
  CHECK(pthread_create(&user, NULL, use_until_closed, &probe) == 0);
  sleep_ms(50);
  OK(versioner_close(h));
  pthread_join(user, NULL);
  CHECK(probe.invalid == 1);
  CHECK(probe.other == 0);

  /* Two handles on one file see each other's writes. */
  VersionerHandle *a = NULL, *b = NULL;
  OK(versioner_open(path, &a));
  OK(versioner_open(path, &b));
  deploy(a, VERSIONER_STATUS_OK, "shared", "1.0.0", "dev", "completed");
  OK(versioner_products(b, &out));
  CHECK(contains(out, "\"name\":\"shared\""));
  versioner_string_free(out);
  OK(versioner_close(a));
  OK(versioner_close(b));
}

/* ----- waiting instead of failing ---------------------------------------------------------- */

struct waiter {
  const VersionerHandle *h;
  VersionerStatus status;
  char *out;
};

static void *wait_to_start(void *arg) {
  struct waiter *w = arg;
  char buf[512];
  w->status = versioner_track_deployment_wait(
      w->h, event(buf, sizeof buf, "api", "1.1", "production", "started", "\"deployed_by\":\"dana\""),
      30000, &w->out);
  return NULL;
}

static void test_wait_queue(void) {
  VersionerHandle *h = NULL;
  char path[2048];
  char buf[512];
  char *out = NULL;
  path_in_scratch(path, sizeof path, "queue.db");
  OK(versioner_open(path, &h));
  OK(versioner_apply_policy(h, "[[rules]]\nname = \"Solo\"\ntype = \"concurrency\"\nmax = 1\n",
                            NULL, NULL, "test", &out));
  versioner_string_free(out);
  deploy(h, VERSIONER_STATUS_OK, "api", "1.0", "production", "started");

  /* A waiter shows in the queue, then goes when the deployment in progress completes. */
  struct waiter w = {.h = h, .status = VERSIONER_STATUS_OK, .out = NULL};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, wait_to_start, &w) == 0);
  int queued = 0;
  for (int i = 0; i < 200 && !queued; i++) {
    OK(versioner_queue(h, "production", &out));
    queued = contains(out, "\"version\":\"1.1\"");
    if (queued) {
      CHECK(contains(out, "\"position\":1"));
      CHECK(contains(out, "\"waiter\":\"dana\""));
    }
    versioner_string_free(out);
    if (!queued) sleep_ms(50);
  }
  CHECK(queued);
  deploy(h, VERSIONER_STATUS_OK, "api", "1.0", "production", "completed");
  pthread_join(t, NULL);
  CHECK(w.status == VERSIONER_STATUS_OK);
  CHECK(w.out != NULL && contains(w.out, "\"version\":\"1.1\""));
  versioner_string_free(w.out);
  OK(versioner_queue(h, NULL, &out));
  CHECK(strcmp(out, "[]") == 0);
  versioner_string_free(out);

  /* Past its limit: the block, with the verdict; no ticket left. */
  EXPECT(VERSIONER_STATUS_CONCURRENT_DEPLOYMENT,
         versioner_track_deployment_wait(
             h, event(buf, sizeof buf, "api", "1.2", "production", "started", NULL), 1000, &out));
  CHECK(out != NULL && contains(out, "\"decision\":\"blocked\""));
  versioner_string_free(out);
  out = NULL;
  OK(versioner_queue(h, NULL, &out));
  CHECK(strcmp(out, "[]") == 0);
  versioner_string_free(out);

  /* Over an hour: INVALID_INPUT naming wait_ms, nothing written. */
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_track_deployment_wait(
             h, event(buf, sizeof buf, "api", "1.2", "production", "started", NULL), 3600001, &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "wait_ms"));
  OK(versioner_history(h, "{\"version\":\"1.2\",\"product_name\":\"api\"}", &out));
  CHECK(strcmp(out, "[]") == 0);
  versioner_string_free(out);
  OK(versioner_close(h));
}

/* ----- remote handles ----------------------------------------------------------------------- */

static void test_connect_errors(void) {
  VersionerHandle *h = (VersionerHandle *)SENTINEL;
  char *out = NULL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_connect("not a url", NULL, &h));
  CHECK(h == NULL);
  CHECK(contains(versioner_last_error_message(), "api_url"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_connect("ftp://example.com", NULL, &h));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_connect_with("http://127.0.0.1:1", NULL, "{\"max_attempts\":0}", &h));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_connect_with("http://127.0.0.1:1", NULL, "{\"retries\":3}", &h));
  CHECK(contains(versioner_last_error_message(), "`retries`: unknown option"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_connect_with("http://127.0.0.1:1", NULL, "[", &h));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8, versioner_connect("http://\xff", NULL, &h));

  /* Nothing listens on port 1: NETWORK on the first call, after one quick attempt. */
  OK(versioner_connect_with("http://127.0.0.1:1", "key",
                            "{\"max_attempts\":1,\"timeout_ms\":2000,\"backoff_ms\":1,"
                            "\"max_wait_ms\":10,\"user_agent\":\"c-test\"}",
                            &h));
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_NETWORK, versioner_products(h, &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_json(), "\"code\":\"NETWORK\""));
  /* Every function goes to the server, rule editing and environment types included. */
  EXPECT(VERSIONER_STATUS_NETWORK, versioner_delete_rule(h, "x"));
  EXPECT(VERSIONER_STATUS_NETWORK, versioner_rule_history(h, NULL, &out));
  EXPECT(VERSIONER_STATUS_NETWORK, versioner_version(h, "api", "1", &out));
  EXPECT(VERSIONER_STATUS_NETWORK, versioner_set_environment_type(h, "lab", NULL, &out));
  CHECK(out == NULL);
  /* Bad arguments are refused before anything is sent. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_add_rule(h, "{\"name\":\"X\"}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_set_environment_type(h, "lab", "moon", &out));
  OK(versioner_close(h));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_products(h, &out));
}

/* The same journey against `versioner serve`. */
static void test_remote(const char *url, const char *key) {
  VersionerHandle *h = NULL;
  VersionerHandle *anon = NULL;
  char *out = NULL;
  char buf[1024];
  char id[128];
  OK(versioner_connect(url, key, &h));

  OK(versioner_apply_policy(h, "[[rules]]\nname = \"Staging first\"\ntype = \"flow\"\n"
                               "environments = [\"production\"]\nprerequisites = [\"staging\"]\n",
                            NULL, NULL, "c-test", &out));
  CHECK(contains(out, "Staging first"));
  versioner_string_free(out);
  OK(versioner_rules(h, &out));
  CHECK(contains(out, "\"name\":\"Staging first\""));
  versioner_string_free(out);
  OK(versioner_track_build(h, "{\"product_name\":\"remote-api\",\"version\":\"1.0.0\",\"status\":"
                              "\"completed\",\"scm_sha\":\"abcdef12\"}",
                           &out));
  CHECK(contains(out, "\"status\":\"completed\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_VERSION_CONFLICT,
         versioner_track_build(h, "{\"product_name\":\"remote-api\",\"version\":\"1.0.0\",\"status\":"
                                  "\"completed\",\"scm_sha\":\"12345678\"}",
                               &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_track_build(h, "{\"product_name\":\"remote-api\",\"status\":\"completed\"}", &out));
  CHECK(contains(versioner_last_error_message(), "version"));

  VersionerStatus st = versioner_track_deployment(
      h, event(buf, sizeof buf, "remote-api", "1.0.0", "production", "started", NULL), &out);
  CHECK(st == VERSIONER_STATUS_FLOW_VIOLATION);
  CHECK(contains(out, "\"decision\":\"blocked\""));
  versioner_string_free(out);
  CHECK(contains(versioner_last_error_json(), "Staging first"));
  st = versioner_check(h, "{\"product_name\":\"remote-api\",\"version\":\"1.0.0\","
                          "\"environment_name\":\"production\"}",
                       &out);
  CHECK(st == VERSIONER_STATUS_FLOW_VIOLATION);
  versioner_string_free(out);

  OK(versioner_track_deployment(
      h, event(buf, sizeof buf, "remote-api", "1.0.0", "staging", "completed", NULL), &out));
  json_str(out, "id", id, sizeof id);
  versioner_string_free(out);
  OK(versioner_deployment(h, id, &out));
  CHECK(contains(out, "\"environment_name\":\"staging\""));
  versioner_string_free(out);
  OK(versioner_check(h, "{\"product_name\":\"remote-api\",\"version\":\"1.0.0\","
                        "\"environment_name\":\"production\"}",
                     &out));
  CHECK(contains(out, "\"decision\":\"allowed\""));
  versioner_string_free(out);
  OK(versioner_track_deployment(
      h, event(buf, sizeof buf, "remote-api", "1.0.0", "production", "success", NULL), &out));
  versioner_string_free(out);

  OK(versioner_set_rule_status(h, "Staging first", "report_only", "c-test", "remote test", &out));
  CHECK(contains(out, "\"status\":\"report_only\""));
  versioner_string_free(out);
  /* Through the server the approver is the key's principal, with its role; naming another is
     refused, and a remote handle cannot act as someone else. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_approve(h, "{\"product_name\":\"remote-api\",\"version\":\"1.0.0\","
                              "\"approval_type\":\"qa\",\"approver\":\"sam\"}",
                           &out));
  CHECK(contains(versioner_last_error_message(), "is not the caller"));
  OK(versioner_approve(h, "{\"product_name\":\"remote-api\",\"version\":\"1.0.0\","
                          "\"approval_type\":\"qa\"}",
                       &out));
  json_str(out, "id", id, sizeof id);
  versioner_string_free(out);
  OK(versioner_approvals(h, "remote-api", "1.0.0", &out));
  CHECK(contains(out, "\"approver\":\"c-test\""));
  CHECK(contains(out, "\"approver_role\":\"admin\""));
  versioner_string_free(out);
  {
    VersionerHandle *other = NULL;
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_acting_as(h, "sam", NULL, &other));
    CHECK(other == NULL);
  }
  OK(versioner_revoke_approval(h, id, "", "test", &out));
  versioner_string_free(out);

  OK(versioner_products(h, &out));
  CHECK(contains(out, "remote-api"));
  versioner_string_free(out);
  OK(versioner_environments(h, &out));
  CHECK(contains(out, "\"name\":\"production\""));
  versioner_string_free(out);
  OK(versioner_versions(h, "remote-api", 0, 0, &out));
  json_str(out, "id", id, sizeof id);
  versioner_string_free(out);
  OK(versioner_version_by_id(h, id, &out));
  CHECK(contains(out, "\"version\":\"1.0.0\""));
  versioner_string_free(out);
  OK(versioner_versions_by_sha(h, "abcdef12", &out));
  CHECK(contains(out, "remote-api"));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_versions(h, "no-such-product", 0, 0, &out));
  OK(versioner_history(h, "{\"product_name\":\"remote-api\"}", &out));
  CHECK(contains(out, "\"environment_name\":\"production\""));
  versioner_string_free(out);
  OK(versioner_state(h, NULL, &out));
  CHECK(contains(out, "remote-api"));
  versioner_string_free(out);
  OK(versioner_state_table(h, NULL, &out));
  CHECK(contains(out, "PRODUCT"));
  versioner_string_free(out);
  OK(versioner_drift(h, NULL, NULL, &out));
  versioner_string_free(out);
  OK(versioner_version(h, "remote-api", "1.0.0", &out));
  CHECK(contains(out, "\"scm_sha\":\"abcdef12\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_version(h, "remote-api", "9.9.9", &out));

  /* The refusal above is a recorded decision, listed by the server with the same filters. */
  OK(versioner_violations(h, "{\"product\":\"remote-api\",\"outcome\":\"blocked\"}", &out));
  CHECK(contains(out, "\"rule_name\":\"Staging first\""));
  CHECK(contains(out, "\"facts\":{"));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_violations(h, "{\"colour\":\"red\"}", &out));
  CHECK(contains(versioner_last_error_message(), "colour"));
  /* Replay, the audit chain and the event stream are in process only. */
  {
    int64_t seq = 7;
    EXPECT(VERSIONER_STATUS_INVALID_INPUT,
           versioner_replay(h, "2000-01-01T00:00:00Z", NULL, &out));
    CHECK(contains(versioner_last_error_message(), "in process only"));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_audit_verify(h, &out));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_deliver_pending(h, &out));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_events_since(h, 0, 10, &out));
    CHECK(out == NULL);
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_last_event_seq(h, &seq));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_cursor(h, "hook", &seq));
    CHECK(seq == 0);
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_acknowledge(h, "hook", 0));
    /* So are variables, buttons and the notification configuration (the server has routes). */
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_variables(h, NULL, &out));
    CHECK(contains(versioner_last_error_message(), "in process only"));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_version_buttons(h, "remote-api", "1", &out));
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_notification_channels(h, &out));
    CHECK(out == NULL);
  }

  /* Rules one by one, and their history, as in process. */
  OK(versioner_rule(h, "Staging first", &out));
  CHECK(contains(out, "\"type\":\"flow\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_rule(h, "No such rule", &out));
  OK(versioner_add_rule(h, "{\"name\":\"One at a time\",\"type\":\"concurrency\",\"max\":1}",
                        &out));
  CHECK(contains(out, "\"name\":\"One at a time\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_add_rule(h, "{\"name\":\"One at a time\",\"type\":\"concurrency\",\"max\":1}",
                            &out));
  CHECK(contains(versioner_last_error_message(), "already exists"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_add_rule(h, "{\"name\":\"x\"}", &out));
  OK(versioner_update_rule(h, "One at a time",
                           "{\"name\":\"Serial\",\"type\":\"concurrency\",\"max\":1,"
                           "\"status\":\"disabled\"}",
                           &out));
  CHECK(contains(out, "\"name\":\"Serial\""));
  versioner_string_free(out);
  OK(versioner_rule_history(h, "Serial", &out));
  CHECK(contains(out, "\"to_status\":\"disabled\""));
  versioner_string_free(out);
  OK(versioner_rule_history(h, NULL, &out));
  CHECK(contains(out, "\"reason\":\"remote test\""));
  CHECK(contains(out, "\"rule_name\":\"Serial\""));
  versioner_string_free(out);
  OK(versioner_delete_rule(h, "Serial"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_delete_rule(h, "Serial"));

  /* Environment types: set, then inferred from the name again. */
  OK(versioner_set_environment_type(h, "remote-lab", "staging", &out));
  CHECK(contains(out, "\"type\":\"staging\""));
  CHECK(contains(out, "\"type_overridden\":true"));
  versioner_string_free(out);
  OK(versioner_set_environment_type(h, "remote-lab", NULL, &out));
  CHECK(contains(out, "\"type_overridden\":false"));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_set_environment_type(h, "remote-lab", "moon", &out));

  /* Without a key: UNAUTHORIZED, with the server's message. */
  OK(versioner_connect_with(url, NULL, "{\"max_attempts\":1}", &anon));
  EXPECT(VERSIONER_STATUS_UNAUTHORIZED, versioner_products(anon, &out));
  CHECK(contains(versioner_last_error_json(), "UNAUTHORIZED"));
  OK(versioner_close(anon));
  OK(versioner_close(h));
}

/* ----- PostgreSQL -------------------------------------------------------------------------- */

static void test_postgres_errors(void) {
  VersionerHandle *h = (VersionerHandle *)SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_connect_postgres("host='unterminated", NULL, &h));
  CHECK(h == NULL);
  CHECK(contains(versioner_last_error_message(), "database_url"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_connect_postgres("host=/nowhere dbname=x", "{\"schema\":\"no-dashes\"}", &h));
  CHECK(contains(versioner_last_error_message(), "schema"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_connect_postgres("host=/nowhere dbname=x", "{\"pool\":1}", &h));
  CHECK(contains(versioner_last_error_message(), "`pool`: unknown option"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_connect_postgres("host=/nowhere dbname=x", "{\"synchronous\":\"full\"}", &h));
  CHECK(contains(versioner_last_error_message(), "SQLite option"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_connect_postgres("host=/nowhere dbname=x", "{\"max_connections\":0}", &h));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_connect_postgres("host=/nowhere", "[", &h));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8, versioner_connect_postgres("host=\xff", NULL, &h));
  CHECK(h == NULL);
}

/* The journey on PostgreSQL, in a schema of this run's own; two handles share the database. */
static void test_postgres(const char *url) {
  VersionerHandle *a = NULL;
  VersionerHandle *b = NULL;
  char *out = NULL;
  char options[256];
  snprintf(options, sizeof options, "{\"schema\":\"c_test_%ld_%ld\",\"max_connections\":4}",
           (long)time(NULL), (long)clock());
  OK(versioner_connect_postgres(url, options, &a));
  OK(versioner_connect_postgres(url, options, &b));
  OK(versioner_apply_policy(a, "[[rules]]\nname = \"Staging first\"\ntype = \"flow\"\n"
                               "environments = [\"production\"]\nprerequisites = [\"staging\"]\n",
                            NULL, NULL, "c-test", &out));
  versioner_string_free(out);
  deploy(a, VERSIONER_STATUS_FLOW_VIOLATION, "pg-api", "1.0.0", "production", "started");
  deploy(b, VERSIONER_STATUS_OK, "pg-api", "1.0.0", "staging", "completed");
  deploy(a, VERSIONER_STATUS_OK, "pg-api", "1.0.0", "production", "started");
  deploy(b, VERSIONER_STATUS_OK, "pg-api", "1.0.0", "production", "completed");
  OK(versioner_history(b, "{\"product\":\"pg-api\"}", &out));
  CHECK(contains(out, "\"environment_name\":\"production\""));
  versioner_string_free(out);
  OK(versioner_state_table(a, NULL, &out));
  CHECK(contains(out, "pg-api"));
  versioner_string_free(out);
  OK(versioner_version(b, "pg-api", "1.0.0", &out));
  versioner_string_free(out);
  OK(versioner_set_environment_type(a, "pg-lab", "test", &out));
  CHECK(contains(out, "\"type\":\"test\""));
  versioner_string_free(out);
  OK(versioner_close(a));
  OK(versioner_close(b));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_products(a, &out));
}

/* A handle acting as someone: events, approvals and rule changes record the actor, and its
   role decides what it may do. */
static void test_acting_as(void) {
  VersionerHandle *h = NULL;
  VersionerHandle *dana = NULL;
  VersionerHandle *viewer = NULL;
  char *out = NULL;
  OK(versioner_open(NULL, &h));
  OK(versioner_acting_as(h, "dana", "sre", &dana));
  OK(versioner_track_build(dana, "{\"product_name\":\"api\",\"version\":\"1\",\"status\":\"completed\"}",
                           &out));
  CHECK(contains(out, "\"built_by\":\"dana\""));
  CHECK(contains(out, "\"recorded_by\":\"dana\""));
  versioner_string_free(out);
  OK(versioner_approve(dana, "{\"product_name\":\"api\",\"version\":\"1\",\"approval_type\":\"release\"}",
                       &out));
  CHECK(contains(out, "\"approver\":\"dana\""));
  CHECK(contains(out, "\"approver_role\":\"sre\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_FORBIDDEN,
         versioner_approve(dana, "{\"product_name\":\"api\",\"version\":\"1\",\"approval_type\":\"security\"}",
                           &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "may not grant `security` approvals"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_approve(dana, "{\"product_name\":\"api\",\"version\":\"1\",\"approval_type\":\"secuirty\"}",
                           &out));
  CHECK(contains(versioner_last_error_message(), "accepted: qa, security, uat"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_approve(dana, "{\"product_name\":\"api\",\"version\":\"1\",\"approval_type\":\"release\","
                                 "\"approver\":\"rita\"}",
                           &out));
  OK(versioner_approvals(h, "api", "1", &out));
  CHECK(contains(out, "\"approver\":\"dana\"") && !contains(out, "rita"));
  versioner_string_free(out);
  OK(versioner_add_rule(h, "{\"name\":\"Serial\",\"type\":\"concurrency\"}", &out));
  versioner_string_free(out);
  OK(versioner_set_rule_status(dana, "Serial", "disabled", "", "INC-1", &out));
  versioner_string_free(out);
  OK(versioner_rule_history(h, "Serial", &out));
  CHECK(contains(out, "\"actor\":\"dana\""));
  versioner_string_free(out);
  OK(versioner_acting_as(h, "val", "viewer", &viewer));
  EXPECT(VERSIONER_STATUS_FORBIDDEN, versioner_delete_rule(viewer, "Serial"));
  {
    VersionerHandle *bad = NULL;
    EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_acting_as(h, "x", "wizard", &bad));
    CHECK(bad == NULL);
    CHECK(contains(versioner_last_error_message(), "unknown role `wizard`"));
  }
  OK(versioner_close(viewer));
  OK(versioner_close(dana));
  OK(versioner_close(h));
}

/* ----- decisions, replay and the audit log ----------------------------------------------- */

static const char *STAGING_FIRST =
    "[[rules]]\n"
    "name = \"Staging first\"\n"
    "type = \"flow\"\n"
    "environments = [\"production\"]\n"
    "prerequisites = [\"staging\"]\n";

/* The same rule, plus one that would have refused the staging deployment. */
static const char *DEV_BEFORE_STAGING =
    "[[rules]]\n"
    "name = \"Staging first\"\n"
    "type = \"flow\"\n"
    "environments = [\"production\"]\n"
    "prerequisites = [\"staging\"]\n"
    "\n"
    "[[rules]]\n"
    "name = \"Dev first\"\n"
    "type = \"flow\"\n"
    "environments = [\"staging\"]\n"
    "prerequisites = [\"dev\"]\n";

static void test_decisions_and_audit(void) {
  VersionerHandle *h = NULL;
  char *out = NULL;
  int64_t seq = -1;
  int64_t last = -1;
  const char *SINCE = "2000-01-01T00:00:00Z";
  OK(versioner_open(NULL, &h));

  /* A fresh database: no events, an intact (empty) chain. */
  OK(versioner_last_event_seq(h, &last));
  CHECK(last == 0);
  OK(versioner_audit_verify(h, &out));
  CHECK(contains(out, "\"entries\":0"));
  CHECK(contains(out, "\"first_mismatch\":null"));
  versioner_string_free(out);
  OK(versioner_events_since(h, 0, 10, &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);

  OK(versioner_apply_policy(h, STAGING_FIRST, NULL, NULL, "ci", &out));
  versioner_string_free(out);
  /* Refused: the decision is kept with its verdict and the facts it was decided on. */
  deploy(h, VERSIONER_STATUS_FLOW_VIOLATION, "api", "1.0.0", "production", "started");
  deploy(h, VERSIONER_STATUS_OK, "api", "1.0.0", "staging", "started");
  deploy(h, VERSIONER_STATUS_OK, "api", "1.0.0", "staging", "completed");

  OK(versioner_violations(h, NULL, &out));
  CHECK(contains(out, "\"outcome\":\"blocked\""));
  CHECK(contains(out, "\"environment_name\":\"production\""));
  CHECK(contains(out, "\"verdict\":{"));
  CHECK(contains(out, "\"rule_name\":\"Staging first\""));
  CHECK(contains(out, "\"facts\":{"));
  CHECK(contains(out, "\"policy_hash\":\""));
  CHECK(!contains(out, "\"environment_name\":\"staging\"")); /* allowed: not a violation */
  versioner_string_free(out);
  OK(versioner_violations(h, "{\"rule\":\"Staging first\",\"product\":\"api\","
                             "\"environment\":\"production\",\"outcome\":\"blocked\","
                             "\"since\":\"2000-01-01T00:00:00Z\",\"limit\":1}",
                          &out));
  CHECK(contains(out, "\"outcome\":\"blocked\""));
  versioner_string_free(out);
  OK(versioner_violations(h, "{\"product\":\"web\"}", &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  OK(versioner_violations(h, "{\"outcome\":\"reported\"}", &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_violations(h, "{\"colour\":\"red\"}", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "colour"));
  CHECK(contains(versioner_last_error_json(), "colour"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_violations(h, "{\"outcome\":\"exploded\"}", &out));
  CHECK(contains(versioner_last_error_message(), "outcome"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_violations(h, "{\"since\":\"yesterday\"}", &out));
  CHECK(contains(versioner_last_error_message(), "since"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_violations(h, "{\"limit\":0}", &out));
  CHECK(contains(versioner_last_error_message(), "limit"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_violations(h, "{", &out));
  CHECK(contains(versioner_last_error_message(), "filters_json"));

  /* Replay: the policy then in force, or the same policy as a candidate, changes nothing. */
  OK(versioner_replay(h, SINCE, NULL, &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  OK(versioner_replay(h, SINCE, STAGING_FIRST, &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  /* A tighter policy lists exactly the decision it would change. */
  OK(versioner_replay(h, SINCE, DEV_BEFORE_STAGING, &out));
  CHECK(contains(out, "\"environment_name\":\"staging\""));
  CHECK(contains(out, "\"was\":\"allowed\""));
  CHECK(contains(out, "\"now\":\"blocked\""));
  CHECK(contains(out, "\"failed_now\":[\"Dev first\"]"));
  CHECK(!contains(out, "\"environment_name\":\"production\""));
  versioner_string_free(out);
  OK(versioner_replay(h, "2999-01-01T00:00:00Z", DEV_BEFORE_STAGING, &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_replay(h, "yesterday", NULL, &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "since"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_replay(h, SINCE, "[[rules]]\nname = \"X\"\ntype = \"teleport\"\n", &out));
  CHECK(contains(versioner_last_error_message(), "teleport"));
  OK(versioner_rules(h, &out)); /* replay wrote nothing */
  CHECK(!contains(out, "Dev first"));
  versioner_string_free(out);

  /* The audit chain holds. */
  OK(versioner_audit_verify(h, &out));
  CHECK(contains(out, "\"first_mismatch\":null"));
  CHECK(contains(out, "\"reason\":null"));
  CHECK(contains(out, "\"head\":\""));
  CHECK(!contains(out, "\"entries\":0"));
  versioner_string_free(out);

  /* The event stream, in order, read from a consumer's cursor. */
  OK(versioner_last_event_seq(h, &last));
  CHECK(last >= 4);
  OK(versioner_events_since(h, 0, 1000, &out));
  CHECK(contains(out, "{\"seq\":1,"));
  CHECK(contains(out, "\"event_type\":\"deployment.preflight_failed\""));
  CHECK(contains(out, "\"event_type\":\"deployment.started\""));
  CHECK(contains(out, "\"hash\":\""));
  versioner_string_free(out);
  OK(versioner_cursor(h, "webhook", &seq));
  CHECK(seq == 0);
  OK(versioner_events_since(h, seq, 1, &out));
  CHECK(contains(out, "[{\"seq\":1,"));
  CHECK(!contains(out, "\"seq\":2"));
  versioner_string_free(out);
  OK(versioner_acknowledge(h, "webhook", 1));
  OK(versioner_cursor(h, "webhook", &seq));
  CHECK(seq == 1);
  OK(versioner_events_since(h, seq, 1, &out));
  CHECK(contains(out, "[{\"seq\":2,"));
  versioner_string_free(out);
  OK(versioner_acknowledge(h, "webhook", last));
  OK(versioner_acknowledge(h, "webhook", 1)); /* never moves back */
  OK(versioner_cursor(h, "webhook", &seq));
  CHECK(seq == last);
  OK(versioner_events_since(h, seq, 10, &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);
  OK(versioner_cursor(h, "metrics", &seq)); /* each consumer has its own */
  CHECK(seq == 0);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_acknowledge(h, "webhook", last + 1));
  CHECK(contains(versioner_last_error_message(), "seq"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_acknowledge(h, "webhook", -1));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_acknowledge(h, "  ", 1));
  CHECK(contains(versioner_last_error_message(), "consumer"));
  seq = 42;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_cursor(h, "", &seq));
  CHECK(seq == 0);
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_events_since(h, -1, 10, &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "after"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_events_since(h, 0, 0, &out));
  CHECK(contains(versioner_last_error_message(), "limit"));

  OK(versioner_close(h));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_audit_verify(h, &out));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_acknowledge(h, "webhook", 0));
  CHECK(out == NULL);
}

/* ----- backups ------------------------------------------------------------------------------ */

static void test_backup_and_restore(void) {
  VersionerHandle *live = NULL;
  VersionerHandle *fresh = NULL;
  char *out = NULL;
  char live_path[1200];
  char backup_path[1200];
  char fresh_path[1200];
  path_in_scratch(live_path, sizeof live_path, "backup-live.db");
  path_in_scratch(backup_path, sizeof backup_path, "backup-copy.db");
  path_in_scratch(fresh_path, sizeof fresh_path, "backup-fresh.db");
  OK(versioner_open(live_path, &live));
  OK(versioner_track_build(
      live, "{\"product_name\":\"api\",\"version\":\"1.0.0\",\"status\":\"success\"}", &out));
  versioner_string_free(out);
  OK(versioner_backup(live, backup_path));
  /* Never over an existing file. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_backup(live, backup_path));
  CHECK(contains(versioner_last_error_message(), "already exists"));

  OK(versioner_open(fresh_path, &fresh));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_restore(fresh, backup_path, "upsert"));
  OK(versioner_restore(fresh, backup_path, NULL));
  OK(versioner_products(fresh, &out));
  CHECK(contains(out, "\"name\":\"api\""));
  versioner_string_free(out);
  /* Now it holds records: refused unless "overwrite". */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_restore(fresh, backup_path, "refuse"));
  CHECK(contains(versioner_last_error_message(), "already holds records"));
  OK(versioner_restore(fresh, backup_path, "overwrite"));
  OK(versioner_close(fresh));
  OK(versioner_close(live));
}

/* History import and export: JSON Lines in, the report as JSON out; a failing line named; a
 * second import skips every line; the export of a copy is the export of the original. */
static void test_import_and_export(void) {
  VersionerHandle *h = NULL;
  VersionerHandle *copy = NULL;
  char *out = NULL;
  char *text = NULL;
  const char *history =
      "{\"kind\":\"build\",\"product_name\":\"api\",\"version\":\"1.0.0\","
      "\"status\":\"completed\",\"completed_at\":\"2026-11-01T09:00:00Z\"}\n"
      "{\"kind\":\"deployment\",\"product_name\":\"api\",\"version\":\"1.0.0\","
      "\"environment_name\":\"production\",\"status\":\"completed\","
      "\"completed_at\":\"2026-11-01T10:05:00Z\"}\n";
  char path[1200];
  char copy_path[1200];
  path_in_scratch(path, sizeof path, "import-source.db");
  path_in_scratch(copy_path, sizeof copy_path, "import-copy.db");
  OK(versioner_open(path, &h));
  OK(versioner_import_events(h, history, "dry_run", &out));
  CHECK(contains(out, "\"dry_run\":true"));
  versioner_string_free(out);
  OK(versioner_import_events(h, history, NULL, &out));
  CHECK(contains(out, "\"deployments\":1") && contains(out, "\"skipped\":0"));
  versioner_string_free(out);
  OK(versioner_import_events(h, history, "apply", &out));
  CHECK(contains(out, "\"skipped\":2"));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_import_events(h, history, "upsert", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_import_events(h, "{\"kind\":\"build\"}\n{\"kind\":", NULL, &out));
  CHECK(contains(versioner_last_error_message(), "line 1"));
  CHECK(contains(versioner_last_error_message(), "line 2"));

  OK(versioner_export_events(h, &text));
  CHECK(contains(text, "\"kind\":\"deployment\""));
  OK(versioner_open(copy_path, &copy));
  OK(versioner_import_events(copy, text, NULL, &out));
  versioner_string_free(out);
  OK(versioner_export_events(copy, &out));
  CHECK(out != NULL && text != NULL && strcmp(out, text) == 0);
  versioner_string_free(out);
  versioner_string_free(text);
  OK(versioner_close(copy));
  OK(versioner_close(h));
}

/* Notifications declared by a policy, delivered by versioner_deliver_pending: a receiver that
 * refuses connections gets three attempts, then the event is parked. */
static void test_deliver_pending(void) {
  VersionerHandle *h = NULL;
  char *out = NULL;
  OK(versioner_open(NULL, &h));
  OK(versioner_deliver_pending(h, &out));
  CHECK(contains(out, "\"channels\":0"));
  versioner_string_free(out);
  OK(versioner_apply_policy(h,
                            "[[notifications]]\n"
                            "name = \"hook\"\n"
                            "channel_type = \"webhook\"\n"
                            "config = { url = \"http://127.0.0.1:1/hook\" }\n",
                            NULL, NULL, "ci", &out));
  versioner_string_free(out);
  deploy(h, VERSIONER_STATUS_OK, "api", "1.0.0", "staging", "completed");
  OK(versioner_deliver_pending(h, &out));
  CHECK(contains(out, "\"parked\":1"));
  CHECK(contains(out, "\"attempts\":3"));
  versioner_string_free(out);
  OK(versioner_close(h));
}

/* ----- variables, deployment buttons and notification configuration ----------------------- */

static void test_variables_and_buttons(void) {
  VersionerHandle *h = NULL;
  char *out = NULL;
  char id[64];
  OK(versioner_open(NULL, &h));
  OK(versioner_track_build(
      h, "{\"product_name\":\"api\",\"version\":\"1.2.3\",\"status\":\"completed\"}", &out));
  versioner_string_free(out);

  /* Organization and product scopes: the product's value overrides. */
  OK(versioner_set_variable(h, "{\"name\":\"my_var\",\"value\":\"org value\"}", &out));
  CHECK(contains(out, "\"name\":\"my_var\"") && !contains(out, "\"product\""));
  versioner_string_free(out);
  OK(versioner_set_variable(
      h, "{\"name\":\"my_var\",\"value\":\"a&b=c/d#e f?\",\"product\":\"api\"}", &out));
  CHECK(contains(out, "\"product\":\"api\""));
  versioner_string_free(out);
  OK(versioner_variables(h, NULL, &out));
  CHECK(contains(out, "\"value\":\"org value\"") && !contains(out, "a&b"));
  versioner_string_free(out);
  OK(versioner_variables(h, "api", &out));
  CHECK(contains(out, "\"value\":\"a&b=c/d#e f?\""));
  versioner_string_free(out);

  /* Errors: nothing written. */
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_set_variable(h, "{\"name\":\"vi_version\",\"value\":\"x\"}", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "reserved"));
  CHECK(contains(versioner_last_error_json(), "\"code\":\"INVALID_INPUT\""));
  CHECK(contains(versioner_last_error_json(), "\"loc\":[\"body\",\"name\"]"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_set_variable(h, "{\"name\":\"Bad-Name\",\"value\":\"x\"}", &out));
  CHECK(contains(versioner_last_error_message(), "not a variable name"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_set_variable(h, "{\"name\":\"x\",\"value\":\"x\",\"colour\":1}", &out));
  EXPECT(VERSIONER_STATUS_NOT_FOUND,
         versioner_set_variable(h, "{\"name\":\"x\",\"value\":\"x\",\"product\":\"nope\"}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8,
         versioner_set_variable(h, "{\"name\":\"x\",\"value\":\"\xff\"}", &out));
  EXPECT(VERSIONER_STATUS_NULL_POINTER, versioner_set_variable(h, NULL, &out));
  CHECK(contains(versioner_last_error_message(), "variable_json"));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8, versioner_variables(h, "\xff", &out));
  OK(versioner_variables(h, NULL, &out));
  CHECK(contains(out, "\"name\":\"my_var\"") && !contains(out, "vi_version"));
  CHECK(!contains(out, "Bad-Name"));
  versioner_string_free(out);

  /* Buttons. */
  OK(versioner_add_deployment_button(
      h,
      "{\"product\":\"api\",\"name\":\"Deploy\",\"url_template\":"
      "\"https://ci.example.com/deploy/{vi_product_name}?version={vi_version}&target={my_var}\","
      "\"environments\":[\"production\"]}",
      &out));
  CHECK(contains(out, "\"enabled\":true"));
  json_str(out, "id", id, sizeof id);
  CHECK(id[0] != '\0');
  versioner_string_free(out);
  OK(versioner_version_buttons(h, "api", "1.2.3", &out));
  CHECK(contains(out, "\"url\":\"https://ci.example.com/deploy/api?version=1.2.3"
                      "&target=a%26b%3Dc%2Fd%23e%20f%3F\""));
  CHECK(contains(out, "\"environment\":\"production\""));
  CHECK(contains(out, "\"error\":null"));
  versioner_string_free(out);
  OK(versioner_deployment_buttons(h, "api", &out));
  CHECK(contains(out, id));
  versioner_string_free(out);

  /* The product's value removed: the organization's is used; both removed: named. */
  OK(versioner_remove_variable(h, "my_var", "api"));
  OK(versioner_version_buttons(h, "api", "1.2.3", &out));
  CHECK(contains(out, "target=org%20value"));
  versioner_string_free(out);
  OK(versioner_remove_variable(h, "my_var", NULL));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_remove_variable(h, "my_var", NULL));
  OK(versioner_version_buttons(h, "api", "1.2.3", &out));
  CHECK(contains(out, "\"url\":null"));
  CHECK(contains(out, "\"error\":\"Missing variable: my_var\""));
  versioner_string_free(out);

  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_add_deployment_button(
             h,
             "{\"product\":\"api\",\"name\":\"FTP\",\"url_template\":\"ftp://x.example.com/\","
             "\"environments\":[\"staging\"]}",
             &out));
  CHECK(contains(versioner_last_error_json(), "\"loc\":[\"body\",\"url_template\"]"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_add_deployment_button(
             h,
             "{\"product\":\"api\",\"name\":\"Again\",\"url_template\":\"https://x.example.com/\","
             "\"environments\":[\"production\"]}",
             &out));
  CHECK(contains(versioner_last_error_message(), "one template per environment"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_version_buttons(h, "api", "9.9.9", &out));
  OK(versioner_deployment_buttons(h, NULL, &out));
  CHECK(!contains(out, "FTP") && !contains(out, "Again"));
  versioner_string_free(out);
  OK(versioner_remove_deployment_button(h, id));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_remove_deployment_button(h, id));
  OK(versioner_deployment_buttons(h, NULL, &out));
  CHECK(strcmp(out, "[]") == 0);
  versioner_string_free(out);

  /* NULL arguments. */
  const VersionerStatus NP = VERSIONER_STATUS_NULL_POINTER;
  EXPECT(NP, versioner_variables(h, NULL, NULL));
  EXPECT(NP, versioner_remove_variable(h, NULL, NULL));
  EXPECT(NP, versioner_add_deployment_button(h, NULL, &out));
  EXPECT(NP, versioner_add_deployment_button(h, "{}", NULL));
  EXPECT(NP, versioner_deployment_buttons(h, NULL, NULL));
  EXPECT(NP, versioner_remove_deployment_button(h, NULL));
  EXPECT(NP, versioner_version_buttons(h, NULL, "1", &out));
  EXPECT(NP, versioner_version_buttons(h, "api", NULL, &out));
  EXPECT(NP, versioner_version_buttons(h, "api", "1", NULL));
  EXPECT(NP, versioner_set_variable(NULL, "{}", &out));
  OK(versioner_close(h));
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_variables(h, NULL, &out));
}

/* A one-shot HTTP receiver: accepts `count` requests, keeps each one's head and body, and
 * answers 200. */
typedef struct {
  int fd;
  int count;
  char got[2][4096];
} Receiver;

static void *receive(void *arg) {
  Receiver *r = arg;
  for (int i = 0; i < r->count; i++) {
    int c = accept(r->fd, NULL, NULL);
    if (c < 0) return NULL;
    size_t n = 0;
    char *buf = r->got[i];
    for (;;) {
      ssize_t k = read(c, buf + n, sizeof r->got[i] - 1 - n);
      if (k <= 0) break;
      n += (size_t)k;
      buf[n] = '\0';
      char *end = strstr(buf, "\r\n\r\n");
      char *len = strstr(buf, "ength:"); /* Content-Length, in any case */
      if (end != NULL && len != NULL &&
          n >= (size_t)(end + 4 - buf) + (size_t)strtol(len + 6, NULL, 10))
        break;
    }
    const char *reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (write(c, reply, strlen(reply)) < 0) perror("write");
    close(c);
  }
  return NULL;
}

static void test_notification_configuration(void) {
  VersionerHandle *h = NULL;
  char *out = NULL;
  char channel_id[64];
  char pref_id[64];
  char body[512];
  OK(versioner_open(NULL, &h));

  /* Errors first: nothing written. */
  out = SENTINEL;
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_add_notification_channel(
             h, "{\"name\":\"ci\",\"channel_type\":\"pigeon\",\"config\":{}}", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "pigeon"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_add_notification_channel(
             h, "{\"name\":\"ci\",\"channel_type\":\"webhook\",\"config\":{}}", &out));
  CHECK(contains(versioner_last_error_json(), "\"loc\":[\"body\",\"config.url\"]"));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8,
         versioner_add_notification_channel(h, "{\"name\":\"\xff\"}", &out));
  EXPECT(VERSIONER_STATUS_NULL_POINTER, versioner_add_notification_channel(h, NULL, &out));
  OK(versioner_notification_channels(h, &out));
  CHECK(strcmp(out, "[]") == 0);
  versioner_string_free(out);

  /* A receiver on an ephemeral port. */
  Receiver r = {.fd = socket(AF_INET, SOCK_STREAM, 0), .count = 2};
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  CHECK(bind(r.fd, (struct sockaddr *)&addr, sizeof addr) == 0);
  CHECK(listen(r.fd, 4) == 0);
  CHECK(getsockname(r.fd, (struct sockaddr *)&addr, &alen) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, receive, &r) == 0);

  snprintf(body, sizeof body,
           "{\"name\":\"ci\",\"channel_type\":\"webhook\",\"config\":"
           "{\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"s3cret-value\"}}",
           ntohs(addr.sin_port));
  OK(versioner_add_notification_channel(h, body, &out));
  CHECK(!contains(out, "s3cret-value"));
  json_str(out, "id", channel_id, sizeof channel_id);
  versioner_string_free(out);
  OK(versioner_notification_channels(h, &out));
  CHECK(contains(out, channel_id) && contains(out, "\"channel_type\":\"webhook\""));
  CHECK(!contains(out, "s3cret-value"));
  versioner_string_free(out);

  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_add_notification_preference(
             h, "{\"channel_id\":\"ci\",\"event_type\":\"deployment.exploded\"}", &out));
  EXPECT(VERSIONER_STATUS_NOT_FOUND,
         versioner_add_notification_preference(
             h, "{\"channel_id\":\"nope\",\"event_type\":\"build.completed\"}", &out));
  OK(versioner_notification_preferences(h, &out));
  CHECK(strcmp(out, "[]") == 0);
  versioner_string_free(out);
  OK(versioner_add_notification_preference(
      h,
      "{\"channel_id\":\"ci\",\"event_type\":\"build.completed\","
      "\"filters\":{\"products\":[\"api\"]}}",
      &out));
  CHECK(contains(out, "\"products\":[\"api\"]"));
  json_str(out, "id", pref_id, sizeof pref_id);
  versioner_string_free(out);

  OK(versioner_track_build(
      h, "{\"product_name\":\"other\",\"version\":\"1.0.0\",\"status\":\"completed\"}", &out));
  versioner_string_free(out);
  OK(versioner_track_build(
      h, "{\"product_name\":\"api\",\"version\":\"1.2.3\",\"status\":\"completed\"}", &out));
  versioner_string_free(out);
  OK(versioner_deliver_pending(h, &out));
  CHECK(contains(out, "\"delivered\":1"));
  versioner_string_free(out);
  OK(versioner_send_test_notification(h, "ci", &out));
  CHECK(contains(out, "\"event_type\":\"test\"") && contains(out, "\"status\":\"delivered\""));
  versioner_string_free(out);
  pthread_join(t, NULL);
  close(r.fd);
  CHECK(contains(r.got[0], "build.completed") && contains(r.got[0], "\"version\":\"1.2.3\""));
  CHECK(contains(r.got[1], "test"));

  OK(versioner_notification_history(h, "{\"channel\":\"ci\",\"status\":\"delivered\"}", &out));
  CHECK(contains(out, "\"event_type\":\"build.completed\""));
  CHECK(contains(out, "\"response_code\":200"));
  versioner_string_free(out);
  OK(versioner_notification_history(h, NULL, &out));
  CHECK(contains(out, "\"channel_name\":\"ci\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_notification_history(h, "{\"status\":\"lost\"}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_notification_history(h, "{\"limit\":0}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_notification_history(h, "{\"colour\":1}", &out));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_notification_history(h, "{\"channel\":\"x\"}", &out));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_send_test_notification(h, "nope", &out));

  OK(versioner_remove_notification_preference(h, pref_id));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_remove_notification_preference(h, pref_id));
  OK(versioner_remove_notification_channel(h, "ci"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_remove_notification_channel(h, "ci"));
  OK(versioner_notification_channels(h, &out));
  CHECK(strcmp(out, "[]") == 0);
  versioner_string_free(out);

  const VersionerStatus NP = VERSIONER_STATUS_NULL_POINTER;
  EXPECT(NP, versioner_notification_channels(h, NULL));
  EXPECT(NP, versioner_remove_notification_channel(h, NULL));
  EXPECT(NP, versioner_notification_preferences(h, NULL));
  EXPECT(NP, versioner_add_notification_preference(h, NULL, &out));
  EXPECT(NP, versioner_remove_notification_preference(h, NULL));
  EXPECT(NP, versioner_notification_history(h, NULL, NULL));
  EXPECT(NP, versioner_send_test_notification(h, NULL, &out));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8, versioner_send_test_notification(h, "\xff", &out));
  OK(versioner_close(h));
}

/* ----- deployment requests ------------------------------------------------------------------ */

static const char *DR_POLICY =
    "[[rules]]\n"
    "name = \"DR for production\"\n"
    "type = \"deployment_request_required\"\n"
    "environments = [\"production\"]\n"
    "approval_types = [\"qa\", \"security\"]\n";

/* Acts on a request (`{"action": …}` JSON) and expects `expected`; frees the result. */
static void dr_act(const VersionerHandle *h, const char *id, VersionerStatus expected,
                   const char *action_json) {
  char *out = NULL;
  EXPECT(expected, versioner_act_on_request(h, id, action_json, &out));
  CHECK(expected == VERSIONER_STATUS_OK ? out != NULL : out == NULL);
  versioner_string_free(out);
}

static void test_deployment_requests(void) {
  VersionerHandle *h = NULL;
  char *out = NULL;
  char id[64];
  char rid[64];
  OK(versioner_open(NULL, &h));
  OK(versioner_apply_policy(h, DR_POLICY, "toml", NULL, "ci", &out));
  versioner_string_free(out);
  for (int i = 0; i < 3; i++) {
    const char *products[] = {"api", "web", "worker"};
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"product_name\":\"%s\",\"version\":\"1.0.0\",\"status\":\"completed\"}",
             products[i]);
    OK(versioner_track_build(h, buf, &out));
    versioner_string_free(out);
  }

  /* No request: refused by the rule. */
  char ev[512];
  event(ev, sizeof ev, "api", "1.0.0", "production", "started", NULL);
  VersionerStatus st = versioner_track_deployment(h, ev, &out);
  CHECK(st == VERSIONER_STATUS_DEPLOYMENT_REQUEST_REQUIRED);
  CHECK(versioner_status_is_blocked((int)st));
  CHECK(contains(out, "\"code\":\"DEPLOYMENT_REQUEST_REQUIRED\""));
  versioner_string_free(out);
  CHECK(contains(versioner_last_error_message(), "needs an approved Deployment Request"));
  CHECK(contains(versioner_last_error_json(), "\"code\":\"DEPLOYMENT_REQUEST_REQUIRED\""));

  /* A draft, from a template, does not count. */
  OK(versioner_put_request_templates(
      h,
      "{\"templates\":[{\"name\":\"Production change\",\"description\":\"Standard change\","
      "\"slots\":[{\"approval_type\":\"qa\"},{\"approval_type\":\"security\"}],"
      "\"pre_steps\":[\"Announce in #deploys\"],\"post_steps\":[\"Check the dashboards\"],"
      "\"environments\":[\"production\"]}]}",
      &out));
  CHECK(contains(out, "\"name\":\"Production change\""));
  versioner_string_free(out);
  OK(versioner_request_templates(h, &out));
  CHECK(contains(out, "\"pre_steps\":[\"Announce in #deploys\"]"));
  versioner_string_free(out);
  OK(versioner_create_request(
      h,
      "{\"name\":\"Q4\",\"versions\":[{\"product_name\":\"api\",\"version\":\"1.0.0\"}],"
      "\"template\":\"Production change\",\"context\":{\"release_notes\":\"Faster\"},"
      "\"created_by\":\"dana\"}",
      &out));
  CHECK(contains(out, "\"status\":\"draft\""));
  CHECK(contains(out, "\"template\":\"Production change\""));
  CHECK(contains(out, "\"allow_self_approval\":false"));
  CHECK(contains(out, "\"release_notes\":\"Faster\""));
  json_str(out, "id", id, sizeof id);
  versioner_string_free(out);
  CHECK(strlen(id) == 36);
  EXPECT(VERSIONER_STATUS_DEPLOYMENT_REQUEST_REQUIRED, versioner_track_deployment(h, ev, &out));
  versioner_string_free(out);

  /* Edited while a draft. */
  OK(versioner_update_request(h, id, "{\"description\":\"The Q4 release\",\"actor\":\"dana\"}",
                              &out));
  CHECK(contains(out, "\"description\":\"The Q4 release\""));
  versioner_string_free(out);

  /* Submitted, slots missing: pending, named after the request. */
  dr_act(h, id, VERSIONER_STATUS_OK,
         "{\"action\":\"submit\",\"actor\":\"dana\",\"actor_role\":\"developer\"}");
  st = versioner_track_deployment(h, ev, &out);
  CHECK(st == VERSIONER_STATUS_DEPLOYMENT_REQUEST_PENDING);
  CHECK(versioner_status_is_blocked((int)st));
  CHECK(contains(out, "\"rule_name\":\"Deployment Request: Q4\""));
  versioner_string_free(out);
  /* Edits are refused once submitted, naming the status. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_update_request(h, id, "{\"name\":\"Q5\",\"actor\":\"dana\"}", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "is in_progress"));

  /* A role that may not grant `security`: FORBIDDEN, nothing written. */
  char *before = NULL;
  OK(versioner_request(h, id, &before));
  dr_act(h, id, VERSIONER_STATUS_FORBIDDEN,
         "{\"action\":\"approve\",\"approval_type\":\"security\",\"actor\":\"devon\","
         "\"actor_role\":\"developer\"}");
  CHECK(contains(versioner_last_error_message(), "may not grant `security`"));
  OK(versioner_request(h, id, &out));
  CHECK(out != NULL && before != NULL && strcmp(out, before) == 0);
  versioner_string_free(out);
  versioner_string_free(before);

  /* Both slots approved: still pending on the open pre-step. */
  dr_act(h, id, VERSIONER_STATUS_OK,
         "{\"action\":\"approve\",\"approval_type\":\"qa\",\"actor\":\"quinn\","
         "\"actor_role\":\"qa\",\"comment\":\"green\"}");
  dr_act(h, id, VERSIONER_STATUS_OK,
         "{\"action\":\"approve\",\"approval_type\":\"security\",\"actor\":\"sam\","
         "\"actor_role\":\"security\"}");
  OK(versioner_request(h, id, &out));
  CHECK(contains(out, "\"status\":\"approved\""));
  CHECK(contains(out, "\"decided_by\":\"quinn\""));
  versioner_string_free(out);
  EXPECT(VERSIONER_STATUS_DEPLOYMENT_REQUEST_PENDING, versioner_track_deployment(h, ev, &out));
  versioner_string_free(out);
  CHECK(contains(versioner_last_error_message(), "Announce in #deploys"));

  /* A post-step before deploying is refused; the pre-step done, the deployment goes ahead. */
  dr_act(h, id, VERSIONER_STATUS_INVALID_INPUT,
         "{\"action\":\"step_done\",\"step\":\"Check the dashboards\",\"actor\":\"dana\"}");
  CHECK(contains(versioner_last_error_message(), "is a post-deployment step"));
  dr_act(h, id, VERSIONER_STATUS_OK,
         "{\"action\":\"step_done\",\"step\":\"Announce in #deploys\",\"actor\":\"dana\"}");
  deploy(h, VERSIONER_STATUS_OK, "api", "1.0.0", "production", "started");
  OK(versioner_request_progress(h, id, &out));
  CHECK(contains(out, "\"state\":\"in_progress\""));
  CHECK(contains(out, "\"deployed\":false"));
  versioner_string_free(out);
  deploy(h, VERSIONER_STATUS_OK, "api", "1.0.0", "production", "completed");
  OK(versioner_request_progress(h, id, &out));
  CHECK(contains(out, "\"state\":\"deployed\""));
  CHECK(contains(out, "\"deployed\":true"));
  versioner_string_free(out);
  dr_act(h, id, VERSIONER_STATUS_OK,
         "{\"action\":\"step_done\",\"step\":\"Check the dashboards\",\"actor\":\"dana\"}");
  OK(versioner_request(h, id, &out));
  CHECK(contains(out, "\"status\":\"completed\""));
  versioner_string_free(out);
  OK(versioner_requests(h, "{\"status\":\"completed\",\"product\":\"api\"}", &out));
  CHECK(contains(out, id));
  versioner_string_free(out);
  OK(versioner_requests(h, NULL, &out));
  CHECK(contains(out, id));
  versioner_string_free(out);
  OK(versioner_requests(h, "{\"status\":\"draft\"}", &out));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  versioner_string_free(out);

  /* A rejected slot blocks (and a rejection needs a comment). */
  OK(versioner_create_request(
      h,
      "{\"name\":\"R\",\"versions\":[{\"product_name\":\"web\",\"version\":\"1.0.0\"}],"
      "\"environments\":[\"production\"],\"slots\":[{\"approval_type\":\"qa\"}],"
      "\"created_by\":\"dana\"}",
      &out));
  json_str(out, "id", rid, sizeof rid);
  versioner_string_free(out);
  dr_act(h, rid, VERSIONER_STATUS_OK, "{\"action\":\"submit\",\"actor\":\"dana\"}");
  dr_act(h, rid, VERSIONER_STATUS_INVALID_INPUT,
         "{\"action\":\"reject\",\"approval_type\":\"qa\",\"actor\":\"quinn\","
         "\"actor_role\":\"qa\"}");
  CHECK(contains(versioner_last_error_message(), "is required to reject a slot"));
  dr_act(h, rid, VERSIONER_STATUS_OK,
         "{\"action\":\"reject\",\"approval_type\":\"qa\",\"actor\":\"quinn\","
         "\"actor_role\":\"qa\",\"comment\":\"fails the smoke tests\"}");
  EXPECT(VERSIONER_STATUS_DEPLOYMENT_REQUEST_PENDING,
         versioner_track_deployment(
             h, event(ev, sizeof ev, "web", "1.0.0", "production", "started", NULL), &out));
  versioner_string_free(out);
  CHECK(contains(versioner_last_error_message(), "was rejected (qa by quinn"));
  dr_act(h, rid, VERSIONER_STATUS_OK, "{\"action\":\"cancel\",\"actor\":\"dana\"}");

  /* Bad input: JSON that does not parse, unknown keys and actions, bad filters. */
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_create_request(h, "{", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "draft_json"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_create_request(h, "[]", &out));
  CHECK(contains(versioner_last_error_message(), "must be a JSON object"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_create_request(h, "{\"name\":\"x\",\"colour\":\"red\"}", &out));
  CHECK(contains(versioner_last_error_message(), "colour"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT,
         versioner_create_request(h, "{\"name\":\" \",\"created_by\":\"dana\"}", &out));
  CHECK(contains(versioner_last_error_message(), "`name`"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_update_request(h, id, "nope", &out));
  CHECK(contains(versioner_last_error_message(), "change_json"));
  dr_act(h, id, VERSIONER_STATUS_INVALID_INPUT, "{\"action\":\"teleport\",\"actor\":\"dana\"}");
  CHECK(contains(versioner_last_error_message(), "teleport"));
  dr_act(h, id, VERSIONER_STATUS_INVALID_INPUT, "{");
  CHECK(contains(versioner_last_error_message(), "action_json"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_requests(h, "{\"status\":\"open\"}", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "expected one of: draft, in_progress"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_requests(h, "{\"colour\":\"red\"}", &out));
  CHECK(contains(versioner_last_error_message(), "colour"));
  EXPECT(VERSIONER_STATUS_INVALID_INPUT, versioner_put_request_templates(h, "{\"templates\":[{}]}", &out));
  CHECK(contains(versioner_last_error_message(), "templates_json"));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8,
         versioner_create_request(h, "{\"name\":\"\xff\"}", &out));
  EXPECT(VERSIONER_STATUS_INVALID_UTF8, versioner_request(h, "\xff", &out));

  /* Not found. */
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_request(h, "no-such-id", &out));
  CHECK(out == NULL);
  CHECK(contains(versioner_last_error_message(), "deployment request `no-such-id` not found"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_request_progress(h, "no-such-id", &out));
  dr_act(h, "no-such-id", VERSIONER_STATUS_NOT_FOUND, "{\"action\":\"submit\",\"actor\":\"d\"}");
  EXPECT(VERSIONER_STATUS_NOT_FOUND,
         versioner_create_request(
             h,
             "{\"name\":\"x\",\"versions\":[{\"product_name\":\"api\",\"version\":\"9\"}],"
             "\"created_by\":\"dana\"}",
             &out));
  OK(versioner_delete_request_template(h, "Production change"));
  EXPECT(VERSIONER_STATUS_NOT_FOUND, versioner_delete_request_template(h, "Production change"));
  CHECK(contains(versioner_last_error_message(), "template `Production change` not found"));

  /* NULL arguments. */
  const VersionerHandle *n = NULL;
  const VersionerStatus NP = VERSIONER_STATUS_NULL_POINTER;
  EXPECT(NP, versioner_create_request(n, "{}", &out));
  EXPECT(NP, versioner_create_request(h, NULL, &out));
  EXPECT(NP, versioner_create_request(h, "{}", NULL));
  EXPECT(NP, versioner_update_request(n, id, "{}", &out));
  EXPECT(NP, versioner_update_request(h, NULL, "{}", &out));
  EXPECT(NP, versioner_update_request(h, id, NULL, &out));
  EXPECT(NP, versioner_update_request(h, id, "{}", NULL));
  EXPECT(NP, versioner_act_on_request(n, id, "{}", &out));
  EXPECT(NP, versioner_act_on_request(h, NULL, "{}", &out));
  EXPECT(NP, versioner_act_on_request(h, id, NULL, &out));
  EXPECT(NP, versioner_act_on_request(h, id, "{}", NULL));
  CHECK(contains(versioner_last_error_message(), "out_json"));
  EXPECT(NP, versioner_request(n, id, &out));
  EXPECT(NP, versioner_request(h, NULL, &out));
  EXPECT(NP, versioner_request(h, id, NULL));
  EXPECT(NP, versioner_requests(n, NULL, &out));
  EXPECT(NP, versioner_requests(h, NULL, NULL));
  EXPECT(NP, versioner_request_progress(n, id, &out));
  EXPECT(NP, versioner_request_progress(h, NULL, &out));
  EXPECT(NP, versioner_request_progress(h, id, NULL));
  EXPECT(NP, versioner_request_templates(n, &out));
  EXPECT(NP, versioner_request_templates(h, NULL));
  EXPECT(NP, versioner_put_request_templates(n, "{}", &out));
  EXPECT(NP, versioner_put_request_templates(h, NULL, &out));
  EXPECT(NP, versioner_put_request_templates(h, "{}", NULL));
  EXPECT(NP, versioner_delete_request_template(n, "x"));
  EXPECT(NP, versioner_delete_request_template(h, NULL));
  CHECK(contains(versioner_last_error_message(), "name"));
  OK(versioner_close(h));
  /* A closed handle. */
  EXPECT(VERSIONER_STATUS_INVALID_HANDLE, versioner_requests(h, NULL, &out));
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR [API_URL ADMIN_KEY]\n", argv[0]);
    return 2;
  }
  snprintf(scratch, sizeof scratch, "%s", argv[1]);

  test_statuses_and_meta();
  test_ci_detect();
  test_open_and_close();
  test_null_arguments();
  test_tracking();
  test_policy_preflight_and_approvals();
  test_deployment_requests();
  test_acting_as();
  test_decisions_and_audit();
  test_backup_and_restore();
  test_import_and_export();
  test_deliver_pending();
  test_variables_and_buttons();
  test_notification_configuration();
  test_queries();
  test_threads();
  test_wait_queue();
  test_connect_errors();
  test_postgres_errors();
  const char *database_url = getenv("VERSIONER_TEST_DATABASE_URL");
  if (database_url != NULL && database_url[0] != '\0') {
    test_postgres(database_url);
    printf("postgres tests ran\n");
  }
  if (argc >= 4) {
    test_remote(argv[2], argv[3]);
    printf("remote tests ran against %s\n", argv[2]);
  }

  printf("%d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
