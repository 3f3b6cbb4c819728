# Throwaway PostgreSQL cluster for tests. Source this file, then:
#   pg_start   # initdb in a temp dir, start on a free port; exports VERSIONER_TEST_DATABASE_URL,
#              # VERSIONER_TEST_PG_CTL (a command prefix to stop/start that cluster)
#   pg_stop    # stop it and remove the directory
# Installs the PostgreSQL server with apt-get when its binaries are missing (as root).

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return 0
  fi
  return 1
}

pg_install() {
  if pg_bindir >/dev/null; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL server binaries are missing; install the 'postgresql' package" >&2
    return 1
  fi
  echo "==> installing the PostgreSQL server (apt-get)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bindir >/dev/null
}

pg_start() {
  pg_install || return 1
  local bindir; bindir=$(pg_bindir)
  PG_DIR=$(mktemp -d /tmp/versioner-pg.XXXXXX)
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bindir/initdb" -D "$PG_DIR/data" -A trust -U postgres >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  VERSIONER_TEST_PG_CTL="${as[*]} $bindir/pg_ctl -D $PG_DIR/data -l $PG_DIR/server.log -o \"-p $PG_PORT -k $PG_DIR -c listen_addresses='' -c max_connections=200 -c fsync=off\""
  eval "$VERSIONER_TEST_PG_CTL -w start" >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
  export VERSIONER_TEST_DATABASE_URL="host=$PG_DIR port=$PG_PORT user=postgres dbname=postgres"
  export VERSIONER_TEST_PG_CTL PG_DIR
  echo "==> PostgreSQL running in $PG_DIR on port $PG_PORT"
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
    eval "$VERSIONER_TEST_PG_CTL -m fast -w stop" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
