import Foundation

/// A line a device sends on the TCP protocol: an optional first `{"auth":"…"}`
/// line, then readings.
public enum LineRequest: Sendable, Equatable {
    case auth(token: String)
    case reading(Reading)

    struct AuthLine: Decodable { var auth: String }
    struct SeqOnly: Decodable { var seq: Int64? }

    /// Parses one line. On failure, `LineRequestError` says whether the line was
    /// JSON at all, and carries the `seq` when one could be read, for the nack.
    public static func parse(_ line: Data) -> Result<LineRequest, LineRequestError> {
        if let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }), first == UInt8(ascii: "{"),
            line.count < 4096, let auth = try? JSONDecoder().decode(AuthLine.self, from: line),
            (try? JSONSerialization.jsonObject(with: line) as? [String: Any])?.count == 1
        {
            return .success(.auth(token: auth.auth))
        }
        do {
            return .success(.reading(try ReadingCodec.decodeOne(line)))
        } catch {
            if error.message == "invalid JSON" { return .failure(LineRequestError(message: error.message, isJSON: false, seq: nil)) }
            let seq = (try? JSONDecoder().decode(SeqOnly.self, from: line))?.seq
            return .failure(LineRequestError(message: error.message, isJSON: true, seq: seq))
        }
    }
}

/// Why a TCP line was refused.
public struct LineRequestError: Error, Sendable, Equatable {
    public var message: String
    /// False when the line was not JSON: the reply is an error line, not a nack.
    public var isJSON: Bool
    public var seq: Int64?

    public var reply: LineReply {
        isJSON ? .nack(seq: seq, error: message) : .error(message)
    }
}
