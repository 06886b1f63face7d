#!/usr/bin/env bash
# The embedded local stack: one RabbitMQ node and one PostgreSQL server,
# run as unprivileged processes on 127.0.0.1, with all state in STACK_DIR.
# RabbitMQ is 4.x by default, as production runs (scripts/rabbitmq.sh says
# which broker runs and how; RABBITMQ=system keeps the system's 3.10).
#
#   scripts/stack.sh up       start (or find) the stack; print the export lines
#   scripts/stack.sh env      print the export lines of the running stack
#   scripts/stack.sh status   show what runs
#   scripts/stack.sh down [--purge]   stop it; --purge also deletes STACK_DIR
#   scripts/stack.sh ctl ARGS...      rabbitmqctl ARGS against the stack's node
#
#   eval "$(scripts/stack.sh up)"   sets AMQP_URL, AMQPS_URL (its TLS listener, CA in AMQPS_CA_FILE) and DATABASE_URL.
#
# Environment:
#   STACK_DIR              state directory (default <repo>/.local/stack);
#                          stacks with different STACK_DIRs run side by side
#   STACK_RABBIT_PLUGINS   plugins to enable, comma-separated
#                          (default rabbitmq_management,rabbitmq_prometheus;
#                          "" for none: about 1 s faster to start)
#   PG_BIN                 PostgreSQL server binaries (see scripts/postgres.sh)
#   RABBITMQ, RABBITMQ_ROOT which RabbitMQ runs (see scripts/rabbitmq.sh)
#
# Only `up`/`env` write to stdout; progress and errors go to stderr.
# Processes are only ever signalled by the PIDs recorded in stack.env, and
# only while their start time still matches (safe after a reboot).
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$SCRIPTS")"
STACK_DIR="$(realpath -m "${STACK_DIR:-$REPO/.local/stack}")"
ENV_FILE="$STACK_DIR/stack.env"

RABBIT="$SCRIPTS/rabbitmq.sh"
WANT_PLUGINS="${STACK_RABBIT_PLUGINS-rabbitmq_management,rabbitmq_prometheus}"
RABBIT_PLUGINS="$WANT_PLUGINS"   # of the running stack, once stack.env is loaded
PG="$SCRIPTS/postgres.sh"
RABBIT_OS_USER=rabbitmq   # when root, RabbitMQ and its epmd run as this user
PG_DB=pipeline
PG_SERVICE_ROLES="pipeline_analyzer pipeline_alerts pipeline_ingest"

T0="${EPOCHREALTIME/./}"
# Progress on stderr, with the time since the script started.
log() {
  local us=$(( ${EPOCHREALTIME/./} - T0 ))
  printf 'stack: [%d.%01ds] %s\n' $((us / 1000000)) $((us / 100000 % 10)) "$*" >&2
}
die() { log "error: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# Process, port and directory helpers; the stack's RabbitMQ node.
# shellcheck source=lib/processes.sh
. "$SCRIPTS/lib/processes.sh"
# shellcheck source=lib/traversable.sh
. "$SCRIPTS/lib/traversable.sh"
# shellcheck source=lib/stack-rabbitmq.sh
. "$SCRIPTS/lib/stack-rabbitmq.sh"

# ---------------------------------------------------------------- state

# Take the machine-wide start lock on fd 8 (a file any user can lock:
# flock works on a read-only descriptor).
start_lock() {
  local f=/tmp/.pipeline-stack-start.lock
  [ -e "$f" ] || (umask 0; : >>"$f") 2>/dev/null || true
  exec 8<"$f" || die "cannot open $f"
  if ! flock -n 8; then
    log "waiting for another stack to finish starting"
    flock -w 300 8 || die "timed out waiting for $f"
  fi
}

# Load stack.env into the current shell; false when there is none.
load_env() {
  [ -f "$ENV_FILE" ] || return 1
  # shellcheck source=/dev/null
  . "$ENV_FILE"
  pg_refresh_pid
}

# PostgreSQL may have been restarted (pg_ctl restart, as chaos tests do):
# follow its own PID file, if it names a postmaster of our data directory.
pg_refresh_pid() {
  local pid
  pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null)" || return 0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-D $PG_DATA "; then
    PG_PID="$(proc_id "$pid")"
  fi
}

running() {
  load_env && alive "${PG_PID:-}" && alive "${EPMD_PID:-}" && alive "${RABBIT_PID:-}"
}

