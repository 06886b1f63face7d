import AMQPClient
import ChaosKit
import DeviceAuth
import EnvironmentVariables
import Foundation
import Ingest
import Logging
import NIOSSL
import PipelineCore
import ServiceLifecycle
import ServiceSupport
import SimulatorKit
import SQL
import Storage

/// `make bench`: measures the parts of the pipeline on this machine and
/// writes the figures to bench-results.json (merged with earlier parts, so
/// `BENCH_ONLY` can refresh a subset).
@main
struct Bench {
    static func env(_ name: String) -> String? { Env.string(name) }

    static func main() async throws {
        guard let amqpURL = env("AMQP_URL"), let databaseURL = env("DATABASE_URL"), let cert = env("BENCH_TLS_CERT"),
            let key = env("BENCH_TLS_KEY")
        else {
            FileHandle.standardError.write(Data("run through `make bench` (needs AMQP_URL, DATABASE_URL, BENCH_TLS_CERT, BENCH_TLS_KEY)\n".utf8))
            exit(2)
        }
        let only = Set((env("BENCH_ONLY") ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        let seconds = Env.double("BENCH_SECONDS") ?? 10
        let simulatedAnomalyRate = Env.double("BENCH_SIM_RATE") ?? 0.01
        let endToEndDevices = Env.int("BENCH_E2E_DEVICES") ?? 10_000
        guard Env.problems.isEmpty else {
            FileHandle.standardError.write(Data((Env.problems.map { "bench: \($0)" }.joined(separator: "\n") + "\n").utf8))
            exit(64)
        }
        let output = env("BENCH_OUTPUT") ?? "bench-results.json"
        var report = BenchReport()
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        _ = PrometheusSetup.registry

        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let context = BenchContext(
            amqpURL: amqpURL, databaseURL: databaseURL, cert: cert, key: key, seconds: seconds,
            simulatedAnomalyRate: simulatedAnomalyRate, endToEndDevices: endToEndDevices, suffix: suffix, logger: logger, only: only)

        try await ingest(&report, context)

        if context.wanted("analyzer_drain") {
            let f = try await AnalyzerDrainBench.run(amqpURL: amqpURL, adminURL: databaseURL, tag: suffix, logger: logger)
            report.results["raw_insert_per_s"] = f.rawInsertPerSecond.rounded()
            report.results["analyzer_drain_per_s"] = f.drainPerSecond.rounded()
            report.results["analyzer_drain_vs_raw"] = round2(f.drainPerSecond / f.rawInsertPerSecond)
            report.table.append(("raw bulk insert (same rows, 1,000 per transaction)", String(format: "%.0f readings/s", f.rawInsertPerSecond)))
            report.table.append(("analyzer drain (pre-filled queue to committed rows)", String(format: "%.0f readings/s", f.drainPerSecond)))
            report.table.append(("analyzer drain / raw insert", String(format: "%.0f %%", 100 * f.drainPerSecond / f.rawInsertPerSecond)))
        }

        if context.wanted("detection") { try detection(&report, context) }

        if context.wanted("alerts_json") { try alertsJSON(&report) }

        if context.wanted("alerts") {
            let f = try await AlertsQueryBench.run(
                adminURL: databaseURL, tag: suffix, clients: 8, duration: .milliseconds(Int64(seconds * 1000)), logger: logger)
            let all = f.all
            report.results["alerts_p50_ms"] = round2(AlertsQueryBench.Figures.percentile(all, 0.5))
            report.results["alerts_p99_ms"] = round2(AlertsQueryBench.Figures.percentile(all, 0.99))
            report.results["alerts_requests_per_s"] = (Double(all.count) / seconds).rounded()
            report.results["alerts_failed"] = f.failed
            report.table.append((
                "alerts /v1/anomalies, page of 100 (1M readings, 10k anomalies, 8 clients)",
                String(format: "%.0f requests/s", Double(all.count) / seconds)
            ))
            report.table.append((
                "  latency p50 / p99",
                String(
                    format: "%.2f / %.2f ms", AlertsQueryBench.Figures.percentile(all, 0.5),
                    AlertsQueryBench.Figures.percentile(all, 0.99))
            ))
            for kind in f.latenciesMs.keys.sorted() {
                let xs = f.latenciesMs[kind]!
                report.table.append(("    \(kind) p99", String(format: "%.2f ms", AlertsQueryBench.Figures.percentile(xs, 0.99))))
            }
            report.table.append(("  seeding the database", String(format: "%.0f s", f.seedSeconds)))
        }

        if context.wanted("e2e") { try await endToEnd(&report, context) }

        if context.wanted("hostile") { try await hostile(&report, context) }

        // Merge with earlier results, so a BENCH_ONLY run keeps the other parts.
        var merged = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output)))) as? [String: Any] ?? [:]
        for (k, v) in report.results { merged[k] = v }
        merged["machine"] = [
            "cores": ProcessInfo.processInfo.activeProcessorCount,
            "memory_gib": Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824,
        ]
        merged["when"] = ISO8601DateFormatter().string(from: Date())
        try JSONSerialization.data(withJSONObject: merged, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: output))

        let width = report.table.map(\.0.count).max() ?? 0
        print("")
        for (name, value) in report.table {
            print(name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + value)
        }
        print("\nwritten to \(output)")
    }

    static func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }
}
