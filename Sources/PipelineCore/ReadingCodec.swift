package import Foundation

/// The one place that defines the wire format of readings: ingest, analyzer,
/// simulator and tests all go through it.
package enum ReadingCodec {
    /// Decodes an HTTP body: one reading or an array of 1–1000. The whole body
    /// is validated; the first problem is reported with the index at fault.
    package static func decodeBody(_ data: Data) throws(ReadingError) -> [Reading] {
        guard let first = data.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else {
            throw ReadingError("empty body")
        }
        guard first == UInt8(ascii: "[") else { return [try decodeOne(data)] }
        let result: Result<[Reading], ReadingParser.ArrayFailure> = data.withUnsafeBytes { raw in
            var parser = ReadingParser(raw.bindMemory(to: UInt8.self))
            do throws(ReadingParser.ArrayFailure) {
                return .success(try parser.parseArray())
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let readings):
            guard !readings.isEmpty else { throw ReadingError("an array must hold 1-\(ReadingLimits.maxBatch) readings") }
            return readings
        case .failure(let f):
            throw ReadingError(f.failure.message, index: f.index)
        }
    }

    /// Decodes exactly one reading (a TCP line, or an AMQP message body).
    package static func decodeOne(_ data: some ContiguousBytes) throws(ReadingError) -> Reading {
        let result: Result<Reading, ReadingError> = data.withUnsafeBytes { raw in
            var parser = ReadingParser(raw.bindMemory(to: UInt8.self))
            do throws(ReadingParser.Failure) {
                return .success(try parser.parseSingle())
            } catch {
                return .failure(ReadingError(error.message, seq: parser.seq, isJSON: !error.syntax))
            }
        }
        return try result.get()
    }

    /// Encodes a reading as compact JSON with sorted metric names.
    package static func encode(_ r: Reading) -> [UInt8] {
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
    package static func jsonNumber(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return v.description
    }
}
