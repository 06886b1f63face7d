/// One measurement from one device: the unit that travels from device to database.
///
/// `(deviceID, seq)` is the idempotency key all the way to the database, so a
/// device that retries a reading can never create a second row.
package struct Reading: Sendable, Hashable {
    package var deviceID: String
    package var seq: Int64
    /// RFC 3339 timestamp as the device sent it, normalised to upper-case `T` and `Z`.
    package var ts: String
    /// Metric name to value; names are `[a-z0-9_]{1,64}`, values finite.
    package var metrics: [String: Double]

    package init(deviceID: String, seq: Int64, ts: String, metrics: [String: Double]) {
        self.deviceID = deviceID
        self.seq = seq
        self.ts = ts
        self.metrics = metrics
    }

    /// The AMQP message id, `device_id:seq`.
    package var messageID: String { "\(deviceID):\(seq)" }
}

/// Limits of the wire format, from the contract.
package enum ReadingLimits {
    package static let maxDeviceIDLength = 64
    package static let maxMetricNameLength = 64
    package static let maxMetrics = 32
    package static let maxSeq: Int64 = (1 << 53) - 1
    package static let maxBatch = 1000
    package static let maxBodyBytes = 1 << 20
    package static let maxLineBytes = 64 * 1024
    /// The TCP auth line (`{"auth":"<token>"}`; a token is at most 256 bytes).
    package static let maxAuthLineBytes = 1024
}
