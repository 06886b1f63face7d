#!/usr/bin/env bash
# make demo: the whole pipeline on this machine. Installs what is missing,
# builds, starts the local stack, ingest (HTTPS + TCP/TLS), analyzer and
# alerts, then 100 simulated devices. Runs until Ctrl-C, or DEMO_SECONDS;
# then prints a summary and stops what it started.
#
# Environment: DEMO_SECONDS (0 = until Ctrl-C), DEMO_DEVICES (100),
# DEMO_INTERVAL (10 s), DEMO_ANOMALY_RATE (0.01), DEMO_SEED (1), DEMO_HISTORY
# (200 readings each device uploads first, so detection starts at once),
# DEMO_SIGNALS (realistic; clean for the signals made for the per-reading rule), and the
# services' ports INGEST_HTTP_PORT (8443), INGEST_TCP_PORT (7070),
# INGEST_ADMIN_PORT (9101), ANALYZER_PORT (9100), ALERTS_PORT (8080),
# ALERTS_ADMIN_PORT (9102).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
LOCAL="$ROOT/.local"
RUN="$LOCAL/demo"
mkdir -p "$RUN" "$LOCAL/tls"

DEMO_SECONDS="${DEMO_SECONDS:-0}"
DEVICES="${DEMO_DEVICES:-100}"
INTERVAL="${DEMO_INTERVAL:-10}"
export INGEST_HTTP_PORT="${INGEST_HTTP_PORT:-8443}" INGEST_TCP_PORT="${INGEST_TCP_PORT:-7070}"
export ANALYZER_PORT="${ANALYZER_PORT:-9100}" ALERTS_PORT="${ALERTS_PORT:-8080}"
export INGEST_ADMIN_PORT="${INGEST_ADMIN_PORT:-9101}" ALERTS_ADMIN_PORT="${ALERTS_ADMIN_PORT:-9102}"
export LISTEN_HOST=127.0.0.1

say() { printf 'demo: %s\n' "$*" >&2; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

scripts/install-deps.sh
for p in "$INGEST_HTTP_PORT" "$INGEST_TCP_PORT" "$INGEST_ADMIN_PORT" "$ANALYZER_PORT" "$ALERTS_PORT" "$ALERTS_ADMIN_PORT"; do
  if port_busy "$p"; then say "port $p is in use (another demo?); stop it or set the *_PORT variables"; exit 1; fi
done

say "building (debug)…"
swift build --product pipeline
swift build --product simulator
BIN="$(swift build --show-bin-path)"

# Stop only what this run started.
PIDS=()
STARTED_STACK=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$STARTED_STACK" = 1 ]; then scripts/stack.sh down >/dev/null 2>&1 || true; fi
  say "stopped (logs in $RUN)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if scripts/stack.sh env >/dev/null 2>&1; then
  say "using the running local stack"
else
  STARTED_STACK=1
fi
eval "$(scripts/stack.sh up)"
export AMQP_URL DATABASE_URL AMQP_INGEST_URL AMQP_ANALYZER_URL

# A self-signed certificate for HTTPS and TCP+TLS, for this machine only.
export TLS_CERT="$LOCAL/tls/cert.pem" TLS_KEY="$LOCAL/tls/key.pem"
if [ ! -s "$TLS_CERT" ] || [ ! -s "$TLS_KEY" ]; then
  scripts/certificate.sh self-signed "$TLS_CERT" "$TLS_KEY" 365
fi

# Device authentication: a signing secret for this machine, and a token per simulated device.
export DEVICE_TOKEN_SECRET_FILE="$LOCAL/token-secret"
if [ ! -s "$DEVICE_TOKEN_SECRET_FILE" ]; then
  (umask 077; "$BIN/pipeline" token secret >"$DEVICE_TOKEN_SECRET_FILE")
fi

# The owners (postgres, guest) apply the schema, grant each service's database role
# its privileges and declare the broker's queues; the services then connect as
# their own database roles and broker users (made by scripts/stack.sh).
"$BIN/pipeline" migrate --with-broker \
  --analyzer-role pipeline_analyzer --alerts-role pipeline_alerts --ingest-role pipeline_ingest >/dev/null
role_url() { printf '%s' "${DATABASE_URL/:\/\/postgres@/://pipeline_$1@}"; }
broker_url() {
  case "$1" in ingest) printf '%s' "$AMQP_INGEST_URL" ;; analyzer) printf '%s' "$AMQP_ANALYZER_URL" ;; *) printf '' ;; esac
}
"$BIN/simulator" --devices "$DEVICES" --print-device-ids | "$BIN/pipeline" token issue --csv - >"$RUN/tokens.csv"
# A reader key for the page and the scoring below (scope all), replaced on every run.
(umask 077; "$BIN/pipeline" reader issue demo --scope all --replace >"$RUN/reader-key")
export ALERTS_KEY_FILE="$RUN/reader-key"
for svc in ingest analyzer alerts; do
  DATABASE_URL="$(role_url "$svc")" AMQP_URL="$(broker_url "$svc")" "$BIN/pipeline" "$svc" >"$RUN/$svc.log" 2>&1 &
  PIDS+=($!)
