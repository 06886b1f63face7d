/// Replies on the TCP line protocol, one JSON object per line, shared by the
/// ingest server and the simulator so both ends agree on the format.
package enum LineReply: Sendable, Equatable {
    case ack(seq: Int64)
    case nack(seq: Int64?, error: String, retryAfter: Int? = nil)
    case error(String)
    case authOK
    /// The reply to a failed `{"auth":…}` line; the server closes afterwards.
    package static let unauthorized = LineReply.error("unauthorized")

    package var line: String {
        switch self {
        case .ack(let seq): return "{\"ack\":\(seq)}\n"
        case .nack(let seq, let error, let retryAfter):
            let retry = retryAfter.map { ",\"retry_after\":\($0)" } ?? ""
            return "{\"nack\":\(seq.map(String.init) ?? "null"),\"error\":\(jsonString(error))\(retry)}\n"
        case .error(let message): return "{\"error\":\(jsonString(message))}\n"
        case .authOK: return "{\"ok\":true}\n"
        }
    }
}

/// Escapes a string as a JSON string literal.
package func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
