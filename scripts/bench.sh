#!/usr/bin/env bash
# make bench: builds the release binaries, starts a private stack (temp dir,
# free loopback ports), runs the benchmarks and writes bench-results.json.
# BENCH_ONLY=name,… runs a subset (raw_confirm, ingest_tcp, ingest_https, ingest_https_batch, analyzer_drain, detection, alerts_json, alerts, e2e, hostile);
# BENCH_NAB_DIR holds the labelled series the detection part scores (default ../shared/datasets/nab-dev);
# BENCH_SIM_RATE the anomaly rate of its simulated fleet (default 0.01, the demo's);
# BENCH_E2E_DEVICES sets the fleet of the end-to-end ramp (default 10000), BENCH_E2E_PACKING whether it runs
# with ingest packing readings into broker messages, without, or both in turn (on, off, both: the default);
# BENCH_SECONDS sets the length of each load phase (default 10).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
echo "bench: building (release)…" >&2
swift build -c release --product bench
swift build -c release --product pipeline
BIN="$(swift build -c release --show-bin-path)"

source scripts/private-stack.sh
start_private_stack bench

export BENCH_TLS_CERT="$STACK_DIR/cert.pem" BENCH_TLS_KEY="$STACK_DIR/key.pem"
scripts/certificate.sh self-signed "$BENCH_TLS_CERT" "$BENCH_TLS_KEY"

BENCH_BIN="$BIN" "$BIN/bench"
