#!/usr/bin/env bash
# The local RabbitMQ in one place: which broker runs, how a node is set up
# from its directory, and how its programs start. scripts/stack.sh (make demo,
# make test, make bench) and ChaosKit (make chaos) run every node through it.
#
#   scripts/rabbitmq.sh prepare        make sure the broker can run (builds the
#                                      RabbitMQ 4 root filesystem once); prints
#                                      "VERSION SOURCE" (e.g. "4.0.5 root")
#   scripts/rabbitmq.sh run DIR PROGRAM [ARGS...]
#                                      exec PROGRAM (rabbitmq-server, rabbitmqctl,
#                                      rabbitmq-diagnostics, rabbitmq-plugins,
#                                      rabbitmq-queues or epmd) for the node in DIR
#   scripts/rabbitmq.sh khepri DIR     on RabbitMQ 4, switch the running node's
#                                      cluster to the Khepri metadata store, as
#                                      4.2 runs by default (no-op on 3.x)
#
# A node's directory DIR holds what the caller writes: node.env (RABBIT_NODE,
# AMQP_PORT, RABBIT_DIST_PORT, EPMD_PORT and, when root, RABBIT_OS_USER: the
# user the node runs as, else root), rabbitmq.conf, enabled_plugins, optionally
# advanced.config, and home/.erlang.cookie; the node keeps its data in
# mnesia/, its logs in log/ and its PID in rabbit.pid.
#
# Environment:
#   RABBITMQ        4 (default): RabbitMQ 4, as production runs: the system's
#                   rabbitmq-server if it is 4.0 or newer, else Debian 13's,
#                   installed in a root filesystem (debootstrap, about a minute
#                   and 100 MB of downloads the first time) that is verified and
#                   reused, and rebuilt when missing or broken. Needs root.
#                   system: the system's rabbitmq-server, whatever its version
#                   (3.10 on Debian 12).
#   RABBITMQ_ROOT   that root filesystem (default /var/cache/pipeline/rabbitmq-trixie)
set -euo pipefail

SELF="$(realpath "${BASH_SOURCE[0]}")"
WANT="${RABBITMQ:-4}"
ROOT="${RABBITMQ_ROOT:-/var/cache/pipeline/rabbitmq-trixie}"
# What the root filesystem is made of; a root built from another recipe is rebuilt.
RECIPE="debootstrap minbase trixie + rabbitmq-server, 1"
STAMP=.pipeline-rabbitmq
BIN=/usr/lib/rabbitmq/bin

log() { printf 'rabbitmq: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# Major.minor.patch of the system's rabbitmq-server package, empty if none.
system_version() {
  local v
  v="$(dpkg-query -W -f='${db:Status-Status} ${Version}' rabbitmq-server 2>/dev/null)" || return 0
  [[ "$v" == installed\ * ]] || return 0
  v="${v#installed }"
  printf '%s' "${v%%-*}"
}

root_version() { cat "$ROOT/$STAMP.version" 2>/dev/null || true; }

# True when the root filesystem is complete and (unless $1 is quick) its Erlang runs.
root_ok() {
  [ "$(cat "$ROOT/$STAMP" 2>/dev/null)" = "$RECIPE" ] && [ -x "$ROOT$BIN/rabbitmq-server" ] \
    && [ -n "$(root_version)" ] || return 1
  [ "${1:-}" = quick ] || chroot "$ROOT" /usr/bin/erl -noshell -eval 'halt().' </dev/null >/dev/null 2>&1
}

# Build the root filesystem in a temporary directory beside it, then move it in place.
root_build() {
  is_root || die "RabbitMQ 4 runs from a root filesystem that only root can build and enter (chroot); run as root, or set RABBITMQ=system for the system's $(system_version)"
  command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/install-deps.sh installs it)"
  local tmp="$ROOT.building" t0=$SECONDS
  rm -rf "$tmp" "$ROOT"
  mkdir -p "$(dirname "$ROOT")"
  log "building the RabbitMQ 4 root filesystem in $ROOT (once; about a minute)"
  debootstrap --variant=minbase trixie "$tmp" http://deb.debian.org/debian >"$tmp.log" 2>&1 \
    || { tail -n 20 "$tmp.log" >&2; die "debootstrap trixie failed (log: $tmp.log)"; }
  # Packages must not start services in the root filesystem.
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod 755 "$tmp/usr/sbin/policy-rc.d"
  unshare --mount --propagation private -- sh -c '
      mount -t proc proc "$1/proc"
      chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server
      chroot "$1" apt-get clean' sh "$tmp" >>"$tmp.log" 2>&1 \
    || { tail -n 20 "$tmp.log" >&2; die "installing rabbitmq-server in the root filesystem failed (log: $tmp.log)"; }
  local v
  v="$(chroot "$tmp" dpkg-query -W -f='${Version}' rabbitmq-server)"
  printf '%s\n' "${v%%-*}" >"$tmp/$STAMP.version"
  printf '%s\n' "$RECIPE" >"$tmp/$STAMP"
  mv "$tmp" "$ROOT"
  rm -f "$tmp.log"
  log "root filesystem ready: RabbitMQ ${v%%-*} ($((SECONDS - t0)) s, $(du -sh "$ROOT" | cut -f1))"
}

