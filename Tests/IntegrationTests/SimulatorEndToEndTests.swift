import Foundation
import Logging
import PipelineCore
import SQL
import SimulatorKit
import Storage
import Testing

/// The simulator against the real services: what it reports as acknowledged
/// is exactly what the database holds.
extension Integration {
@Suite struct SimulatorEndToEndTests {
    @Test func simulatedFleetIsStoredExactlyAsAcknowledged() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let ingest = try stack.ingest()
        try await stack.running(ingest.services + stack.analyzer().services, ready: ingest) {
            let config = SimulatorConfiguration(
                devices: 20, interval: .milliseconds(200),
                targets: [Target(kind: .tls, host: "127.0.0.1", port: stack.tcpPort), Target(kind: .https, host: "localhost", port: stack.httpPort)],
                duration: .seconds(2), anomalyRate: 0.1, seed: 7, devicePrefix: "sim-", seqStart: 1000,
                caFile: stack.certificate)
            let report = try await Simulator(configuration: config, logger: TestStack.logger).run()
            #expect(report.failed == 0)
            #expect(report.retries == 0)
            #expect(report.sent == report.acked)
            #expect(report.acked >= 20 * 8)
            #expect(!report.injected.isEmpty)
            #expect(Set(report.ackedPairs.map { "\($0.0):\($0.1)" }).count == report.acked)

            try await stack.eventually("every acknowledged reading stored") {
                try stack.count("SELECT count(*) FROM readings") == report.acked
            }
            let rows = try stack.db().execute("SELECT device_id, seq FROM readings").rows
            #expect(Set(rows.map { "\($0[0]!):\($0[1]!)" }) == Set(report.ackedPairs.map { "\($0.0):\($0.1)" }))

            // The report is the contract's JSON.
            let json = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
            for key in ["sent", "acked", "failed", "retries", "ack_latency_ms", "injected_anomalies", "acked_pairs"] {
                #expect(json[key] != nil, "report lacks \(key)")
            }
        }
    }

    /// The whole loop the score command closes: a fleet with history and injected
    /// anomalies through ingest and the analyzer, read back from the alerts API and
    /// scored against the ground truth.
    @Test func detectionFindsTheInjectedSpikesAndLevelShifts() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let ingest = try stack.ingest()
        try await stack.running(ingest.services + stack.analyzer().services + stack.alerts().services, ready: ingest) {
            let config = SimulatorConfiguration(
                devices: 12, interval: .milliseconds(100), targets: [Target(kind: .tls, host: "127.0.0.1", port: stack.tcpPort)],
                duration: .seconds(3), anomalyRate: 0.02, seed: 11, devicePrefix: "score-", seqStart: 1, caFile: stack.certificate,
                history: 200)
            let report = try await Simulator(configuration: config, logger: TestStack.logger).run()
            #expect(report.failed == 0)
            try await stack.eventually("every acknowledged reading stored") {
                try stack.count("SELECT count(*) FROM readings") == report.acked
            }
            let feed = try AnomalyFeed(url: "http://127.0.0.1:\(stack.alertsPort)")
            let flagged = try await feed.anomalies(detectedSince: report.startedAt)
            let score = DetectionScore(record: RunRecord(report), flagged: flagged, minHistory: 30)
            for kind in [InjectedAnomaly.Kind.spike, .levelShift] {
                let x = try #require(score.byKind[kind], "\(score.text)")
                #expect(x.injected >= 10, "\(score.text)")
                #expect(try #require(x.precision) >= 0.95, "\(score.text)")
                #expect(try #require(x.recall) >= 0.95, "\(score.text)")
            }
            #expect(score.flaggedOnDropouts == 0)
            #expect(score.dropoutReadings > 0)
            #expect(!score.delaysMs.isEmpty, "live readings were detected too")
        }
    }

    @Test func migrationsAreSafeToRunTwice() throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let db = try stack.db()
        try Schema.migrate(db)
        try db.execute("INSERT INTO readings (device_id, seq, ts, metrics) VALUES ('d', 1, now(), '{}')")
        try Schema.migrate(db)
        #expect(try stack.count("SELECT count(*) FROM readings") == 1)
    }
}
}
