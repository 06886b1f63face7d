#!/usr/bin/env bash
# make chaos: builds the pipeline and the chaos harness, then runs the fault
# schedule (see `chaos --help`; CHAOS_* variables and arguments pass through).
# The harness starts and stops its own RabbitMQ cluster, PostgreSQL and
# services in a temp dir; it needs root (RabbitMQ 4 runs from a root filesystem,
# see scripts/rabbitmq.sh; RABBITMQ=system runs the system's).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
echo "chaos: building" >&2
swift build --product pipeline
swift build --product chaos
BIN="$(swift build --show-bin-path)"
exec "$BIN/chaos" --pipeline "$BIN/pipeline" --scripts "$PWD/scripts" "$@"