# Decide which broker runs: sets VERSION and SOURCE (system or root), building the root
# if needed; `resolve quick` trusts a root filesystem that was verified by `prepare`.
resolve() {
  local sys check="${1:-}"
  sys="$(system_version)"
  case "$WANT" in
    system)
      [ -n "$sys" ] || die "RABBITMQ=system, but rabbitmq-server is not installed (scripts/install-deps.sh)"
      VERSION="$sys" SOURCE=system ;;
    4)
      if [ -n "$sys" ] && [ "${sys%%.*}" -ge 4 ]; then
        VERSION="$sys" SOURCE=system
      else
        if ! root_ok "$check"; then
          mkdir -p "$(dirname "$ROOT")" 2>/dev/null || die "cannot create $(dirname "$ROOT") (RABBITMQ_ROOT)"
          # One build at a time on this machine; whoever waited finds it built.
          exec 7>>"$(dirname "$ROOT")/.rabbitmq-root.lock"
          flock -w 900 7 || die "timed out waiting for another build of $ROOT"
          root_ok || root_build
          exec 7>&-
        fi
        VERSION="$(root_version)" SOURCE=root
      fi ;;
    *) die "RABBITMQ must be 4 or system, not '$WANT'" ;;
  esac
}

# The environment every program of the node in $1 runs with.
node_env() {
  local dir="$1"
  [ -f "$dir/node.env" ] || die "$dir/node.env is missing"
  # shellcheck source=/dev/null
  . "$dir/node.env"
  export HOME="$dir/home"                     # holds the node's private cookie
  export ERL_EPMD_PORT="$EPMD_PORT"           # the node's own epmd
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_NODENAME="$RABBIT_NODE"
  export RABBITMQ_USE_LONGNAME=false
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia"
  export RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_PID_FILE="$dir/rabbit.pid"
  export RABBITMQ_CONF_ENV_FILE=/nonexistent
  export ERL_CRASH_DUMP="$dir/log/erl_crash.dump"
  export LANG=C.UTF-8 PATH=/usr/bin:/bin:/usr/sbin:/sbin
  # Distribution (node and CLI tools) on loopback only.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

program_path() {
  case "$1" in
    epmd) echo /usr/bin/epmd ;;
    rabbitmq-server | rabbitmqctl | rabbitmq-diagnostics | rabbitmq-plugins | rabbitmq-queues) echo "$BIN/$1" ;;
    *) die "unknown program '$1'" ;;
  esac
}

cmd_run() {
  [ $# -ge 2 ] || die "usage: rabbitmq.sh run DIR PROGRAM [ARGS...]"
  local dir program
  dir="$(realpath "$1")" program="$(program_path "$2")"
  shift 2
  resolve quick
  node_env "$dir"
  local user="${RABBIT_OS_USER:-}"
  is_root || user=""
  if [ "$SOURCE" = system ]; then
    if [ -n "$user" ]; then exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$program" "$@"; fi
    exec "$program" "$@"
  fi
  # In the root filesystem, in a mount namespace of this process alone (no fork: the
  # PID stays the program's, so signals and PID files work as with the system's):
  # /proc, /dev and /etc/hosts of the machine, and the node's directory at its path.
  local spec=""
  [ -z "$user" ] || spec="$(id -u "$user"):$(id -g "$user")"
  exec unshare --mount --propagation private -- "$SELF" __enter "$dir" "$spec" "$program" "$@"
}

# Inside the new mount namespace: mount, then become the program.
cmd_enter() {
  local dir="$1" spec="$2"
  shift 2
  mount -t proc proc "$ROOT/proc"
  mount --rbind /dev "$ROOT/dev"
  [ -e "$ROOT/etc/hosts" ] || : >"$ROOT/etc/hosts"
  mount --bind /etc/hosts "$ROOT/etc/hosts"
  mkdir -p "$ROOT$dir"
  mount --bind "$dir" "$ROOT$dir"
  if [ -n "$spec" ]; then exec chroot --userspec="$spec" "$ROOT" "$@"; fi
  exec chroot "$ROOT" "$@"
}

cmd_khepri() {
  [ $# -eq 1 ] || die "usage: rabbitmq.sh khepri DIR"
  resolve quick
  [ "${VERSION%%.*}" -ge 4 ] || return 0
  "$SELF" run "$1" rabbitmqctl -q enable_feature_flag --opt-in khepri_db </dev/null >/dev/null \
    || die "could not enable the Khepri metadata store"
}

case "${1:-}" in
  prepare) resolve; echo "$VERSION $SOURCE" ;;
  run) shift; cmd_run "$@" ;;
  khepri) shift; cmd_khepri "$@" ;;
  __enter) shift; cmd_enter "$@" ;;
  *) die "usage: rabbitmq.sh prepare | run DIR PROGRAM [ARGS...] | khepri DIR" ;;
esac
