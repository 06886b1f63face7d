import Foundation

/// The one place that defines the wire format of readings: ingest, analyzer,
/// simulator and tests all go through it.
public enum ReadingCodec {
    /// Decodes an HTTP body: one reading or an array of 1–1000. The whole body
    /// is validated; the first problem is reported with the index at fault.
    public static func decodeBody(_ data: Data) throws(ReadingError) -> [Reading] {
        guard let first = data.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else {
            throw ReadingError("empty body")
        }
        if first == UInt8(ascii: "[") {
            let readings: [Reading]
            do {
                readings = try JSONDecoder().decode([Reading].self, from: data)
            } catch {
                throw readingError(error, inArray: true)
            }
            guard (1...ReadingLimits.maxBatch).contains(readings.count) else {
                throw ReadingError("an array must hold 1-\(ReadingLimits.maxBatch) readings")
            }
            return readings
        }
        return [try decodeOne(data)]
    }

    /// Decodes exactly one reading (a TCP line, or an AMQP message body).
    public static func decodeOne(_ data: Data) throws(ReadingError) -> Reading {
        do {
            return try JSONDecoder().decode(Reading.self, from: data)
        } catch {
            throw readingError(error, inArray: false)
        }
    }

    /// Encodes a reading as compact JSON with sorted metric names.
    public static func encode(_ r: Reading) -> [UInt8] {
        var out = "{\"device_id\":\"\(r.deviceID)\",\"seq\":\(r.seq),\"ts\":\"\(r.ts)\",\"metrics\":{"
        var firstMetric = true
        for name in r.metrics.keys.sorted() {
            if !firstMetric { out += "," }
            firstMetric = false
            out += "\"\(name)\":\(jsonNumber(r.metrics[name]!))"
        }
        out += "}}"
        return Array(out.utf8)
    }

    /// A finite Double as a JSON number (Swift's shortest round-trip form is valid JSON).
    public static func jsonNumber(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return v.description
    }

    static func readingError(_ error: any Error, inArray: Bool) -> ReadingError {
        if let field = error as? FieldError {
            return ReadingError(field.message, index: inArray ? field.codingPath.first?.intValue : nil)
        }
        guard let error = error as? DecodingError else { return ReadingError("invalid JSON") }
        let path: [any CodingKey]
        let message: String
        switch error {
        case .dataCorrupted(let ctx):
            path = ctx.codingPath
            let field = ctx.codingPath.filter { $0.intValue == nil }.map(\.stringValue)
            message = field.first == "metrics" ? "metric values must be finite numbers"
                : field == ["seq"] ? "seq must be an integer from 0 to 2^53-1"
                : field.isEmpty ? "invalid JSON" : "field '\(field.joined(separator: "."))' is invalid"
        case .keyNotFound(let key, let ctx):
            path = ctx.codingPath
            message = "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            path = ctx.codingPath
            let field = ctx.codingPath.filter { $0.intValue == nil }.map(\.stringValue).joined(separator: ".")
            message = field == "seq" ? "seq must be an integer from 0 to 2^53-1"
                : field.isEmpty ? "expected a JSON object" : "field '\(field)' has the wrong type"
        @unknown default:
            return ReadingError("invalid JSON")
        }
        let index = inArray ? path.first?.intValue : nil
        return ReadingError(message, index: index)
    }
}
