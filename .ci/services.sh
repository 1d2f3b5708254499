#!/usr/bin/env bash
# Run a command against throwaway PostgreSQL and Redis servers, then stop them (even when the
# command fails). Installs the server packages with apt-get when they are absent.
#   .ci/services.sh <command...>
# Exports DATABASE_URL and REDIS_URL to the command. PostgreSQL refuses to run as root, so as
# root the cluster runs as the `postgres` user the Debian package creates.
set -euo pipefail

apt_updated=0
ensure_pkg() {  # ensure_pkg <test-command> <package...>
  local test_cmd=$1; shift
  if ! eval "$test_cmd" >/dev/null 2>&1; then
    echo "services: installing $* with apt-get"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if [ $apt_updated -eq 0 ]; then $sudo apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}
pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

ensure_pkg '[ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ]' postgresql
ensure_pkg 'command -v redis-server' redis-server
ensure_pkg '[ -x /usr/bin/chromium ]' chromium fonts-dejavu-core

PGBIN=$(pg_bindir)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

WORK=$(mktemp -d /tmp/rf-services.XXXXXX)
chmod 755 "$WORK"
PGDATA="$WORK/pg"; mkdir -p "$PGDATA"
PGPORT=$(free_port); REDIS_PORT=$(free_port)

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$PGDATA"; runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  set +e
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1
  [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null
  sleep 0.2
  rm -rf "$WORK"
  echo "services: stopped PostgreSQL and Redis"
}
trap cleanup EXIT INT TERM

as_pg "$PGBIN/initdb" -D "$PGDATA" -U rf -A trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log"; exit 1; }
# Durability is pointless for a throwaway cluster; turning it off makes the suite faster.
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
  -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$PGDATA/server.log"; exit 1; }
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U rf resolutionflow

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" --dir "$WORK"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export DATABASE_URL="postgres://rf@127.0.0.1:$PGPORT/resolutionflow"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
echo "services: database  PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"
echo "services: cache     Redis $(redis-server --version | sed -E 's/.*v=([0-9.]+).*/\1/') on 127.0.0.1:$REDIS_PORT (also the Celery broker)"

set +e
"$@"
status=$?
exit $status
