#!/usr/bin/env bash
# A streaming read replica of the local PostgreSQL (port 5433) and PgBouncer in transaction
# mode in front of the primary (port 6432), each made or started only when absent. Used by
# .ci/run and locally; safe to run again. Exits non-zero when either cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
PGBOUNCER_PORT=${PGBOUNCER_PORT:-6432}
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/15/replica}
HBA=${HBA:-/etc/postgresql/15/main/pg_hba.conf}
SOCKETS=/var/run/postgresql

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
primary_sql() { psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -XAtqc "$1"; }
replica_sql() { psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -XAtqc "$1"; }

# The primary accepts replication connections from this host.
if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$HBA"; then
  echo "replica: allowing local replication connections in $HBA"
  printf 'local replication all trust\nhost replication all 127.0.0.1/32 trust\n' >>"$HBA"
  primary_sql "SELECT pg_reload_conf()" >/dev/null
fi

make_replica() {
  echo "replica: pg_basebackup -R into $REPLICA_DIR"
  as_postgres "$PGBIN/pg_ctl" -D "$REPLICA_DIR" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$REPLICA_DIR"
  install -d -o postgres -g postgres -m 700 "$REPLICA_DIR"
  as_postgres "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
    -D "$REPLICA_DIR" -R -X stream -c fast
  # Debian keeps the primary's configuration in /etc: the copy gets its own. A standby needs
  # at least the primary's values of these.
  local setting conf="$REPLICA_DIR/postgresql.conf"
  {
    echo "port = $REPLICA_PORT"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$SOCKETS'"
    echo "hot_standby = on"
    echo "hot_standby_feedback = on"
    echo "max_standby_streaming_delay = 30s"
    echo "fsync = off"
    for setting in max_connections max_worker_processes max_wal_senders \
      max_prepared_transactions max_locks_per_transaction; do
      echo "$setting = $(primary_sql "SHOW $setting")"
    done
  } >"$conf"
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$REPLICA_DIR/pg_hba.conf"
  : >"$REPLICA_DIR/pg_ident.conf"
  chown postgres:postgres "$conf" "$REPLICA_DIR/pg_hba.conf" "$REPLICA_DIR/pg_ident.conf"
}

start_replica() {
  as_postgres "$PGBIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/replica.log" -w -t 60 start >/dev/null
}

streaming() {
  [ "$(replica_sql "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ] || return 1
  [ "$(replica_sql "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ]
}

if ! pg_isready -h 127.0.0.1 -p "$REPLICA_PORT" -q; then
  if [ ! -f "$REPLICA_DIR/standby.signal" ]; then
    make_replica
  fi
  echo "replica: starting on $REPLICA_PORT"
  start_replica || { make_replica && start_replica; }
fi
# A test that paused replay and died before resuming must not leave the replica behind.
replica_sql "SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()" >/dev/null || true
for _ in $(seq 1 30); do streaming && break; sleep 1; done
if ! streaming; then
  # Fell too far behind (the primary recycled the WAL it needs): a fresh copy.
  echo "replica: not streaming, making it again"
  make_replica
  start_replica
  for _ in $(seq 1 30); do streaming && break; sleep 1; done
fi
streaming || { echo "replica: the replica on $REPLICA_PORT is not streaming"; exit 1; }

# PgBouncer >= 1.21 (prepared statements across server connections); one started by an
# earlier run with an older binary is replaced.
PGBOUNCER=$(.ci/pgbouncer-binary.sh)
PGBOUNCER_RUNNING=/var/run/pgbouncer/unioncard.pid
if pg_isready -h 127.0.0.1 -p "$PGBOUNCER_PORT" -q \
  && ! psql -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U postgres -d pgbouncer -XAtqc "SHOW VERSION" 2>/dev/null \
    | grep -q "^PgBouncer $("$PGBOUNCER" --version | sed -n 's/^PgBouncer \([0-9.]*\).*/\1/p')"; then
  echo "replica: replacing the PgBouncer on $PGBOUNCER_PORT with $PGBOUNCER"
  kill "$(cat "$PGBOUNCER_RUNNING" 2>/dev/null)" 2>/dev/null || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$PGBOUNCER_PORT" -q || break; sleep 0.5; done
fi
if ! pg_isready -h 127.0.0.1 -p "$PGBOUNCER_PORT" -q; then
  echo "replica: starting PgBouncer on $PGBOUNCER_PORT"
  install -d -o postgres -g postgres /var/log/pgbouncer /var/run/pgbouncer
  install -o postgres -g postgres -m 644 .ci/pgbouncer.ini /var/run/pgbouncer/unioncard.ini
  as_postgres "$PGBOUNCER" -d /var/run/pgbouncer/unioncard.ini
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$PGBOUNCER_PORT" -q && break; sleep 0.5; done
fi
[ "$(psql -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U postgres -d postgres -XAtqc "SELECT 1")" = 1 ] \
  || { echo "replica: PgBouncer on $PGBOUNCER_PORT does not reach PostgreSQL"; exit 1; }
echo "replica: streaming replica on $REPLICA_PORT, PgBouncer on $PGBOUNCER_PORT"
