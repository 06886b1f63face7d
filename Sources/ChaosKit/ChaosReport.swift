package import Foundation

/// What a chaos run proved: each fault with its evidence and the devices' view of
/// it, and the comparison of every acknowledged reading with the database.
package struct ChaosReport: Sendable, Codable {
    package var devices: Int
    package var intervalMs: Int
    /// Transports and processes the devices used.
    package var targets: [String]
    /// The broker the cluster ran, and from where ("RabbitMQ 4.0.5 root": Debian 13's, in its root filesystem).
    package var broker = ""
    /// The rabbitmq.conf lines the nodes ran with beyond the cluster's own.
    package var brokerSettings: [String] = []
    package var startedAt: Date
    package var seconds: Double
    /// Silences shorter than this are a device's normal rhythm and not recorded.
    package var gapThresholdMs: Int64
    package var faults: [FaultRecord] = []

    package var sent = 0
    package var acked = 0
    /// Readings the devices gave up on after 10 retries (allowed: the device knows, nothing was acknowledged).
    package var failed = 0
    package var retries = 0
    package var ackP50Ms: Double?
    package var ackP99Ms: Double?

    /// Acknowledged readings found in the database / not found (must be 0).
    package var ackedStored = 0
    package var missing = 0
    package var missingExamples: [String] = []
    /// Rows of one (device_id, seq) beyond the first, in readings and anomalies (must be 0).
    package var duplicates = 0
    /// Readings in the database that no device saw acknowledged (published, then the ack was lost with a fault).
    package var storedNotAcked = 0
    package var deadLettered = 0
    /// Seconds from the devices stopping until every acknowledged reading was in the database.
    package var drainSeconds: Double?
    /// Processes of the run still alive after it stopped them (must be empty).
    package var leftRunning: [String] = []
    /// Why the run failed; empty when it passed.
    package var problems: [String] = [] { didSet { passed = problems.isEmpty } }
    /// No problem: nothing lost, nothing duplicated, every fault took effect.
    package private(set) var passed = true

    package func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var data = try encoder.encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}
