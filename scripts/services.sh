#!/usr/bin/env bash
# Install (when missing, as root, via apt) and start the real services the test suite uses:
# Redis, PostgreSQL, and the Prometheus / Alertmanager / promtool binaries.
#
#   scripts/services.sh ensure   # install + start + create the test database role (idempotent)
#   scripts/services.sh status   # say what is there
#
# Tests reach PostgreSQL at $OTEL_LLMCOST_TEST_PG (default below) and Redis at
# $OTEL_LLMCOST_TEST_REDIS. Prometheus and Alertmanager are started by the tests themselves,
# on free loopback ports; this script only makes sure the binaries exist.
set -euo pipefail

PG_URL_DEFAULT="postgresql://llmcost:llmcost@127.0.0.1:5432/llmcost_test"
REDIS_URL_DEFAULT="redis://127.0.0.1:6379/0"

log() { printf 'services: %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  # $@: Debian packages. Installs only what is missing; needs root.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root; then
    log "missing packages: ${missing[*]} (run as root, or install them: apt-get install ${missing[*]})"
    return 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
}

ensure_binaries() {
  command -v prometheus >/dev/null && command -v promtool >/dev/null || apt_install prometheus
  command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || apt_install prometheus-alertmanager
  command -v redis-server >/dev/null || apt_install redis-server
  command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || apt_install postgresql
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  log "starting redis-server on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "redis did not come up"; return 1
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

as_postgres() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_postgres() {
  if ! pg_ready; then
    log "starting PostgreSQL"
    if command -v pg_ctlcluster >/dev/null; then
      local version
      version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
      pg_lsclusters -h 2>/dev/null | grep -q "^$version main" || as_postgres pg_createcluster "$version" main >/dev/null 2>&1 || true
      pg_ctlcluster "$version" main start || true
    else
      service postgresql start || true
    fi
    for _ in $(seq 100); do pg_ready && break; sleep 0.1; done
    pg_ready || { log "PostgreSQL did not come up on 127.0.0.1:5432"; return 1; }
  fi
  # The test role and database (idempotent). Needs local superuser access (root → postgres).
  if PGPASSWORD=llmcost psql -h 127.0.0.1 -U llmcost -d llmcost_test -c 'select 1' >/dev/null 2>&1; then return 0; fi
  log "creating role llmcost and database llmcost_test"
  as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'llmcost') THEN
    CREATE ROLE llmcost LOGIN PASSWORD 'llmcost' CREATEDB;
  END IF;
END $$;
SQL
  as_postgres psql -q -d postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'llmcost_test'" | grep -q 1 \
    || as_postgres psql -q -d postgres -c "CREATE DATABASE llmcost_test OWNER llmcost"
}

status() {
  for bin in prometheus promtool prometheus-alertmanager amtool redis-server psql; do
    printf '%-24s %s\n' "$bin" "$(command -v "$bin" || echo missing)"
  done
  redis-cli -h 127.0.0.1 ping 2>/dev/null | sed 's/^/redis                    /' || echo "redis                    down"
  pg_ready && echo "postgresql               up" || echo "postgresql               down"
}

case "${1:-ensure}" in
  ensure)
    ensure_binaries
    ensure_redis
    ensure_postgres
    log "ready: ${OTEL_LLMCOST_TEST_PG:-$PG_URL_DEFAULT} ${OTEL_LLMCOST_TEST_REDIS:-$REDIS_URL_DEFAULT}"
    ;;
  status) status ;;
  *) echo "usage: $0 ensure|status" >&2; exit 2 ;;
esac
