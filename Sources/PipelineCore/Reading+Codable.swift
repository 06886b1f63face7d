import Foundation

extension Reading: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case deviceID = "device_id"
        case seq, ts, metrics
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Strict decoding: unknown fields are refused and every field is checked
    /// against the contract, so nothing invalid is ever published.
    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        for key in all.allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            throw FieldError(message: "unknown field '\(key.stringValue.prefix(80))'", codingPath: decoder.codingPath)
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let deviceID = try c.decode(String.self, forKey: .deviceID)
        // Decoded as a Double so a fraction gets a clear message: every integer
        // up to 2^53 - 1 is exact in a Double, and larger ones fail the range check.
        let rawSeq = try c.decode(Double.self, forKey: .seq)
        guard rawSeq.isFinite, rawSeq == rawSeq.rounded(), rawSeq >= 0, rawSeq <= Double(ReadingLimits.maxSeq) else {
            throw FieldError(message: "seq must be an integer from 0 to 2^53-1", codingPath: decoder.codingPath)
        }
        let seq = Int64(rawSeq)
        let rawTS = try c.decode(String.self, forKey: .ts)
        let metrics = try c.decode([String: Double].self, forKey: .metrics)
        guard let ts = Timestamp.parse(rawTS) else {
            throw FieldError(message: "ts must be an RFC 3339 timestamp", codingPath: decoder.codingPath)
        }
        self.init(deviceID: deviceID, seq: seq, ts: ts.normalized, metrics: metrics)
        if let problem = Validation.problem(in: self) {
            throw FieldError(message: problem, codingPath: decoder.codingPath)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(deviceID, forKey: .deviceID)
        try c.encode(seq, forKey: .seq)
        try c.encode(ts, forKey: .ts)
        try c.encode(metrics, forKey: .metrics)
    }
}

/// A reading that is valid JSON but breaks the contract; carries the coding
/// path so an array body can report the index at fault.
struct FieldError: Error {
    var message: String
    var codingPath: [any CodingKey]
}
