package import Foundation

/// A line a device sends on the TCP protocol: an optional first `{"auth":"…"}`
/// line, then readings.
package enum LineRequest: Sendable, Equatable {
    case auth(token: String)
    case reading(Reading)

    /// Parses one line. On failure, `LineRequestError` says whether the line was
    /// JSON at all, and carries the `seq` when one could be read, for the nack.
    package static func parse(_ line: some ContiguousBytes) -> Result<LineRequest, LineRequestError> {
        let token: String? = line.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard looksLikeAuth(bytes) else { return nil }
            var parser = ReadingParser(bytes)
            return parser.parseAuth()
        }
        if let token { return .success(.auth(token: token)) }
        do throws(ReadingError) {
            return .success(.reading(try ReadingCodec.decodeOne(line)))
        } catch {
            return .failure(LineRequestError(message: error.message, isJSON: error.isJSON, seq: error.seq))
        }
    }

    /// `{` then optional blanks then `"auth"`: cheap, so reading lines are parsed once.
    static func looksLikeAuth(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = line.startIndex
        func skipBlanks() { while i < line.endIndex, line[i] == 0x20 || line[i] == 0x09 { i += 1 } }
        skipBlanks()
        guard i < line.endIndex, line[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipBlanks()
        return line[i...].starts(with: Array(#""auth""#.utf8))
    }
}

/// Why a TCP line was refused.
package struct LineRequestError: Error, Sendable, Equatable {
    package var message: String
    /// False when the line was not JSON: the reply is an error line, not a nack.
    package var isJSON: Bool
    package var seq: Int64?

    package var reply: LineReply {
        isJSON ? .nack(seq: seq, error: message) : .error(message)
    }
}
