# Sourced by test.sh and bench.sh: starts a RabbitMQ + PostgreSQL stack of its
# own in a temp dir (free loopback ports; of the broker plugins only
# rabbitmq_prometheus, whose metrics the dashboards test reads), exports
# STACK_DIR, AMQP_URL, DATABASE_URL and RABBIT_PROM_URL, and stops it on exit, also on failure or Ctrl-C.
# Usage: start_private_stack NAME
start_private_stack() {
  export STACK_DIR
  STACK_DIR="$(mktemp -d "/tmp/pipeline-$1-stack.XXXXXX")"
  trap 'scripts/stack.sh down --purge >/dev/null 2>&1 || true' EXIT
  trap 'exit 130' INT TERM
  eval "$(STACK_RABBIT_PLUGINS=rabbitmq_prometheus scripts/stack.sh up)"
  export AMQP_URL DATABASE_URL RABBIT_PROM_URL
}
