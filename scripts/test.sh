#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a private
# stack (RabbitMQ + PostgreSQL in a temp dir, on free loopback ports), runs
# every test against it, and stops it again, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/check-deploy.sh
echo "test: building" >&2
swift build --build-tests

source scripts/private-stack.sh
start_private_stack test

# The chaos test starts the services as processes of this build.
PIPELINE_BIN="$(swift build --show-bin-path)/pipeline"
export PIPELINE_BIN
echo "test: running the tests (AMQP_URL=$AMQP_URL DATABASE_URL=$DATABASE_URL)" >&2
swift test --skip-build "$@"
