# Sourced by scripts/stack.sh: the stack's RabbitMQ node (its configuration,
# certificates, service users, start and stop); scripts/rabbitmq.sh runs its
# programs. Uses the stack's variables (STACK_DIR, the ports, RABBIT) and helpers.

# Short stable id of this STACK_DIR, for the node name.
dir_hash() { printf '%s' "$STACK_DIR" | md5sum | cut -c1-8; }

# The node's parameters, which scripts/rabbitmq.sh turns into its environment.
rabbit_node_env() {
  {
    echo "# written by scripts/stack.sh up"
    printf '%s=%q\n' RABBIT_NODE "$RABBIT_NODE" AMQP_PORT "$AMQP_PORT" RABBIT_DIST_PORT "$RABBIT_DIST_PORT" \
      EPMD_PORT "$EPMD_PORT" RABBIT_OS_USER "$(rabbit_user)"
  } >"$STACK_DIR/rabbit/node.env"
}

# A RabbitMQ program of this stack's node.
rabbit_run() { "$RABBIT" run "$STACK_DIR/rabbit" "$@"; }

rabbit_user() { if is_root; then echo "$RABBIT_OS_USER"; else id -un; fi; }

# The broker's CA, server and client certificates (scripts/certificate.sh chain), made once per stack.
rabbit_tls() {
  "$SCRIPTS/certificate.sh" chain "$STACK_DIR/rabbit/tls" || die "could not make the broker's TLS certificates"
}

# Write the node's config files (ports change at every start).
rabbit_write_config() {
  local r="$STACK_DIR/rabbit" plugins=()
  IFS=',' read -r -a plugins <<<"$RABBIT_PLUGINS"
  {
    echo "# written by scripts/stack.sh up"
    echo "loopback_users = none"
    # A TLS listener beside the plain one: the broker's certificate from rabbit_tls;
    # a client certificate is verified when one is offered, not required.
    echo "listeners.ssl.1 = 127.0.0.1:$AMQPS_PORT"
    echo "ssl_options.cacertfile = $r/tls/ca.pem"
    echo "ssl_options.certfile = $r/tls/server.pem"
    echo "ssl_options.keyfile = $r/tls/server.key"
    echo "ssl_options.verify = verify_peer"
    echo "ssl_options.fail_if_no_peer_cert = false"
    echo "log.file.level = info"
    echo "log.console = false"
    # Keys of a plugin's schema are only valid when the plugin is enabled.
    if [[ ",$RABBIT_PLUGINS," == *,rabbitmq_management,* ]]; then
      echo "management.tcp.ip = 127.0.0.1"
      echo "management.tcp.port = $RABBIT_MGMT_PORT"
    fi
    if [[ ",$RABBIT_PLUGINS," == *,rabbitmq_prometheus,* ]]; then
      echo "prometheus.tcp.ip = 127.0.0.1"
      echo "prometheus.tcp.port = $RABBIT_PROM_PORT"
    fi
  } >"$r/rabbitmq.conf"
  local IFS=,
  printf '[%s].\n' "${plugins[*]}" >"$r/enabled_plugins"
}

# A fresh random Erlang cookie, private to this stack.
rabbit_cookie() {
  local cookie="$STACK_DIR/rabbit/home/.erlang.cookie"
  [ -s "$cookie" ] && return 0
  (umask 077; head -c 32 /dev/urandom | md5sum | cut -c1-20 | tr a-f A-F >"$cookie")
  chmod 400 "$cookie"
}

rabbit_start() {
  local r="$STACK_DIR/rabbit" user
  user="$(rabbit_user)"
  mkdir -p "$r/home" "$r/mnesia" "$r/log"
  rabbit_cookie
  rabbit_tls
  rabbit_write_config
  rabbit_node_env
  rm -f "$r/rabbit.pid"
  if is_root; then
    chown -R "$user:" "$r"
    make_traversable "$user" "$r"
  fi

  log "starting epmd on 127.0.0.1:$EPMD_PORT"
  (cd / && exec setsid "$RABBIT" run "$r" epmd -port "$EPMD_PORT" -address 127.0.0.1) \
    </dev/null >>"$r/log/epmd.log" 2>&1 8<&- 9>&- &
  EPMD_PID="$(proc_id $!)"
  for _ in {1..50}; do port_busy "$EPMD_PORT" && break; sleep 0.1; done
  port_busy "$EPMD_PORT" || die "epmd did not start (see $r/log/epmd.log)"

  log "starting RabbitMQ $RABBIT_VERSION ($RABBIT_SOURCE) $RABBIT_NODE on 127.0.0.1:$AMQP_PORT (plugins: ${RABBIT_PLUGINS:-none})"
  (cd / && exec setsid "$RABBIT" run "$r" rabbitmq-server) \
    </dev/null >>"$r/log/console.log" 2>&1 8<&- 9>&- &
  # $! is the rabbitmq-server shell script, which stays as the parent of
  # the Erlang VM (it forwards signals); the VM writes its PID file early.
  RABBIT_WRAPPER_PID="$(proc_id $!)"
  if ! rabbit_wait; then
    tail -n 15 "$r/log/console.log" >&2
    die "RabbitMQ did not start (logs in $r/log)"
  fi
  RABBIT_PID="$(proc_id "$(cat "$r/rabbit.pid")")"
  alive "$RABBIT_PID" || die "RabbitMQ died after start (logs in $r/log)"
  "$RABBIT" khepri "$r" </dev/null 8<&- 9>&-
}

