import Foundation
import SQL
import Storage
import SimulatorKit

extension ChaosRun {
    /// Waits until the analyzers have drained the queue, then compares every acknowledged
    /// (device, seq) with the database: missing, duplicated, stored without an ack, dead-lettered.
    func verify(_ run: SimulatorReport, into report: inout ChaosReport) async throws {
        let check = try LossCheck(db: try SQLConnection(databaseURL, applicationName: "chaos-verify"))
        try check.load(run.ackedPairs)

        // Drained: every acknowledged reading stored, and the broker holds nothing more.
        let drained = try await waitUntil(timeout: configuration.drainTimeout) {
            guard (try? check.missing()) == 0 else { return false }
            return (try? await self.queueDepth()) == 0
        }
        report.drainSeconds = drained.map { Double($0 / .milliseconds(1)) / 1000 }
        if drained == nil { report.problems.append("the queue was not drained within \(configuration.drainTimeout)") }

        report.missing = try check.missing()
        report.ackedStored = try check.acknowledged() - report.missing
        report.missingExamples = try check.missingExamples()
        report.duplicates = try check.duplicates()
        report.storedNotAcked = try check.storedNotAcknowledged()
        if let dead = try await queueDepth("\(queue).dead") {
            report.deadLettered = dead
        } else {
            report.problems.append("no node told how many messages were dead-lettered")
        }
    }

    /// Messages in a queue (ready and unacknowledged), asked of a running node; nil if none answered
    /// or the queue does not exist (the analyzers declare both queues).
    func queueDepth(_ name: String? = nil) async throws -> Int? {
        guard let cluster, let row = try? await cluster.queueRow(name ?? queue, ["messages"]) else { return nil }
        return row["messages"] as? Int
    }
}
