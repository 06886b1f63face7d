#!/usr/bin/env bash
# Install the Debian packages the pipeline needs, if any are missing.
#
# Idempotent and quiet: prints nothing when everything is present.
# As root it runs apt-get (non-interactive, no stdin needed, CI-safe);
# otherwise it prints the apt-get command to run and exits 1.
# Everything it prints goes to stderr, so callers can keep stdout clean.
set -euo pipefail

# One entry per need; "a|b" means either package satisfies it, and the
# first one is what gets installed.
REQUIRED=(
  rabbitmq-server                  # broker of the local stack with RABBITMQ=system (brings Erlang, epmd)
  debootstrap                      # RabbitMQ 4 root filesystem of the local stack (scripts/rabbitmq.sh)
  librabbitmq-dev                  # rabbitmq-c, linked by the Swift code
  libpq-dev                        # libpq, linked by the Swift code
  "postgresql-15|postgresql"       # database server of the local stack
  "postgresql-client-15|postgresql-client"  # psql, createdb
  openssl                          # self-signed certificate for the demo
  libssl-dev                       # TLS headers for the build
  ca-certificates                  # HTTPS downloads (SwiftPM)
  python3                          # the demo's summary, helper scripts
  curl                             # readiness checks in the demo
  python3-yaml                     # the tests' OpenAPI check
  python3-jsonschema               # the tests' OpenAPI check
  chromium                         # the tests render the alerts page headless
  nodejs                           # the tests parse the alerts page's script (node --check)
  prometheus                       # promtool: the tests lint the services' /metrics
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

# True when a package is installed (dpkg status "install ok installed").
installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# Print the packages to install, one per missing need.
missing_packages() {
  local need alt found
  for need in "${REQUIRED[@]}"; do
    found=no
    IFS='|' read -r -a alts <<<"$need"
    for alt in "${alts[@]}"; do
      if installed "$alt"; then found=yes; break; fi
    done
    [ "$found" = yes ] || printf '%s\n' "${alts[0]}"
  done
}

main() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "dpkg-query not found: this script supports Debian/Ubuntu only"
    exit 1
  fi

  local missing
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] && exit 0

  local cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${missing[*]}"
    log "run as root:  $cmd"
    exit 1
  fi

  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for a concurrent apt/dpkg run instead of failing on its lock;
  # keep existing config files; never read stdin.
  local apt_opts=(-o DPkg::Lock::Timeout=600
                  -o Dpkg::Options::=--force-confdef
                  -o Dpkg::Options::=--force-confold)
  apt-get "${apt_opts[@]}" update </dev/null >&2
  apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null >&2

  # Check the result: apt-get can succeed yet leave something out.
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -ne 0 ]; then
    log "still missing after apt-get: ${missing[*]}"
    exit 1
  fi
  log "done"
}

main "$@"
