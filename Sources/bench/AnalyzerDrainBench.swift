import AMQPClient
import Analyzer
import ChaosKit
import Foundation
import Logging
import PipelineCore
import ServiceLifecycle
import ServiceSupport
import SQL
import Storage

/// The analyzer's drain rate (a pre-filled queue to committed rows) beside a
/// bulk insert of the same rows into the same database, in the same run.
enum AnalyzerDrainBench {
    struct Figures {
        var rawInsertPerSecond: Double
        var drainPerSecond: Double
    }

    static func readings(devices: Int, perDevice: Int, tag: String) -> [Reading] {
        (0..<perDevice).flatMap { seq in
            (0..<devices).map { d -> Reading in
                let heart: Double = 60 + Double((seq * 7 + d) % 30)
                let spo2: Double = 95 + Double((seq + d) % 5) * 0.5
                return Reading(
                    deviceID: "drain-\(tag)-\(d)", seq: Int64(seq), ts: "2026-11-25T08:00:00.250Z",
                    metrics: ["heart_rate": heart, "spo2": spo2])
            }
        }
    }

    static func run(amqpURL: String, adminURL: String, tag: String, logger: Logger) async throws -> Figures {
        let readings = readings(devices: 500, perDevice: 100, tag: tag)

        // The same rows, bulk-inserted the way the analyzer inserts them (multi-row INSERTs, 1,000 per transaction).
        let rawDB = try createDatabase(adminURL, "bench_raw_\(tag)")
        let raw = try SQLConnection(rawDB)
        try Schema.migrate(raw)
        let items = readings.map { IncomingReading(reading: $0, acceptedAtMs: nil) }
        let rawStart = ContinuousClock.now
        for chunk in stride(from: 0, to: items.count, by: 1000).map({ Array(items[$0..<min($0 + 1000, items.count)]) }) {
            _ = try raw.transaction { try ReadingStore.insert(chunk, on: $0) }
        }
        let rawRate = Double(items.count) / ((ContinuousClock.now - rawStart) / .seconds(1))

        // The analyzer draining a queue pre-filled with the same readings into another database.
        let drainDB = try createDatabase(adminURL, "bench_drain_\(tag)")
        try Schema.migrate(try SQLConnection(drainDB))
        let amqp = AMQPConfiguration(urls: AMQPConfiguration.urls(from: amqpURL), queue: "bench-drain-\(tag)")
        let publisher = ConfirmPublisher(configuration: amqp, logger: logger)
        publisher.start()
        for chunk in stride(from: 0, to: readings.count, by: 5000).map({ readings[$0..<min($0 + 5000, readings.count)] }) {
            try await publisher.publish(
                chunk.map { OutgoingMessage(body: ReadingCodec.encode($0), messageID: $0.messageID, acceptedAtMs: 0) })
        }
        await publisher.shutdown()

        let analyzer = AnalyzerService(
            configuration: .init(amqp: amqp, databaseURL: drainDB), host: "127.0.0.1",
            port: try FreePort.pick(), logger: logger)
        let group = ServiceGroup(configuration: .init(services: analyzer.services.map { .init(service: $0) }, logger: logger))
        let check = try SQLConnection(drainDB)
        let start = ContinuousClock.now
        let running = Task { try await group.run() }
        while true {
            let n = Int(try check.execute("SELECT count(*) FROM readings").rows.first?.first.flatMap { $0 } ?? "0") ?? 0
            if n >= readings.count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let drainRate = Double(readings.count) / ((ContinuousClock.now - start) / .seconds(1))
        await group.triggerGracefulShutdown()
        try? await running.value
        RawConfirmBench.deleteQueues(url: amqpURL, [amqp.queue, amqp.deadLetterQueue])
        let admin = try SQLConnection(adminURL)
        for db in ["bench_raw_\(tag)", "bench_drain_\(tag)"] {
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(db) WITH (FORCE)")
        }
        return Figures(rawInsertPerSecond: rawRate, drainPerSecond: drainRate)
    }

    /// Creates a database next to the one in `adminURL` and returns its URL.
    static func createDatabase(_ adminURL: String, _ name: String) throws -> String {
        try BenchDatabase(adminURL: adminURL, name: name).url
    }
}
