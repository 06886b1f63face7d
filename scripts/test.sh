#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a private
# stack (RabbitMQ + PostgreSQL in a temp dir, on free loopback ports), runs
# every test against it, and stops it again, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
echo "test: building" >&2
swift build --build-tests

export STACK_DIR
STACK_DIR="$(mktemp -d /tmp/pipeline-test-stack.XXXXXX)"
cleanup() { scripts/stack.sh down --purge >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
eval "$(STACK_RABBIT_PLUGINS="" scripts/stack.sh up)"
export AMQP_URL DATABASE_URL

echo "test: running the tests (AMQP_URL=$AMQP_URL DATABASE_URL=$DATABASE_URL)" >&2
swift test --skip-build "$@"