print_exports() {
  printf 'export AMQP_URL=%s\n' "$AMQP_URL"
  printf 'export AMQPS_URL=%s\n' "$AMQPS_URL"
  printf 'export AMQP_INGEST_URL=%s\n' "$AMQP_INGEST_URL"
  printf 'export AMQP_ANALYZER_URL=%s\n' "$AMQP_ANALYZER_URL"
  printf 'export AMQPS_CA_FILE=%s\n' "$STACK_DIR/rabbit/tls/ca.pem"
  printf 'export DATABASE_URL=%s\n' "$DATABASE_URL"
  [ -z "${RABBIT_PROM_URL:-}" ] || printf 'export RABBIT_PROM_URL=%s\n' "$RABBIT_PROM_URL"
}

write_env() {
  local tmp="$ENV_FILE.tmp" v
  {
    echo "# written by scripts/stack.sh up; removed by down"
    for v in STACK_DIR PG_PORT PG_DATA PG_PID \
             EPMD_PORT EPMD_PID RABBIT_NODE RABBIT_PID RABBIT_WRAPPER_PID RABBIT_PLUGINS RABBIT_VERSION RABBIT_SOURCE \
             AMQP_PORT AMQPS_PORT RABBIT_DIST_PORT RABBIT_MGMT_PORT RABBIT_PROM_PORT \
             AMQP_URL AMQPS_URL AMQP_INGEST_URL AMQP_ANALYZER_URL DATABASE_URL RABBIT_MGMT_URL RABBIT_PROM_URL; do
      printf '%s=%q\n' "$v" "${!v}"
    done
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
  print_exports >"$STACK_DIR/env.sh"
}

# ---------------------------------------------------------------- PostgreSQL

# The server runs through scripts/postgres.sh (its settings, initdb, user);
# the stack adds its database and one login role per service.
psql_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -XtAq "$@"; }

pg_start() {
  PG_DATA="$STACK_DIR/pg/data"
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  "$PG" start "$STACK_DIR/pg" "$PG_PORT" 8<&- 9>&- || die "PostgreSQL did not start"
  PG_PID="$(proc_id "$(head -n1 "$PG_DATA/postmaster.pid")")"
  [ "$(psql_admin -c "select 1 from pg_database where datname = '$PG_DB'")" = 1 ] \
    || psql_admin -c "CREATE DATABASE $PG_DB" >/dev/null
  # No passwords: this cluster trusts loopback. `pipeline migrate --analyzer-role …
  # --alerts-role … --ingest-role …` grants each what its service needs; postgres,
  # the owner, runs the migrations.
  local role
  for role in $PG_SERVICE_ROLES; do
    [ "$(psql_admin -c "select 1 from pg_roles where rolname = '$role'")" = 1 ] \
      || psql_admin -c "CREATE ROLE $role LOGIN" >/dev/null
  done
}

pg_stop() {
  alive "${PG_PID:-}" || return 0
  log "stopping PostgreSQL (pid ${PG_PID%%:*})"
  "$PG" stop "$STACK_DIR/pg" || true
  stop_pid "$PG_PID" 10 PostgreSQL   # only if pg_ctl could not stop it
}

# ---------------------------------------------------------------- commands

cmd_up() {
  "$SCRIPTS/install-deps.sh" >&2
  if running; then
    log "already running in $STACK_DIR"
    print_exports
    return 0
  fi
  # Leftovers of a partly running stack: stop them first.
  if load_env; then stop_all; fi
  # Which RabbitMQ runs (the first time on a machine, this builds RabbitMQ 4's root filesystem).
  local broker
  broker="$("$RABBIT" prepare)" || die "no RabbitMQ to run (see above)"
  read -r RABBIT_VERSION RABBIT_SOURCE <<<"$broker"

  # One start at a time on this machine: a stack's ports are all bound
  # before the next one picks its own, so two stacks never pick the same.
  start_lock
  local ports
  mapfile -t ports < <(pick_ports 7)
  [ "${#ports[@]}" -eq 7 ] || die "could not pick free ports"
  PG_PORT=${ports[0]} AMQP_PORT=${ports[1]} RABBIT_DIST_PORT=${ports[2]}
  RABBIT_MGMT_PORT=${ports[3]} RABBIT_PROM_PORT=${ports[4]} EPMD_PORT=${ports[5]} AMQPS_PORT=${ports[6]}
  RABBIT_NODE="rabbit-$(dir_hash)@localhost"
  RABBIT_PLUGINS="$WANT_PLUGINS"
  PG_PID="" EPMD_PID="" RABBIT_PID="" RABBIT_WRAPPER_PID=""
  AMQP_URL="amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f"
  AMQPS_URL="amqps://guest:guest@localhost:$AMQPS_PORT/%2f"
  AMQP_INGEST_URL="" AMQP_ANALYZER_URL=""   # set by rabbit_users
  DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/$PG_DB"
  RABBIT_MGMT_URL="" RABBIT_PROM_URL=""
  [[ ",$RABBIT_PLUGINS," == *,rabbitmq_management,* ]] \
    && RABBIT_MGMT_URL="http://127.0.0.1:$RABBIT_MGMT_PORT/"
  [[ ",$RABBIT_PLUGINS," == *,rabbitmq_prometheus,* ]] \
    && RABBIT_PROM_URL="http://127.0.0.1:$RABBIT_PROM_PORT/metrics"

  # On failure, stop whatever this run started.
  trap 'if [ $? -ne 0 ]; then log "start failed: stopping what was started"; stop_all; fi' EXIT
  pg_start
  write_env     # record PostgreSQL now, so a failure below can be undone
  rabbit_start
  rabbit_users
  write_env
  trap - EXIT
  exec 8<&-     # release the start lock
  log "stack up ($STACK_DIR)"
  print_exports
}

