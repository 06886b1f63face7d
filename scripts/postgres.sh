#!/usr/bin/env bash
# The local PostgreSQL in one place: which server binaries run, how a cluster
# is created and with which settings its server runs, as which user.
# scripts/stack.sh (make demo, make test, make bench) and ChaosKit (make chaos)
# run every server through it.
#
#   scripts/postgres.sh run DIR PORT     create the cluster if there is none, then
#                                        exec the server in the foreground (the PID
#                                        stays the postmaster's)
#   scripts/postgres.sh start DIR PORT   the same, in the background (pg_ctl); returns
#                                        once it accepts connections
#   scripts/postgres.sh stop DIR         fast shutdown (open transactions roll back)
#   scripts/postgres.sh socket DIR       print the server's socket directory
#
# DIR holds data/ (the cluster), log/ (initdb.log, and postgres.log for start)
# and the socket directory (DIR/sock, or a short path under /tmp when DIR's
# would be too long for a Unix socket). When root, the server runs as the
# postgres user (PostgreSQL refuses root), and DIR is made reachable for it.
# Settings: loopback only, trust authentication, locale C, UTF-8, 200
# connections; fsync stays on.
#
# Environment:
#   PG_BIN   the server binaries (default: PostgreSQL 15's, else the newest installed)
set -euo pipefail

USER_WHEN_ROOT=postgres

log() { printf 'postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

bin_dir() {
  local bin="${PG_BIN:-}"
  if [ -z "$bin" ]; then
    bin=/usr/lib/postgresql/15/bin
    [ -x "$bin/postgres" ] || bin="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  fi
  [ -x "$bin/postgres" ] || die "PostgreSQL server binaries not found (scripts/install-deps.sh installs them; or set PG_BIN)"
  printf '%s' "$bin"
}

socket_dir() {
  local sock="$1/sock"
  # A Unix socket path is limited to 107 bytes (".s.PGSQL.PORT" is added).
  if [ "$(( ${#sock} + 20 ))" -gt 107 ]; then
    sock="/tmp/pg-sock-$(printf '%s' "$1" | md5sum | cut -c1-8)"
  fi
  printf '%s' "$sock"
}

# Run a program as the server's user: no fork, so a PID stays the program's.
as_server_user() {
  cd /
  if is_root; then exec setpriv --reuid="$USER_WHEN_ROOT" --regid="$USER_WHEN_ROOT" --init-groups -- "$@"; fi
  exec "$@"
}

# shellcheck source=lib/traversable.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/traversable.sh"

# The cluster in DIR/data, created on first use; sets BIN, DATA, SOCK, OPTS.
prepare() {
  local dir="$1" port="$2"
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad port '$port'"
  BIN="$(bin_dir)" DATA="$dir/data" SOCK="$(socket_dir "$dir")"
  mkdir -p "$DATA" "$dir/log" "$SOCK"
  chmod 700 "$DATA"
  if is_root; then
    chown -R "$USER_WHEN_ROOT:" "$dir" "$SOCK"
    make_traversable "$USER_WHEN_ROOT" "$dir"
    make_traversable "$USER_WHEN_ROOT" "$SOCK"
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initdb $DATA"
    (as_server_user "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --locale=C --encoding=UTF8 --no-instructions) \
      >"$dir/log/initdb.log" 2>&1 || { tail -n 20 "$dir/log/initdb.log" >&2; die "initdb failed"; }
  fi
  OPTS=(-c listen_addresses=127.0.0.1 -p "$port" -k "$SOCK" -c max_connections=200)
}

cmd_run() {
  [ $# -eq 2 ] || die "usage: postgres.sh run DIR PORT"
  local dir
  dir="$(realpath -m "$1")"
  prepare "$dir" "$2"
  as_server_user "$BIN/postgres" -D "$DATA" "${OPTS[@]}"
}

cmd_start() {
  [ $# -eq 2 ] || die "usage: postgres.sh start DIR PORT"
  local dir
  dir="$(realpath -m "$1")"
  prepare "$dir" "$2"
  # pg_ctl passes -o through a shell: the paths must stay plain.
  case "$dir$SOCK" in *[[:space:]\'\"\\\$\`]*) die "DIR must not contain spaces or quotes: $dir" ;; esac
  (as_server_user "$BIN/pg_ctl" start -w -t 60 -D "$DATA" -l "$dir/log/postgres.log" -o "${OPTS[*]}") \
    </dev/null >/dev/null 2>&1 || { tail -n 20 "$dir/log/postgres.log" >&2; die "PostgreSQL did not start"; }
}

cmd_stop() {
  [ $# -eq 1 ] || die "usage: postgres.sh stop DIR"
  local dir
  dir="$(realpath -m "$1")"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  (as_server_user "$(bin_dir)/pg_ctl" stop -D "$dir/data" -m fast -w -t 30) >/dev/null 2>&1
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  socket) [ $# -eq 2 ] || die "usage: postgres.sh socket DIR"; socket_dir "$(realpath -m "$2")" ;;
  *) die "usage: postgres.sh run DIR PORT | start DIR PORT | stop DIR | socket DIR" ;;
esac
