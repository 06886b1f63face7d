/// One measurement from one device: the unit that travels from device to database.
///
/// `(deviceID, seq)` is the idempotency key all the way to the database, so a
/// device that retries a reading can never create a second row.
public struct Reading: Sendable, Hashable {
    public var deviceID: String
    public var seq: Int64
    /// RFC 3339 timestamp as the device sent it, normalised to upper-case `T` and `Z`.
    public var ts: String
    /// Metric name to value; names are `[a-z0-9_]{1,64}`, values finite.
    public var metrics: [String: Double]

    public init(deviceID: String, seq: Int64, ts: String, metrics: [String: Double]) {
        self.deviceID = deviceID
        self.seq = seq
        self.ts = ts
        self.metrics = metrics
    }

    /// The AMQP message id, `device_id:seq`.
    public var messageID: String { "\(deviceID):\(seq)" }
}

/// Limits of the wire format, from the contract.
public enum ReadingLimits {
    public static let maxDeviceIDLength = 64
    public static let maxMetricNameLength = 64
    public static let maxMetrics = 32
    public static let maxSeq: Int64 = (1 << 53) - 1
    public static let maxBatch = 1000
    public static let maxBodyBytes = 1 << 20
    public static let maxLineBytes = 64 * 1024
    /// The TCP auth line (`{"auth":"<token>"}`; a token is at most 256 bytes).
    public static let maxAuthLineBytes = 1024
}
