import Foundation

extension Bench {
    /// Devices' ack latency while hostile clients attack ingest, beside the same without.
    static func hostile(_ report: inout BenchReport, _ context: BenchContext) async throws {
        let (amqpURL, databaseURL, seconds, suffix, logger) = (context.amqpURL, context.databaseURL, context.seconds, context.suffix, context.logger)
        let (cert, key) = (context.cert, context.key)
        guard let binDir = env("BENCH_BIN"), let stackDir = env("STACK_DIR") else {
            throw BenchError("the hostile part needs BENCH_BIN and STACK_DIR (run it through `make bench`)")
        }
        let f = try await HostileBench.run(
            amqpURL: amqpURL, adminURL: databaseURL, binDir: binDir, stackDir: stackDir, cert: cert, key: key, tag: suffix,
            seconds: max(seconds, 20), logger: logger)
        report.results["hostile_device_ack_p99_ms"] = round2(f.attacked.devices.p99Ms)
        report.results["hostile_device_ack_p99_ms_generator_niced"] = round2(f.attackedNiced.devices.p99Ms)
        report.results["hostile_device_ack_p99_ms_baseline"] = round2(f.baseline.p99Ms)
        report.results["hostile_device_failures"] = f.attacked.devices.failures
        report.results["hostile_device_failures_generator_niced"] = f.attackedNiced.devices.failures
        report.results["hostile_device_failures_baseline"] = f.baseline.failures
        report.results["hostile_device_acks"] = f.attacked.devices.latenciesMs.count
        report.results["hostile_broker_probe_confirm_p99_ms"] = round2(f.attacked.devices.brokerP99Ms)
        report.results["hostile_broker_probe_confirm_p99_ms_generator_niced"] = round2(f.attackedNiced.devices.brokerP99Ms)
        report.results["hostile_broker_probe_confirm_p99_ms_baseline"] = round2(f.baseline.brokerP99Ms)
        report.results["hostile_ingest_peak_rss_mib"] = f.peakRSSMiB.rounded()
        report.results["hostile_ingest_peak_fds"] = f.peakDescriptors
        report.results["hostile_refused"] = f.refused
        report.results["hostile_cpu_cores_alone"] = f.cpuAlone.mapValues(round2)
        report.results["hostile_cpu_cores_attacked"] = f.attacked.cpu.mapValues(round2)
        report.results["hostile_cpu_cores_attacked_generator_niced"] = f.attackedNiced.cpu.mapValues(round2)
        report.results["hostile_attackers"] = f.attacked.attacks.map { a -> [String: Any] in
            [
                "kind": a.kind, "connections": a.connections,
                "lifetime_p50_s": round2(AlertsQueryBench.Figures.percentile(a.lifetimes, 0.5)),
                "lifetime_max_s": round2(a.lifetimes.max() ?? 0),
            ]
        }
        report.table.append((
            "hostile: 100 devices' p99 ack, under attack / generator niced / alone",
            String(format: "%.1f ms / %.1f ms / %.1f ms", f.attacked.devices.p99Ms, f.attackedNiced.devices.p99Ms, f.baseline.p99Ms)
        ))
        report.table.append((
            "  device readings failed, under attack / generator niced / alone",
            "\(f.attacked.devices.failures) / \(f.attackedNiced.devices.failures) / \(f.baseline.failures)"
        ))
        report.table.append((
            "  a probe's own broker confirms p99, same three",
            String(
                format: "%.1f ms / %.1f ms / %.1f ms", f.attacked.devices.brokerP99Ms, f.attackedNiced.devices.brokerP99Ms,
                f.baseline.brokerP99Ms)
        ))
        report.table.append(("  ingest peak resident memory / open descriptors", String(format: "%.0f MiB / %d", f.peakRSSMiB, f.peakDescriptors)))
        let cores = { (used: [String: Double]) in
            used.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f", $0.key, $0.value) }.joined(separator: ", ")
        }
        report.table.append(("  CPU cores, under attack", cores(f.attacked.cpu)))
        report.table.append(("  CPU cores, generator niced", cores(f.attackedNiced.cpu)))
        for a in f.attacked.attacks {
            report.table.append((
                "  \(a.kind): connections, lived p50 / max",
                String(
                    format: "%d, %.1f s / %.1f s", a.connections, AlertsQueryBench.Figures.percentile(a.lifetimes, 0.5),
                    a.lifetimes.max() ?? 0)
            ))
        }
        report.table.append(("  refused by ingest", f.refused.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
    }
}
