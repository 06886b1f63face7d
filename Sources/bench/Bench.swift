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
        func wanted(_ name: String) -> Bool { only.isEmpty || only.contains(name) }
        let seconds = Env.double("BENCH_SECONDS") ?? 10
        let simulatedAnomalyRate = Env.double("BENCH_SIM_RATE") ?? 0.01
        let endToEndDevices = Env.int("BENCH_E2E_DEVICES") ?? 10_000
        guard Env.problems.isEmpty else {
            FileHandle.standardError.write(Data((Env.problems.map { "bench: \($0)" }.joined(separator: "\n") + "\n").utf8))
            exit(64)
        }
        let output = env("BENCH_OUTPUT") ?? "bench-results.json"
        var results: [String: Any] = [:]
        var table: [(String, String)] = []
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        _ = PrometheusSetup.registry

        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let sample = Array(IngestLoad.reading("dev-0001", 1).utf8)

        let ingestParts = ["ingest_tcp", "ingest_https", "ingest_https_batch"]
        if wanted("raw_confirm") || ingestParts.contains(where: wanted) {
            let queue = "bench-raw-\(suffix)"
            let rate = try RawConfirmBench.run(url: amqpURL, queue: queue, messages: 100_000, window: 1000, body: sample)
            RawConfirmBench.deleteQueues(url: amqpURL, [queue, queue + ".dead"])
            results["raw_confirm_per_s"] = rate.rounded()
            table.append(("raw confirms (1 connection, window 1000)", String(format: "%.0f msg/s", rate)))
        }

        if ingestParts.contains(where: wanted) {
            let secret = DeviceTokenSecret("bench-secret-0123456789abcdef")!
            let db = try SQLConnection(databaseURL)
            try Schema.migrate(db)
            let devices = try (0..<200).map { i -> (id: String, token: String) in
                let id = "bench-\(suffix)-\(i)"
                return (id, DeviceToken(deviceID: id, generation: try DeviceTokenStore.issue(id, on: db)).string(secret: secret))
            }
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            tlsConfiguration.trustRoots = .file(cert)
            let tls = try NIOSSLContext(configuration: tlsConfiguration)
            var latencies: [Double] = []

            /// Runs `body` against an ingest service in this process (TLS on both listeners, or on none).
            /// Each phase gets a queue of its own, deleted afterwards, so no phase runs against a backlog.
            func withIngest<T>(tls: Bool, _ body: (_ httpPort: Int, _ tcpPort: Int) async throws -> T) async throws -> T {
                let queue = "bench-ingest-\(suffix)-\(UInt16.random(in: 0...UInt16.max))"
                defer { RawConfirmBench.deleteQueues(url: amqpURL, [queue, queue + ".dead"]) }
                let httpPort = try FreePort.pick()
                let tcpPort = try FreePort.pick()
                let ingest = try IngestService(
                    configuration: .init(
                        host: "127.0.0.1", httpPort: httpPort, tcpPort: tcpPort, adminPort: try FreePort.pick(),
                        amqp: AMQPConfiguration(urls: AMQPConfiguration.urls(from: amqpURL), queue: queue),
                        tlsCertificatePath: tls ? cert : nil, tlsKeyPath: tls ? key : nil,
                        auth: .init(secret: secret, databaseURL: databaseURL), rateLimit: nil),
                    logger: logger)
                let group = ServiceGroup(configuration: .init(services: ingest.services.map { .init(service: $0) }, logger: logger))
                let running = Task { try await group.run() }
                let publisher = ingest.publisher
                let authenticator = ingest.authenticator
                func ready() -> Bool { publisher.isConnected && (authenticator?.status.loaded ?? false) }
                while !ready() { try await Task.sleep(for: .milliseconds(100)) }
                let value = try await body(httpPort, tcpPort)
                await group.triggerGracefulShutdown()
                try? await running.value
                return value
            }

            /// Records one ingest phase: rate, latency percentiles, failures, and the table rows.
            func record(_ key: String, _ label: String, latency: String, _ r: IngestLoad.Result, countLatency: Bool = true) {
                results["\(key)_per_s"] = r.perSecond.rounded()
                results["\(key)_p50_ms"] = round2(r.percentile(0.5))
                results["\(key)_p99_ms"] = round2(r.percentile(0.99))
                results["\(key)_failed"] = r.failed
                if countLatency { latencies += r.latenciesMs }
                table.append((label, String(format: "%.0f readings/s", r.perSecond)))
                table.append(("  \(latency) p50 / p99", String(format: "%.2f / %.2f ms", r.percentile(0.5), r.percentile(0.99))))
            }

            if wanted("ingest_tcp") {
                let r = try await withIngest(tls: false) { _, tcpPort in
                    try await PipelinedLineLoad.run(
                        host: "127.0.0.1", port: tcpPort, devices: Array(devices.prefix(100)), window: 16,
                        duration: .milliseconds(Int64(seconds * 1000)))
                }
                record("ingest_tcp", "ingest TCP (100 devices × 16 in flight)", latency: "ack latency", r)
            }
            if wanted("ingest_https") {
                let r = try await withIngest(tls: true) { httpPort, _ in
                    try await IngestLoad.https(
                        host: "localhost", port: httpPort, tls: tls, devices: Array(devices.suffix(200)),
                        duration: .milliseconds(Int64(seconds * 1000)))
                }
                record("ingest_https", "ingest HTTPS (200 devices, 1 reading per request)", latency: "ack latency", r)
            }
            if wanted("ingest_https_batch") {
                let r = try await withIngest(tls: true) { httpPort, _ in
                    try await IngestLoad.https(
                        host: "localhost", port: httpPort, tls: tls, devices: Array(devices.suffix(50)), batch: 50,
                        duration: .milliseconds(Int64(seconds * 1000)))
                }
                // Latency here is per request of 50, so it stays out of the per-reading ack p99.
                record(
                    "ingest_https_batch", "ingest HTTPS (50 devices, 50 readings per request)", latency: "request latency", r,
                    countLatency: false)
            }
            if !latencies.isEmpty {
                var all = IngestLoad.Result()
                all.latenciesMs = latencies
                results["ingest_ack_p99_ms"] = round2(all.percentile(0.99))
            }
            if let raw = results["raw_confirm_per_s"] as? Double {
                for key in ["ingest_tcp", "ingest_https", "ingest_https_batch"] {
                    if let v = results["\(key)_per_s"] as? Double {
                        results["\(key)_vs_raw"] = round2(v / raw)
                        table.append(("\(key.replacingOccurrences(of: "_", with: " ")) / raw confirms", String(format: "%.0f %%", 100 * v / raw)))
                    }
                }
            }
        }

        if wanted("analyzer_drain") {
            let f = try await AnalyzerDrainBench.run(amqpURL: amqpURL, adminURL: databaseURL, tag: suffix, logger: logger)
            results["raw_insert_per_s"] = f.rawInsertPerSecond.rounded()
            results["analyzer_drain_per_s"] = f.drainPerSecond.rounded()
            results["analyzer_drain_vs_raw"] = round2(f.drainPerSecond / f.rawInsertPerSecond)
            table.append(("raw bulk insert (same rows, 1,000 per transaction)", String(format: "%.0f readings/s", f.rawInsertPerSecond)))
            table.append(("analyzer drain (pre-filled queue to committed rows)", String(format: "%.0f readings/s", f.drainPerSecond)))
            table.append(("analyzer drain / raw insert", String(format: "%.0f %%", 100 * f.drainPerSecond / f.rawInsertPerSecond)))
        }

        if wanted("detection") {
            let directory = env("BENCH_NAB_DIR") ?? "../shared/datasets/nab-dev"
            let f = try DetectionBench.run(directory: directory)
            let names = ["standard", "low_fp", "low_fn"]
            for (i, name) in names.enumerated() {
                results["detection_nab_\(name)"] = round2(f.incidents["ALL"]![i].normalised)
                results["detection_rule_nab_\(name)"] = round2(f.rule["ALL"]![i].normalised)
            }
            results["detection_incident_share"] = Double(f.opened) / Double(f.readings)
            results["detection_us_per_reading"] = round2(1e6 * f.detectionSeconds / Double(f.readings))
            results["detection_rule_us_per_reading"] = round2(1e6 * f.ruleSeconds / Double(f.readings))
            table.append((
                "detection: NAB score of incidents, standard / low FP / low FN (\(f.series) series, \(f.windows) windows)",
                ""
            ))
            for (category, scores) in f.incidents.sorted(by: { $0.key < $1.key }) {
                let rule = f.rule[category]!
                guard scores[0].perfect != scores[0].null else {
                    table.append(("  \(category)", "no windows: \(f.openedIn[category] ?? 0) incidents, all false"))
                    continue
                }
                table.append((
                    "  \(category)",
                    String(
                        format: "%.1f / %.1f / %.1f   (rule on every flagged reading: %.1f / %.1f / %.1f)",
                        scores[0].normalised, scores[1].normalised, scores[2].normalised,
                        rule[0].normalised, rule[1].normalised, rule[2].normalised)
                ))
            }
            table.append((
                "  readings opening an incident / flagged by the rule",
                String(
                    format: "%d of %d (%.3f %%) / %d (%.2f %%)", f.opened, f.readings, 100 * Double(f.opened) / Double(f.readings),
                    f.flagged, 100 * Double(f.flagged) / Double(f.readings))
            ))
            table.append((
                "  detection CPU per reading: rule and incidents / rule alone",
                String(
                    format: "%.2f / %.2f µs", 1e6 * f.detectionSeconds / Double(f.readings), 1e6 * f.ruleSeconds / Double(f.readings))
            ))
            // The demo's realistic signals, scored after a settled record (see SimulatedSignalsBench).
            let warmup = Int(IncidentRule.default.recordSpan + IncidentRule.default.recordBlock)
            let rate = simulatedAnomalyRate
            guard (0...1).contains(rate) else {
                throw BenchError("BENCH_SIM_RATE must be a probability")
            }
            let sim = SimulatedSignalsBench.run(devices: 100, warmup: warmup, scored: 2000, anomalyRate: rate, seed: 1)
            let score = sim.score
            table.append((
                "detection on the simulator's realistic signals (100 devices, anomaly rate \(rate), \(warmup) readings unscored, then 2,000)",
                ""
            ))
            for kind in InjectedAnomaly.Kind.allCases where kind.isValueAnomaly {
                guard let k = score.byKind[kind] else { continue }
                let causes = SimulatedSignalsBench.Cause.allCases.compactMap { c in
                    sim.missed[kind]?[c].map { "\($0) \(c.rawValue)" }
                }
                results["detection_sim_recall_\(kind.rawValue)"] = round2(k.recall ?? 0)
                table.append((
                    "  \(kind.rawValue) recall",
                    String(format: "%.3f (%d of %d)", k.recall ?? 0, k.found, k.episodes)
                        + (causes.isEmpty ? "" : "; missed: " + causes.joined(separator: ", "))
                ))
            }
            results["detection_sim_precision"] = round2(score.precision ?? 0)
            results["detection_sim_false_per_device_hour"] = round2(score.falsePerDeviceHour(interval: 10) ?? 0)
            table.append((
                "  incident precision, false incidents per device-hour",
                String(
                    format: "%.3f (%d of %d), %.2f", score.precision ?? 0, score.trueIncidents, score.incidents,
                    score.falsePerDeviceHour(interval: 10) ?? 0)
            ))
        }

        if wanted("alerts") {
            let f = try await AlertsQueryBench.run(
                adminURL: databaseURL, tag: suffix, clients: 8, duration: .milliseconds(Int64(seconds * 1000)), logger: logger)
            let all = f.all
            results["alerts_p50_ms"] = round2(AlertsQueryBench.Figures.percentile(all, 0.5))
            results["alerts_p99_ms"] = round2(AlertsQueryBench.Figures.percentile(all, 0.99))
            results["alerts_requests_per_s"] = (Double(all.count) / seconds).rounded()
            results["alerts_failed"] = f.failed
            table.append((
                "alerts /v1/anomalies, page of 100 (1M readings, 10k anomalies, 8 clients)",
                String(format: "%.0f requests/s", Double(all.count) / seconds)
            ))
            table.append((
                "  latency p50 / p99",
                String(
                    format: "%.2f / %.2f ms", AlertsQueryBench.Figures.percentile(all, 0.5),
                    AlertsQueryBench.Figures.percentile(all, 0.99))
            ))
            for kind in f.latenciesMs.keys.sorted() {
                let xs = f.latenciesMs[kind]!
                table.append(("    \(kind) p99", String(format: "%.2f ms", AlertsQueryBench.Figures.percentile(xs, 0.99))))
            }
            table.append(("  seeding the database", String(format: "%.0f s", f.seedSeconds)))
        }

        if wanted("e2e") {
            guard let binDir = env("BENCH_BIN"), let stackDir = env("STACK_DIR") else {
                throw BenchError("the e2e part needs BENCH_BIN and STACK_DIR (run it through `make bench`)")
            }
            let devices = endToEndDevices
            // BENCH_E2E_PACKING: both (the default: packed, then one message per reading, in this run), on or off.
            let modes: [Bool] =
                switch env("BENCH_E2E_PACKING") ?? "both" {
                case "on": [true]
                case "off": [false]
                default: [true, false]
                }
            var ramps: [EndToEndBench.Figures] = []
            for packing in modes {
                ramps.append(
                    try await EndToEndBench.run(
                        amqpURL: amqpURL, adminURL: databaseURL, binDir: binDir, stackDir: stackDir,
                        tag: suffix + (packing ? "" : "u"), devices: devices, seconds: seconds, packing: packing, logger: logger))
            }
            for f in ramps {
                let key = { (name: String) in f.packing ? name : name.replacingOccurrences(of: "e2e_", with: "e2e_unpacked_") }
                let best = f.best
                if f.packing {
                    results["e2e_sustained_per_s"] = best.map { $0.ackedPerSecond.rounded() } ?? 0
                    results["e2e_cpu_us_per_reading"] = best?.pipelineMicrosPerReading.map(round2)
                } else {
                    results["e2e_sustained_unpacked_per_s"] = best.map { $0.ackedPerSecond.rounded() } ?? 0
                }
                results[key("e2e_devices")] = f.steps.compactMap(\.connectedAtIngest).max() ?? 0
                results[key("e2e_ack_p99_ms")] = best?.ackP99Ms.map(round2)
                results[key("e2e_stored_p99_ms")] = best?.storedP99Ms.map { $0.rounded() }
                results[key("e2e_memory_mib")] = best?.memoryMiB
                results[key("e2e_steps")] = f.steps.map { s -> [String: Any] in
                    var o: [String: Any] = [
                        "offered_per_s": s.offered, "acked_per_s": s.ackedPerSecond.rounded(), "failed": s.failed,
                        "retries": s.retries, "sustained": s.sustained, "memory_mib": s.memoryMiB, "cpu_percent": s.cpuPercent,
                        "cpu_us_per_reading": s.cpuMicrosPerReading,
                    ]
                    if let v = s.ackP99Ms { o["ack_p99_ms"] = round2(v) }
                    if let v = s.storedP99Ms { o["stored_p99_ms"] = v.rounded() }
                    if let v = s.connectedAtIngest { o["connected"] = v }
                    if let v = s.readingsPerMessage { o["readings_per_message"] = round2(v) }
                    if !s.problems.isEmpty { o["problems"] = s.problems }
                    return o
                }
                let mode = f.packing ? "packed" : "one message per reading"
                table.append((
                    "end to end (\(mode)): \(devices) devices over TCP, acked and committed (highest sustained step)",
                    best.map { String(format: "%.0f readings/s", $0.ackedPerSecond) } ?? "no step sustained"
                ))
                if let best {
                    table.append((
                        "  p99 ack / p99 measured-to-committed",
                        String(format: "%.1f ms / %.0f ms", best.ackP99Ms ?? .nan, best.storedP99Ms ?? .nan)
                    ))
                    table.append(("  devices connected at ingest", "\(best.connectedAtIngest ?? 0)"))
                    table.append(("  readings per broker message", best.readingsPerMessage.map { String(format: "%.1f", $0) } ?? "-"))
                    let cpu = best.cpuMicrosPerReading.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value.rounded()))" }
                    table.append(("  CPU µs per reading", cpu.joined(separator: ", ")))
                    let memory = best.memoryMiB.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value.rounded()))" }
                    table.append(("  resident memory, MiB", memory.joined(separator: ", ")))
                }
                if let stop = f.steps.last, !stop.sustained {
                    table.append((
                        "  stopped at \(Int(stop.offered))/s offered", stop.problems.joined(separator: "; ")
                    ))
                }
            }
            // The broker's CPU per reading, packed and not, at the highest step both ramps sustained.
            if ramps.count == 2 {
                let (packed, unpacked) = (ramps[0], ramps[1])
                let common = packed.steps.filter(\.sustained).map(\.offered).filter { rate in
                    unpacked.steps.contains { $0.offered == rate && $0.sustained }
                }.max()
                if let rate = common, let p = packed.steps.last(where: { $0.offered == rate && $0.sustained }),
                    let u = unpacked.steps.last(where: { $0.offered == rate && $0.sustained })
                {
                    results["broker_cpu_us_per_reading"] = p.cpuMicrosPerReading["rabbitmq"].map(round2)
                    results["broker_cpu_us_per_reading_unpacked"] = u.cpuMicrosPerReading["rabbitmq"].map(round2)
                    results["e2e_compared_at_per_s"] = rate
                    table.append((
                        "  broker CPU µs per reading at \(Int(rate))/s, packed / not",
                        String(format: "%.1f / %.1f", p.cpuMicrosPerReading["rabbitmq"] ?? .nan, u.cpuMicrosPerReading["rabbitmq"] ?? .nan)
                    ))
                    table.append((
                        "  all services' CPU µs per reading at \(Int(rate))/s, packed / not",
                        String(format: "%.1f / %.1f", p.pipelineMicrosPerReading ?? .nan, u.pipelineMicrosPerReading ?? .nan)
                    ))
                }
            }
        }

        if wanted("hostile") {
            guard let binDir = env("BENCH_BIN"), let stackDir = env("STACK_DIR") else {
                throw BenchError("the hostile part needs BENCH_BIN and STACK_DIR (run it through `make bench`)")
            }
            let f = try await HostileBench.run(
                amqpURL: amqpURL, adminURL: databaseURL, binDir: binDir, stackDir: stackDir, cert: cert, key: key, tag: suffix,
                seconds: max(seconds, 20), logger: logger)
            results["hostile_device_ack_p99_ms"] = round2(f.attacked.devices.p99Ms)
            results["hostile_device_ack_p99_ms_generator_niced"] = round2(f.attackedNiced.devices.p99Ms)
            results["hostile_device_ack_p99_ms_baseline"] = round2(f.baseline.p99Ms)
            results["hostile_device_failures"] = f.attacked.devices.failures
            results["hostile_device_failures_generator_niced"] = f.attackedNiced.devices.failures
            results["hostile_device_failures_baseline"] = f.baseline.failures
            results["hostile_device_acks"] = f.attacked.devices.latenciesMs.count
            results["hostile_broker_probe_confirm_p99_ms"] = round2(f.attacked.devices.brokerP99Ms)
            results["hostile_broker_probe_confirm_p99_ms_generator_niced"] = round2(f.attackedNiced.devices.brokerP99Ms)
            results["hostile_broker_probe_confirm_p99_ms_baseline"] = round2(f.baseline.brokerP99Ms)
            results["hostile_ingest_peak_rss_mib"] = f.peakRSSMiB.rounded()
            results["hostile_ingest_peak_fds"] = f.peakDescriptors
            results["hostile_refused"] = f.refused
            results["hostile_cpu_cores_alone"] = f.cpuAlone.mapValues(round2)
            results["hostile_cpu_cores_attacked"] = f.attacked.cpu.mapValues(round2)
            results["hostile_cpu_cores_attacked_generator_niced"] = f.attackedNiced.cpu.mapValues(round2)
            results["hostile_attackers"] = f.attacked.attacks.map { a -> [String: Any] in
                [
                    "kind": a.kind, "connections": a.connections,
                    "lifetime_p50_s": round2(AlertsQueryBench.Figures.percentile(a.lifetimes, 0.5)),
                    "lifetime_max_s": round2(a.lifetimes.max() ?? 0),
                ]
            }
            table.append((
                "hostile: 100 devices' p99 ack, under attack / generator niced / alone",
                String(format: "%.1f ms / %.1f ms / %.1f ms", f.attacked.devices.p99Ms, f.attackedNiced.devices.p99Ms, f.baseline.p99Ms)
            ))
            table.append((
                "  device readings failed, under attack / generator niced / alone",
                "\(f.attacked.devices.failures) / \(f.attackedNiced.devices.failures) / \(f.baseline.failures)"
            ))
            table.append((
                "  a probe's own broker confirms p99, same three",
                String(
                    format: "%.1f ms / %.1f ms / %.1f ms", f.attacked.devices.brokerP99Ms, f.attackedNiced.devices.brokerP99Ms,
                    f.baseline.brokerP99Ms)
            ))
            table.append(("  ingest peak resident memory / open descriptors", String(format: "%.0f MiB / %d", f.peakRSSMiB, f.peakDescriptors)))
            let cores = { (used: [String: Double]) in
                used.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f", $0.key, $0.value) }.joined(separator: ", ")
            }
            table.append(("  CPU cores, under attack", cores(f.attacked.cpu)))
            table.append(("  CPU cores, generator niced", cores(f.attackedNiced.cpu)))
            for a in f.attacked.attacks {
                table.append((
                    "  \(a.kind): connections, lived p50 / max",
                    String(
                        format: "%d, %.1f s / %.1f s", a.connections, AlertsQueryBench.Figures.percentile(a.lifetimes, 0.5),
                        a.lifetimes.max() ?? 0)
                ))
            }
            table.append(("  refused by ingest", f.refused.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        }

        // Merge with earlier results, so a BENCH_ONLY run keeps the other parts.
        var merged = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output)))) as? [String: Any] ?? [:]
        for (k, v) in results { merged[k] = v }
        merged["machine"] = [
            "cores": ProcessInfo.processInfo.activeProcessorCount,
            "memory_gib": Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824,
        ]
        merged["when"] = ISO8601DateFormatter().string(from: Date())
        try JSONSerialization.data(withJSONObject: merged, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: output))

        let width = table.map(\.0.count).max() ?? 0
        print("")
        for (name, value) in table {
            print(name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + value)
        }
        print("\nwritten to \(output)")
    }

    static func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }
}
