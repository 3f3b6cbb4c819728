/*
 * preflight_gate -- a deployment gate for deploy scripts, on libversioner.
 *
 * Asks Versioner whether VERSION of PRODUCT may be deployed to ENVIRONMENT now, prints the
 * verdict, and exits with a code a script can branch on:
 *
 *   0  allowed (with --record: and the deployment is recorded as started)
 *   5  blocked by policy (the verdict says which rule, why, and when to retry)
 *   4  refused input: a bad field, an unknown product or version, a SHA conflict, a bad key
 *   1  anything else: usage, storage or network errors
 *
 * In process on a SQLite file (--db, or VERSIONER_DB), or against `versioner serve`
 * (--api-url / VERSIONER_API_URL with --api-key / VERSIONER_API_KEY).
 *
 *   preflight_gate --db versioner.db --policy versioner.toml \
 *                  --product api --version 1.2.0 --environment production --deployed-by "$USER"
 *
 * A deploy script:
 *
 *   ./preflight_gate --db "$DB" --product api --version "$V" --environment production --record
 *   case $? in
 *     0) ./deploy.sh && versioner track deployment ... --status completed ;;
 *     5) echo "blocked by policy; not deploying" >&2; exit 1 ;;
 *     *) echo "versioner failed" >&2; exit 1 ;;
 *   esac
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "versioner.h"

enum { EXIT_ALLOWED = 0, EXIT_FAILURE_OTHER = 1, EXIT_REFUSED = 4, EXIT_BLOCKED = 5 };

static void usage(FILE *to) {
  fputs("usage: preflight_gate (--db PATH | --api-url URL [--api-key KEY]) [--policy FILE]\n"
        "                      --product P --version V --environment E\n"
        "                      [--deployed-by WHO] [--at RFC3339] [--record] [--json]\n"
        "\n"
        "  --db PATH        a Versioner SQLite database, in process (env VERSIONER_DB)\n"
        "  --api-url URL    a `versioner serve` server instead (env VERSIONER_API_URL)\n"
        "  --api-key KEY    its API key (env VERSIONER_API_KEY)\n"
        "  --policy FILE    apply this policy file (TOML or .json) first, replacing the rules\n"
        "  --deployed-by    who deploys (never counts as a release approver)\n"
        "  --at T           evaluate at instant T instead of now (dry run only)\n"
        "  --record         record the deployment as started when allowed (else a dry run)\n"
        "  --json           print only the verdict JSON\n"
        "\n"
        "exit: 0 allowed, 5 blocked by policy, 4 refused input, 1 other errors\n",
        to);
}

/* The exit code for a status, as the `versioner` CLI uses them. */
static int exit_code(VersionerStatus status) {
  if (status == VERSIONER_STATUS_OK) return EXIT_ALLOWED;
  if (versioner_status_is_blocked((int)status)) return EXIT_BLOCKED;
  switch (status) {
    case VERSIONER_STATUS_INVALID_INPUT:
    case VERSIONER_STATUS_VERSION_CONFLICT:
    case VERSIONER_STATUS_NOT_FOUND:
    case VERSIONER_STATUS_UNAUTHORIZED:
    case VERSIONER_STATUS_FORBIDDEN:
      return EXIT_REFUSED;
    default:
      return EXIT_FAILURE_OTHER;
  }
}

/* Appends `"key":"value"` to the JSON object being built in `buf`, escaping the value. */
static int put_field(char *buf, size_t size, size_t *len, const char *key, const char *value) {
  if (value == NULL) return 1;
  int n = snprintf(buf + *len, size - *len, "%s\"%s\":\"", *len > 1 ? "," : "", key);
  if (n < 0 || (size_t)n >= size - *len) return 0;
  *len += (size_t)n;
  for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      snprintf(esc, sizeof esc, "\\%c", *p);
    } else if (*p < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *p);
    } else {
      esc[0] = (char)*p;
      esc[1] = '\0';
    }
    size_t e = strlen(esc);
    if (*len + e + 2 >= size) return 0;
    memcpy(buf + *len, esc, e);
    *len += e;
  }
  buf[(*len)++] = '"';
  buf[*len] = '\0';
  return 1;
}

static int fail(const char *what, VersionerStatus status) {
  fprintf(stderr, "preflight_gate: %s: %s: %s\n", what, versioner_status_name((int)status),
          versioner_last_error_message());
  return exit_code(status);
}