# A broker user per service, as a deployment makes them: ingest may only publish
# to the readings exchange, the analyzer only consume the readings queue and
# publish dead letters; neither may configure (so neither can delete a queue).
# The topology is declared by `pipeline migrate --with-broker` as guest, the
# administrator here. Names cover the tests' queues (readings-<suffix>).
rabbit_users() {
  local ctl=("$RABBIT" run "$STACK_DIR/rabbit" rabbitmqctl -q) q='readings(-[a-z0-9]+)?'
  AMQP_INGEST_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  AMQP_ANALYZER_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  (
    for u in ingest analyzer; do
      local pw_var="AMQP_${u^^}_PASSWORD"
      "${ctl[@]}" add_user "pipeline-$u" "${!pw_var}" >/dev/null 2>&1 \
        || "${ctl[@]}" change_password "pipeline-$u" "${!pw_var}" >/dev/null
    done
    "${ctl[@]}" set_permissions -p / pipeline-ingest '^$' "^$q\$" '^$' >/dev/null
    "${ctl[@]}" set_permissions -p / pipeline-analyzer '^$' "^$q\\.dlx\$" "^$q\$" >/dev/null
  ) </dev/null 8<&- 9>&- || die "could not make the broker's service users"
  AMQP_INGEST_URL="amqp://pipeline-ingest:$AMQP_INGEST_PASSWORD@127.0.0.1:$AMQP_PORT/%2f"
  AMQP_ANALYZER_URL="amqp://pipeline-analyzer:$AMQP_ANALYZER_PASSWORD@127.0.0.1:$AMQP_PORT/%2f"
}

# Wait until the node has booted; fail at once if it dies meanwhile
# (`rabbitmq-diagnostics wait` alone would wait for its whole timeout).
rabbit_wait() {
  rabbit_run rabbitmq-diagnostics -q wait \
    "$STACK_DIR/rabbit/rabbit.pid" --timeout 120 </dev/null >&2 8<&- 9>&- &
  local waiter=$!
  while kill -0 "$waiter" 2>/dev/null; do
    if ! alive "$RABBIT_WRAPPER_PID"; then
      kill "$waiter" 2>/dev/null || true
      wait "$waiter" 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
  wait "$waiter"
}

rabbit_stop() {
  local r="$STACK_DIR/rabbit"
  if alive "${RABBIT_PID:-}"; then
    log "stopping RabbitMQ $RABBIT_NODE (pid ${RABBIT_PID%%:*})"
    # RabbitMQ 3.10 pitfall: with the management agent loaded (a dependency
    # of rabbitmq_prometheus and rabbitmq_management), its rabbit_event
    # handler stalls the shutdown for 5 s. Removing it first avoids that.
    if [ -n "$RABBIT_PLUGINS" ]; then
      timeout 20 "$RABBIT" run "$r" rabbitmqctl -q eval \
        'gen_event:delete_handler(rabbit_event, rabbit_mgmt_db_handler, []).' \
        </dev/null >/dev/null 2>&1 || true
    fi
    # SIGTERM makes the Erlang VM shut RabbitMQ down gracefully (the same
    # path as `rabbitmqctl stop`, without a CLI boot and its 1 s polling).
    stop_pid "$RABBIT_PID" 60 RabbitMQ
  fi
  stop_pid "${RABBIT_WRAPPER_PID:-}" 5 rabbitmq-server-script
  if alive "${EPMD_PID:-}"; then
    log "stopping epmd (pid ${EPMD_PID%%:*})"
    stop_pid "$EPMD_PID" 5 epmd
  fi
  rm -f "$r/rabbit.pid"
}