done

ready() { curl -fsS --cacert "$TLS_CERT" "$1" >/dev/null 2>&1; }
for url in "http://127.0.0.1:$INGEST_ADMIN_PORT/readyz" "http://127.0.0.1:$ANALYZER_PORT/readyz" "http://127.0.0.1:$ALERTS_ADMIN_PORT/readyz"; do
  for _ in $(seq 100); do ready "$url" && break; sleep 0.2; done
  ready "$url" || { say "not ready: $url (see $RUN/*.log)"; exit 1; }
done

say "pipeline is up"
say "  alerts page:   http://127.0.0.1:$ALERTS_PORT/#key=$(cat "$ALERTS_KEY_FILE")"
say "  anomalies API: curl -H \"Authorization: Bearer \$(cat $ALERTS_KEY_FILE)\" http://127.0.0.1:$ALERTS_PORT/v1/anomalies"
say "  metrics:       http://127.0.0.1:$INGEST_ADMIN_PORT/metrics  http://127.0.0.1:$ANALYZER_PORT/metrics  http://127.0.0.1:$ALERTS_ADMIN_PORT/metrics"
say "  logs:          $RUN/{ingest,analyzer,alerts,simulator}.log"
if [ "$DEMO_SECONDS" = 0 ]; then
  say "$DEVICES devices sending every ${INTERVAL}s over TCP+TLS and HTTPS; Ctrl-C to stop"
else
  say "$DEVICES devices sending every ${INTERVAL}s over TCP+TLS and HTTPS for ${DEMO_SECONDS}s"
fi

rm -f "$RUN/report.json" "$RUN/acked.csv" "$RUN/score.json"
STATUS=lines
[ -t 2 ] && STATUS=terminal
set +e
"$BIN/simulator" --devices "$DEVICES" --interval "$INTERVAL" --duration "$DEMO_SECONDS" \
  --anomaly-rate "${DEMO_ANOMALY_RATE:-0.01}" --seed "${DEMO_SEED:-1}" --history "${DEMO_HISTORY:-200}" \
  --signals "${DEMO_SIGNALS:-realistic}" \
  --targets "tls://127.0.0.1:$INGEST_TCP_PORT,https://localhost:$INGEST_HTTP_PORT" --ca-file "$TLS_CERT" \
  --tokens "$RUN/tokens.csv" --report "$RUN/report.json" --acked-file "$RUN/acked.csv" --status "$STATUS" \
  2> >(tee "$RUN/simulator.log" >&2)
set -e
trap 'exit 130' INT TERM
[ -s "$RUN/report.json" ] || { say "the simulator wrote no report"; exit 1; }

set +e
python3 - "$RUN/report.json" "$RUN/acked.csv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lines = sum(1 for _ in open(sys.argv[2]))
lat = r.get("ack_latency_ms", {})
print()
print("summary")
print(f"  devices            {r['devices']}")
print(f"  readings sent      {r['sent']}")
print(f"  acknowledged       {r['acked']}" + ("" if lines == r["acked"] else f"  (but {lines} in {sys.argv[2]}!)"))
print(f"  failed             {r['failed']}")
print(f"  retries            {r['retries']}")
print(f"  ack latency        p50 {lat.get('p50', '-')} ms, p99 {lat.get('p99', '-')} ms")
kinds = ", ".join(f"{v} {k}" for k, v in sorted(r.get("injected_by_kind", {}).items()))
print(f"  injected           (reading, metric) pairs: {kinds or 'none'}")
sys.exit(0 if lines == r["acked"] else 1)
PY
REPORTED=$?
# The loss check: every acknowledged reading stored once (waiting for the analyzer to drain).
say "waiting for the analyzer to store every acknowledged reading…"
"$BIN/pipeline" verify --acked "$RUN/acked.csv" --wait 60
STORED=$?
SUMMARY=$(( REPORTED || STORED ))

# Detection against the injected ground truth, read through the alerts API.
echo
"$BIN/simulator" score --report "$RUN/report.json" --alerts "http://127.0.0.1:$ALERTS_PORT" --json "$RUN/score.json" \
  --interval "$INTERVAL" \
  || say "scoring failed (see above)"
say "report: $RUN/report.json, score: $RUN/score.json"
exit "$SUMMARY"