int main(int argc, char **argv) {
  const char *db = getenv("VERSIONER_DB");
  const char *api_url = getenv("VERSIONER_API_URL");
  const char *api_key = getenv("VERSIONER_API_KEY");
  const char *policy = NULL, *product = NULL, *version = NULL, *environment = NULL;
  const char *deployed_by = NULL, *at = NULL;
  int record = 0, json_only = 0;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (strcmp(a, "--record") == 0) {
      record = 1;
      continue;
    } else if (strcmp(a, "--json") == 0) {
      json_only = 1;
      continue;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--db") == 0) {
      slot = &db;
    } else if (strcmp(a, "--api-url") == 0) {
      slot = &api_url;
    } else if (strcmp(a, "--api-key") == 0) {
      slot = &api_key;
    } else if (strcmp(a, "--policy") == 0) {
      slot = &policy;
    } else if (strcmp(a, "--product") == 0) {
      slot = &product;
    } else if (strcmp(a, "--version") == 0) {
      slot = &version;
    } else if (strcmp(a, "--environment") == 0) {
      slot = &environment;
    } else if (strcmp(a, "--deployed-by") == 0) {
      slot = &deployed_by;
    } else if (strcmp(a, "--at") == 0) {
      slot = &at;
    }
    if (slot == NULL || i + 1 >= argc) {
      fprintf(stderr, "preflight_gate: %s `%s`\n", slot ? "missing a value after" : "unknown option", a);
      usage(stderr);
      return EXIT_FAILURE_OTHER;
    }
    *slot = argv[++i];
  }
  if (product == NULL || version == NULL || environment == NULL || (db == NULL && api_url == NULL)) {
    fputs("preflight_gate: --product, --version, --environment and --db or --api-url are required\n",
          stderr);
    usage(stderr);
    return EXIT_FAILURE_OTHER;
  }
  if (record && at != NULL) {
    fputs("preflight_gate: --at is for dry runs; --record always evaluates now\n", stderr);
    return EXIT_FAILURE_OTHER;
  }

  /* Open in process, or connect to a server. */
  VersionerHandle *handle = NULL;
  VersionerStatus status = db != NULL ? versioner_open(db, &handle)
                                      : versioner_connect(api_url, api_key, &handle);
  if (status != VERSIONER_STATUS_OK) return fail(db != NULL ? "open" : "connect", status);

  char *out = NULL;
  if (policy != NULL) {
    status = versioner_apply_policy_file(handle, policy, "replace", "preflight_gate", &out);
    versioner_string_free(out);
    out = NULL;
    if (status != VERSIONER_STATUS_OK) {
      int code = fail("policy", status);
      versioner_close(handle);
      return code;
    }
  }

  /* The request, as JSON (the HTTP API's field names). */
  char request[4096] = "{";
  size_t len = 1;
  int fits = put_field(request, sizeof request, &len, "product_name", product) &&
             put_field(request, sizeof request, &len, "version", version) &&
             put_field(request, sizeof request, &len, "environment_name", environment) &&
             put_field(request, sizeof request, &len, "deployed_by", deployed_by) &&
             (record ? put_field(request, sizeof request, &len, "status", "started")
                     : put_field(request, sizeof request, &len, "at", at));
  if (!fits || len + 2 > sizeof request) {
    fputs("preflight_gate: arguments too long\n", stderr);
    versioner_close(handle);
    return EXIT_FAILURE_OTHER;
  }
  request[len++] = '}';
  request[len] = '\0';

  /* A dry run answers with the verdict; --record runs the same preflight and records the
   * start atomically, answering with the deployment (or the verdict when refused). */
  status = record ? versioner_track_deployment(handle, request, &out)
                  : versioner_check(handle, request, &out);
  int code = exit_code(status);

  if (!json_only) {
    if (status == VERSIONER_STATUS_OK) {
      printf("ALLOWED: %s %s may deploy to %s%s\n", product, version, environment,
             record ? " (recorded as started)" : "");
    } else if (versioner_status_is_blocked((int)status)) {
      printf("BLOCKED (%s): %s\n", versioner_status_name((int)status),
             versioner_last_error_message());
    }
  }
  if (out != NULL) {
    /* The verdict (or, recorded, the deployment with its preflight) as JSON. */
    puts(out);
  } else {
    fail(record ? "track deployment" : "check", status);
  }
  versioner_string_free(out);
  versioner_close(handle);
  return code;
}
