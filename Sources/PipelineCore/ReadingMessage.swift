/// The body of a broker message on the readings queue. Ingest packs the
/// readings waiting to be published into one message, in the format its
/// `x-pipeline-format` header names; a message without the header is one JSON
/// reading (what ingest published before packing, still accepted so that a
/// rolling upgrade loses nothing).
///
/// `readings.v1`: compact JSON readings (`ReadingCodec.encode`), one per line,
/// separated by a newline, with no newline after the last; a message of one
/// reading is that reading's JSON.
package enum ReadingMessage {
    /// The AMQP header that names a message's format.
    package static let formatHeader = "x-pipeline-format"
    /// Newline-delimited readings.
    package static let packed = "readings.v1"

    /// One reading of a message: its bytes (to dead-letter it alone) and what decoding them gave.
    package struct Entry: Sendable {
        package var bytes: [UInt8]
        package var reading: Result<Reading, ReadingError>
    }

    /// Joins encoded readings into the body of one `readings.v1` message.
    package static func pack(_ encoded: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(encoded.reduce(encoded.count) { $0 + $1.count })
        for (i, reading) in encoded.enumerated() {
            if i > 0 { body.append(UInt8(ascii: "\n")) }
            body.append(contentsOf: reading)
        }
        return body
    }

    /// The readings of a message, each decoded on its own, so that one bad reading
    /// does not spoil the others. Throws when the message as a whole cannot be read:
    /// a format this version does not know, or no reading at all.
    package static func unpack(_ body: [UInt8], format: String?) throws(ReadingError) -> [Entry] {
        switch format {
        case nil, "":
            return [Entry(bytes: body, reading: decode(body))]
        case packed?:
            let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            guard !lines.isEmpty else { throw ReadingError("a \(packed) message without readings") }
            return lines.map { line in
                let bytes = Array(line)
                return Entry(bytes: bytes, reading: decode(bytes))
            }
        case let other?:
            throw ReadingError("unknown message format '\(other.prefix(64))'")
        }
    }

    private static func decode(_ bytes: [UInt8]) -> Result<Reading, ReadingError> {
        do throws(ReadingError) {
            return .success(try ReadingCodec.decodeOne(bytes))
        } catch {
            return .failure(error)
        }
    }
}
