import Foundation

/// What a chaos run proved: each fault with its evidence and the devices' view of
/// it, and the comparison of every acknowledged reading with the database.
public struct ChaosReport: Sendable, Codable {
    public var devices: Int
    public var intervalMs: Int
    /// Transports and processes the devices used.
    public var targets: [String]
    /// The broker the cluster ran, and from where ("RabbitMQ 4.0.5 root": Debian 13's, in its root filesystem).
    public var broker = ""
    /// The rabbitmq.conf lines the nodes ran with beyond the cluster's own.
    public var brokerSettings: [String] = []
    public var startedAt: Date
    public var seconds: Double
    /// Silences shorter than this are a device's normal rhythm and not recorded.
    public var gapThresholdMs: Int64
    public var faults: [FaultRecord] = []

    public var sent = 0
    public var acked = 0
    /// Readings the devices gave up on after 10 retries (allowed: the device knows, nothing was acknowledged).
    public var failed = 0
    public var retries = 0
    public var ackP50Ms: Double?
    public var ackP99Ms: Double?

    /// Acknowledged readings found in the database / not found (must be 0).
    public var ackedStored = 0
    public var missing = 0
    public var missingExamples: [String] = []
    /// Rows of one (device_id, seq) beyond the first, in readings and anomalies (must be 0).
    public var duplicates = 0
    /// Readings in the database that no device saw acknowledged (published, then the ack was lost with a fault).
    public var storedNotAcked = 0
    public var deadLettered = 0
    /// Seconds from the devices stopping until every acknowledged reading was in the database.
    public var drainSeconds: Double?
    /// Processes of the run still alive after it stopped them (must be empty).
    public var leftRunning: [String] = []
    /// Why the run failed; empty when it passed.
    public var problems: [String] = [] { didSet { passed = problems.isEmpty } }
    /// No problem: nothing lost, nothing duplicated, every fault took effect.
    public private(set) var passed = true

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var data = try encoder.encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}
