import AMQPClient
import ChaosKit
import DeviceAuth
import Foundation
import Ingest
import NIOSSL
import ServiceLifecycle
import SQL
import Storage

extension Bench {
    /// The ingest phases (raw confirms, TCP, HTTPS, HTTPS batches) and their ratio to raw broker confirms.
    static func ingest(_ report: inout BenchReport, _ context: BenchContext) async throws {
        let (amqpURL, databaseURL, seconds, suffix, logger) = (context.amqpURL, context.databaseURL, context.seconds, context.suffix, context.logger)
        let (cert, key, sample) = (context.cert, context.key, context.sample)
        let ingestParts = ["ingest_tcp", "ingest_https", "ingest_https_batch"]
        if context.wanted("raw_confirm") || ingestParts.contains(where: context.wanted) {
            let queue = "bench-raw-\(suffix)"
            let rate = try RawConfirmBench.run(url: amqpURL, queue: queue, messages: 100_000, window: 1000, body: sample)
            RawConfirmBench.deleteQueues(url: amqpURL, [queue, queue + ".dead"])
            report.results["raw_confirm_per_s"] = rate.rounded()
            report.table.append(("raw confirms (1 connection, window 1000)", String(format: "%.0f msg/s", rate)))
        }

        if ingestParts.contains(where: context.wanted) {
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
                report.results["\(key)_per_s"] = r.perSecond.rounded()
                report.results["\(key)_p50_ms"] = round2(r.percentile(0.5))
                report.results["\(key)_p99_ms"] = round2(r.percentile(0.99))
                report.results["\(key)_failed"] = r.failed
                if countLatency { latencies += r.latenciesMs }
                report.table.append((label, String(format: "%.0f readings/s", r.perSecond)))
                report.table.append(("  \(latency) p50 / p99", String(format: "%.2f / %.2f ms", r.percentile(0.5), r.percentile(0.99))))
            }

            if context.wanted("ingest_tcp") {
                let r = try await withIngest(tls: false) { _, tcpPort in
                    try await PipelinedLineLoad.run(
                        host: "127.0.0.1", port: tcpPort, devices: Array(devices.prefix(100)), window: 16,
                        duration: .milliseconds(Int64(seconds * 1000)))
                }
                record("ingest_tcp", "ingest TCP (100 devices × 16 in flight)", latency: "ack latency", r)
            }
            if context.wanted("ingest_https") {
                let r = try await withIngest(tls: true) { httpPort, _ in
                    try await IngestLoad.https(
                        host: "localhost", port: httpPort, tls: tls, devices: Array(devices.suffix(200)),
                        duration: .milliseconds(Int64(seconds * 1000)))
                }
                record("ingest_https", "ingest HTTPS (200 devices, 1 reading per request)", latency: "ack latency", r)
            }
            if context.wanted("ingest_https_batch") {
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
                report.results["ingest_ack_p99_ms"] = round2(all.percentile(0.99))
            }
            if let raw = report.results["raw_confirm_per_s"] as? Double {
                for key in ["ingest_tcp", "ingest_https", "ingest_https_batch"] {
                    if let v = report.results["\(key)_per_s"] as? Double {
                        report.results["\(key)_vs_raw"] = round2(v / raw)
                        report.table.append(("\(key.replacingOccurrences(of: "_", with: " ")) / raw confirms", String(format: "%.0f %%", 100 * v / raw)))
                    }
                }
            }
        }
    }
}
