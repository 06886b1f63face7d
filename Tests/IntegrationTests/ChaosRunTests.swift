@testable import ChaosKit
import Foundation
import SQL
@testable import SimulatorKit
import Storage
import Testing

/// `make chaos` in small: the short schedule against the real pipeline processes,
/// and the loss check shown to catch a reading that is not in the database.
extension Integration {
    @Suite struct ChaosRunTests {
        @Test func lossCheckFindsAcknowledgedReadingsThatAreNotStored() throws {
            let stack = try TestStack.make()
            let db = try SQLConnection(stack.databaseURL)
            try Schema.migrate(db)
            for seq in [1, 2, 3, 9] {
                try db.execute(
                    "INSERT INTO readings (device_id, seq, ts, metrics) VALUES ('dev-1', $1, now(), '{\"pulse\": 70}')", ["\(seq)"])
            }
            let check = try LossCheck(db: db)
            try check.load([("dev-1", 1), ("dev-1", 2), ("dev-1", 3), ("dev-1", 4), ("dev-2", 1), ("dev-1", 2)])
            #expect(try check.acknowledged() == 5, "a pair acknowledged twice counts once")
            #expect(try check.missing() == 2)
            #expect(try check.missingExamples() == ["dev-1:4", "dev-2:1"])
            #expect(try check.storedNotAcknowledged() == 1, "dev-1:9 was stored without an ack")
            #expect(try check.duplicates() == 0)
        }

        /// `pipeline verify`, the demo's loss check, on the same check: a missing reading fails it and is named.
        @Test func verifyCommandNamesAMissingReadingAndFails() throws {
            let stack = try TestStack.make()
            let db = try SQLConnection(stack.databaseURL)
            try Schema.migrate(db)
            for seq in [1, 2] {
                try db.execute(
                    "INSERT INTO readings (device_id, seq, ts, metrics) VALUES ('dev-v', $1, now(), '{\"pulse\": 70}')", ["\(seq)"])
            }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("acked-\(UUID().uuidString).csv").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            var env = ProcessInfo.processInfo.environment
            env["DATABASE_URL"] = stack.databaseURL
            func verify(_ lines: String) throws -> (status: Int32, output: String) {
                try lines.write(toFile: file, atomically: true, encoding: .utf8)
                return try TestStack.run(TestStack.pipelineBinary, ["verify", "--acked", file], environment: env, withErrors: true)
            }
            let complete = try verify("dev-v,1\ndev-v,2\n")
            #expect(complete.status == 0, "\(complete.output)")
            #expect(complete.output.contains("2 of them  (all stored)"), "\(complete.output)")
            let short = try verify("dev-v,1\ndev-v,2\ndev-v,3\n")
            #expect(short.status == 1, "\(short.output)")
            #expect(short.output.contains("MISSING 1, e.g. dev-v:3"), "\(short.output)")
            let bad = try verify("dev-v;1\n")
            #expect(bad.status == 64 && bad.output.contains(":1: expected device_id,seq"), "\(bad.output)")
            #expect(try stack.count("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'verify_acked_%'") == 0, "its table is dropped")
        }

        @Test func aGapCountsForTheFaultDuringWhichItEnded() {
            let records = [
                FaultRecord(fault: .databaseReadOnly, target: "postgresql", at: 10),
                FaultRecord(fault: .nodePause, target: "rabbit node 1", at: 40),
            ]
            let gaps = [
                AckGap(device: 1, fromMs: 12_000, toMs: 15_000),  // during the read-only window
                AckGap(device: 2, fromMs: 39_900, toMs: 52_000),  // began just before the pause: the pause's
                AckGap(device: 3, fromMs: 41_000, toMs: 50_000),
            ]
            let out = ChaosRun.attributeGaps(gaps, to: records) { "d\($0)" }
            #expect(out[0].devicesWithGaps == 1)
            #expect(out[0].longestGapMs == 3_000)
            #expect(out[1].devicesWithGaps == 2)
            #expect(out[1].longestGapMs == 12_100)
            #expect(out[1].longestGapDevice == "d2")
        }

        @Test func shortScheduleLosesNothingAndEveryFaultTakesEffect() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chaos-test-\(UUID().uuidString.prefix(8))").path
            let configuration = ChaosConfiguration.short(
                pipelineBinary: try Self.pipelineBinary(), scripts: TestStack.root + "/scripts", directory: directory)
            let report = try await ChaosRun(configuration: configuration, logger: TestStack.logger).run()
            #expect(report.passed, "\(report.text)\nlogs: \(directory)")
            #expect(report.faults.map(\.fault) == configuration.faults)
            for fault in report.faults { #expect(fault.tookEffect, "\(fault.fault.rawValue): \(fault.evidence)") }
            #expect(report.acked > 0)
            #expect(report.missing == 0)
            #expect(report.duplicates == 0)
            #expect(report.ackedStored == report.acked)
            #expect(report.leftRunning.isEmpty)
            #expect(report.faults.first { $0.fault == .ingestKill }.map { $0.retries > 0 } == true, "devices of the killed ingest retried")
            if report.passed { try? FileManager.default.removeItem(atPath: directory) }
        }

        /// The `pipeline` executable of this build: `PIPELINE_BIN`, else beside the test bundle.
        static func pipelineBinary() throws -> String {
            if let path = ProcessInfo.processInfo.environment["PIPELINE_BIN"], !path.isEmpty { return path }
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("pipeline").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
            throw TestStack.StackError("no pipeline executable found: set PIPELINE_BIN (make test does)")
        }
    }
}