stop_all() {
  set +e
  rabbit_stop
  pg_stop
  rm -f "$ENV_FILE" "$STACK_DIR/env.sh"
  set -e
}

cmd_down() {
  local purge=no
  case "${1:-}" in
    "") ;;
    --purge) purge=yes ;;
    *) die "usage: stack.sh down [--purge]" ;;
  esac
  if load_env; then
    stop_all
  else
    log "nothing running in $STACK_DIR"
  fi
  if [ "$purge" = yes ] && [ -d "$STACK_DIR" ]; then
    log "removing $STACK_DIR"
    local sock
    sock="$("$PG" socket "$STACK_DIR/pg")"
    [[ "$sock" != /tmp/* ]] || rm -rf "$sock"
    rm -rf "$STACK_DIR"
  fi
}

cmd_env() {
  running || die "no stack running in $STACK_DIR"
  print_exports
}

cmd_status() {
  if ! load_env; then
    echo "stack $STACK_DIR: not running"
    return 1
  fi
  local state ok=0
  show() {   # name id detail
    if alive "$2"; then state=running; else state=STOPPED; ok=1; fi
    printf '  %-11s %-8s pid %-8s %s\n' "$1" "$state" "${2%%:*}" "$3"
  }
  echo "stack $STACK_DIR:"
  show postgresql "${PG_PID:-}" "${DATABASE_URL:-}"
  show rabbitmq "${RABBIT_PID:-}" "${RABBIT_VERSION:-} (${RABBIT_SOURCE:-}) ${AMQP_URL:-} ${AMQPS_URL:-} node ${RABBIT_NODE:-}"
  show epmd "${EPMD_PID:-}" "127.0.0.1:${EPMD_PORT:-}"
  [ -z "${RABBIT_MGMT_URL:-}" ] || echo "  management  $RABBIT_MGMT_URL"
  [ -z "${RABBIT_PROM_URL:-}" ] || echo "  prometheus  $RABBIT_PROM_URL"
  return "$ok"
}

cmd_ctl() {
  running || die "no stack running in $STACK_DIR"
  exec 9>&-     # do not hold the lock while rabbitmqctl runs
  exec "$RABBIT" run "$STACK_DIR/rabbit" rabbitmqctl "$@"
}

main() {
  local cmd="${1:-}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    up|down|env|status|ctl) ;;
    *) die "usage: stack.sh up|down [--purge]|env|status|ctl ARGS..." ;;
  esac
  # Paths go through sh -c (pg_ctl) and the RabbitMQ scripts: keep them plain.
  case "$STACK_DIR" in
    *[[:space:]\'\"\\\$\`]*) die "STACK_DIR must not contain spaces or quotes: $STACK_DIR" ;;
  esac
  if [ "$cmd" != up ] && [ ! -d "$STACK_DIR" ]; then
    "cmd_$cmd" "$@"     # nothing there: nothing to lock
    return
  fi
  mkdir -p "$STACK_DIR"
  # One up/down at a time per STACK_DIR; env/status/ctl wait for them.
  # (fd 9 is closed in the daemons, so they do not keep the lock.)
  exec 9>>"$STACK_DIR/.lock"
  local mode=-x
  case "$cmd" in env|status|ctl) mode=-s ;; esac
  flock "$mode" -w 300 9 || die "another stack.sh holds $STACK_DIR/.lock"
  "cmd_$cmd" "$@"
}

main "$@"
