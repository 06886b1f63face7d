/// A message for the readings queue: with packing, one reading of a message.
package struct OutgoingMessage: Sendable {
    package var body: [UInt8]
    /// `device_id:seq` of the reading; the broker message's id when published without packing.
    package var messageID: String
    /// When ingest accepted the reading, stamped so the analyzer can measure end-to-end latency.
    package var acceptedAtMs: Int64

    package init(body: [UInt8], messageID: String, acceptedAtMs: Int64) {
        self.body = body
        self.messageID = messageID
        self.acceptedAtMs = acceptedAtMs
    }
}
