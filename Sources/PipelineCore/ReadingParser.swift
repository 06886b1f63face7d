/// A strict, allocation-light JSON reader for exactly the reading format.
///
/// Why not `JSONDecoder`: it was the largest single cost of ingest (a generic
/// tree, then Codable on top), and it could not tell a fractional `seq` from
/// broken JSON. This reader checks the contract while it scans, so one pass
/// both parses and validates, and each error says what is wrong.
struct ReadingParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    /// The `seq` of the reading being parsed, once read (for a nack that names it).
    private(set) var seq: Int64?

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    struct Failure: Error {
        var message: String
        /// True when the input is not JSON at all (rather than a reading that breaks the contract).
        var syntax: Bool
    }

    static func syntaxError() -> Failure { Failure(message: "invalid JSON", syntax: true) }
    static func invalid(_ message: String) -> Failure { Failure(message: message, syntax: false) }

    // MARK: - Entry points

    /// One reading and nothing else.
    mutating func parseSingle() throws(Failure) -> Reading {
        skipSpace()
        let r = try parseReading()
        skipSpace()
        guard i == bytes.count else { throw Self.syntaxError() }
        return r
    }

    /// `[reading, …]`; on failure the index of the reading at fault.
    mutating func parseArray() throws(ArrayFailure) -> [Reading] {
        skipSpace()
        guard peek() == UInt8(ascii: "[") else { throw ArrayFailure(failure: Self.syntaxError(), index: nil) }
        i += 1
        var readings: [Reading] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            i += 1
        } else {
            while true {
                skipSpace()
                do {
                    readings.append(try parseReading())
                } catch {
                    throw ArrayFailure(failure: error, index: error.syntax ? nil : readings.count)
                }
                skipSpace()
                guard let c = peek() else { throw ArrayFailure(failure: Self.syntaxError(), index: nil) }
                i += 1
                if c == UInt8(ascii: "]") { break }
                guard c == UInt8(ascii: ",") else { throw ArrayFailure(failure: Self.syntaxError(), index: nil) }
                if readings.count >= ReadingLimits.maxBatch {
                    throw ArrayFailure(failure: Self.invalid("an array must hold 1-\(ReadingLimits.maxBatch) readings"), index: nil)
                }
            }
        }
        skipSpace()
        guard i == bytes.count else { throw ArrayFailure(failure: Self.syntaxError(), index: nil) }
        return readings
    }

    struct ArrayFailure: Error {
        var failure: Failure
        var index: Int?
    }

    /// `{"auth":"<token>"}` and nothing else; nil for any other line.
    mutating func parseAuth() -> String? {
        skipSpace()
        guard peek() == UInt8(ascii: "{") else { return nil }
        i += 1
        skipSpace()
        guard let key = try? parseString(), key == "auth" else { return nil }
        skipSpace()
        guard peek() == UInt8(ascii: ":") else { return nil }
        i += 1
        skipSpace()
        guard let token = try? parseString() else { return nil }
        skipSpace()
        guard peek() == UInt8(ascii: "}") else { return nil }
        i += 1
        skipSpace()
        return i == bytes.count ? token : nil
    }

    // MARK: - The reading object

    private mutating func parseReading() throws(Failure) -> Reading {
        seq = nil
        guard let open = peek() else { throw Self.syntaxError() }
        guard open == UInt8(ascii: "{") else {
            // Valid JSON of another shape is a contract error; anything else is a syntax error.
            if [UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                UInt8(ascii: "-")].contains(open) || (open >= 0x30 && open <= 0x39)
            {
                try skipValue()
                throw Self.invalid("expected a JSON object")
            }
            throw Self.syntaxError()
        }
        i += 1
        var deviceID: String?
        var rawTS: String?
        var metrics: [String: Double]?
        var sawSeq = false
        var first = true
        while true {
            skipSpace()
            if peek() == UInt8(ascii: "}") && first {
                i += 1
                break
            }
            let key = try parseString()
            skipSpace()
            guard peek() == UInt8(ascii: ":") else { throw Self.syntaxError() }
            i += 1
            skipSpace()
            switch key {
            case "device_id":
                guard deviceID == nil else { throw Self.invalid("duplicate field 'device_id'") }
                deviceID = try parseStringField("device_id")
            case "seq":
                guard !sawSeq else { throw Self.invalid("duplicate field 'seq'") }
                sawSeq = true
                seq = try parseSeq()
            case "ts":
                guard rawTS == nil else { throw Self.invalid("duplicate field 'ts'") }
                rawTS = try parseStringField("ts")
            case "metrics":
                guard metrics == nil else { throw Self.invalid("duplicate field 'metrics'") }
                metrics = try parseMetrics()
            default:
                try skipValue()
                throw Self.invalid("unknown field '\(key.prefix(80))'")
            }
            first = false
            skipSpace()
            guard let c = peek() else { throw Self.syntaxError() }
            i += 1
            if c == UInt8(ascii: "}") { break }
            guard c == UInt8(ascii: ",") else { throw Self.syntaxError() }
        }
        guard let deviceID else { throw Self.invalid("missing field 'device_id'") }
        guard let seq else { throw Self.invalid("missing field 'seq'") }
        guard let rawTS else { throw Self.invalid("missing field 'ts'") }
        guard let metrics else { throw Self.invalid("missing field 'metrics'") }
        guard let ts = Timestamp.parse(rawTS) else { throw Self.invalid("ts must be an RFC 3339 timestamp") }
        let reading = Reading(deviceID: deviceID, seq: seq, ts: ts.normalized, metrics: metrics)
        if let problem = Validation.problem(in: reading) { throw Self.invalid(problem) }
        return reading
    }

    private mutating func parseStringField(_ name: String) throws(Failure) -> String {
        guard peek() == UInt8(ascii: "\"") else {
            try skipValue()
            throw Self.invalid("field '\(name)' has the wrong type")
        }
        return try parseString()
    }

    private mutating func parseSeq() throws(Failure) -> Int64 {
        guard let c = peek(), c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else {
            try skipValue()
            throw Self.invalid("seq must be an integer from 0 to 2^53-1")
        }
        let (text, isInteger) = try scanNumber()
        // Every integer up to 2^53 - 1 is exact in a Double, so "17.0" and "1e2" are fine too.
        let value: Double
        if isInteger, let v = Int64(text) {
            value = Double(v)
        } else if let v = Double(text) {
            value = v
        } else {
            throw Self.invalid("seq must be an integer from 0 to 2^53-1")
        }
        guard value.isFinite, value == value.rounded(), value >= 0, value <= Double(ReadingLimits.maxSeq) else {
            throw Self.invalid("seq must be an integer from 0 to 2^53-1")
        }
        return Int64(value)
    }

    private mutating func parseMetrics() throws(Failure) -> [String: Double] {
        guard peek() == UInt8(ascii: "{") else {
            try skipValue()
            throw Self.invalid("field 'metrics' has the wrong type")
        }
        i += 1
        var metrics: [String: Double] = [:]
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            i += 1
            return metrics
        }
        while true {
            skipSpace()
            let name = try parseString()
            skipSpace()
            guard peek() == UInt8(ascii: ":") else { throw Self.syntaxError() }
            i += 1
            skipSpace()
            guard let c = peek(), c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else {
                try skipValue()
                throw Self.invalid("field 'metrics.\(name.prefix(64))' has the wrong type")
            }
            let (text, _) = try scanNumber()
            guard let value = Double(text), value.isFinite else {
                throw Self.invalid("metric values must be finite numbers")
            }
            guard metrics.updateValue(value, forKey: name) == nil else {
                throw Self.invalid("duplicate metric '\(name.prefix(64))'")
            }
            skipSpace()
            guard let next = peek() else { throw Self.syntaxError() }
            i += 1
            if next == UInt8(ascii: "}") { return metrics }
            guard next == UInt8(ascii: ",") else { throw Self.syntaxError() }
            if metrics.count > ReadingLimits.maxMetrics { throw Self.invalid("metrics must have 1-32 entries") }
        }
    }

    // MARK: - JSON lexing

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while i < bytes.count {
            let c = bytes[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// A JSON number; returns its text and whether it has neither fraction nor exponent.
    private mutating func scanNumber() throws(Failure) -> (Substring, Bool) {
        let start = i
        var isInteger = true
        if peek() == UInt8(ascii: "-") { i += 1 }
        guard let first = peek(), first >= 0x30, first <= 0x39 else { throw Self.syntaxError() }
        if first == 0x30 {
            i += 1
        } else {
            while let c = peek(), c >= 0x30, c <= 0x39 { i += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard let c = peek(), c >= 0x30, c <= 0x39 else { throw Self.syntaxError() }
            while let c = peek(), c >= 0x30, c <= 0x39 { i += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { i += 1 }
            guard let c = peek(), c >= 0x30, c <= 0x39 else { throw Self.syntaxError() }
            while let c = peek(), c >= 0x30, c <= 0x39 { i += 1 }
        }
        guard i - start <= 64 else { throw Self.invalid("number too long") }
        return (Substring(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self), isInteger)
    }

    /// A JSON string (escapes decoded, UTF-8 checked).
    private mutating func parseString() throws(Failure) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw Self.syntaxError() }
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<i])
                i += 1
                guard let s = String(validating: raw, as: UTF8.self) else { throw Self.syntaxError() }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            guard c >= 0x20 else { throw Self.syntaxError() }
            i += 1
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw Self.syntaxError() }
                return s
            case UInt8(ascii: "\\"):
                guard let e = peek() else { throw Self.syntaxError() }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard peek() == UInt8(ascii: "\\"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "u") else {
                            throw Self.syntaxError()
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw Self.syntaxError() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw Self.syntaxError() }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw Self.syntaxError()
                }
            default:
                guard c >= 0x20 else { throw Self.syntaxError() }
                out.append(c)
            }
        }
        throw Self.syntaxError()
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= bytes.count else { throw Self.syntaxError() }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            i += 1
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw Self.syntaxError()
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Skips any JSON value (to tell a wrong type from broken JSON).
    private mutating func skipValue(depth: Int = 0) throws(Failure) {
        guard depth < 32, let c = peek() else { throw Self.syntaxError() }
        switch c {
        case UInt8(ascii: "\""):
            _ = try parseString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            i += 1
            skipSpace()
            if peek() == close {
                i += 1
                return
            }
            while true {
                skipSpace()
                if c == UInt8(ascii: "{") {
                    _ = try parseString()
                    skipSpace()
                    guard peek() == UInt8(ascii: ":") else { throw Self.syntaxError() }
                    i += 1
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                guard let n = peek() else { throw Self.syntaxError() }
                i += 1
                if n == close { return }
                guard n == UInt8(ascii: ",") else { throw Self.syntaxError() }
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try scanNumber()
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw Self.syntaxError() }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw Self.syntaxError() }
        i += n
    }
}
