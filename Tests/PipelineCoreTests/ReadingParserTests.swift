import Foundation
import Testing

@testable import PipelineCore

@Suite struct ReadingParserTests {
    func parse(_ s: String) -> Result<Reading, ReadingError> {
        do throws(ReadingError) { return .success(try ReadingCodec.decodeOne(Data(s.utf8))) } catch { return .failure(error) }
    }

    @Test func escapesWhitespaceAndNumberForms() throws {
        let r = try parse(" {\n\"device_id\" : \"\\u0041b\\u002ec\", \"seq\":1e2,\"ts\":\"2026-11-25T08:00:00Z\",\"metrics\":{\"a\":-0.5E-1}} ").get()
        #expect(r.deviceID == "Ab.c")
        #expect(r.seq == 100)
        #expect(r.metrics == ["a": -0.05])
    }

    @Test(arguments: [
        (#"{"device_id":"d","device_id":"e","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#, "duplicate field"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1,"a":2}}"#, "duplicate metric"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}} x"#, "invalid JSON"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":01}}"#, "invalid JSON"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1},"x":{"y":[1,{"z":null}]}}"#, "unknown field 'x'"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1},"x":{"y":[1,}}"#, "invalid JSON"),
        (#"{"device_id":null,"seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#, "wrong type"),
        (#"{"device_id":"d\u0000","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#, "device_id"),
        ("{\"device_id\":\"d\u{1}\",\"seq\":1,\"ts\":\"2026-11-25T08:00:00Z\",\"metrics\":{\"a\":1}}", "invalid JSON"),
        (#"{"device_id":"d","seq":"1","ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#, "seq must be"),
        (#"["#, "invalid JSON"),
        (#"{}"#, "missing field 'device_id'"),
    ])
    func rejects(_ line: String, _ fragment: String) throws {
        guard case .failure(let e) = parse(line) else {
            Issue.record("accepted \(line)")
            return
        }
        #expect(e.message.contains(fragment), "\(e.message)")
    }

    @Test func invalidUTF8IsNotJSON() {
        var bytes = Array(#"{"device_id":"d"#.utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array(#"","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#.utf8)
        do {
            _ = try ReadingCodec.decodeOne(Data(bytes))
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.message == "invalid JSON")
            #expect(!error.isJSON)
        }
    }

    @Test func encodeParseRoundTripOnRandomReadings() throws {
        var rng = SystemRandomNumberGenerator()
        let idChars = Array("ABCXYZabcxyz0189._:-")
        let nameChars = Array("abcxyz0189_")
        for _ in 0..<500 {
            let id = String((0..<Int.random(in: 1...64, using: &rng)).map { _ in idChars.randomElement(using: &rng)! })
            var metrics: [String: Double] = [:]
            for _ in 0..<Int.random(in: 1...32, using: &rng) {
                let name = String((0..<Int.random(in: 1...64, using: &rng)).map { _ in nameChars.randomElement(using: &rng)! })
                metrics[name] = [Double.random(in: -1e6...1e6, using: &rng), 0, 1e-300, -1e300, 97].randomElement(using: &rng)!
            }
            let r = Reading(deviceID: id, seq: Int64.random(in: 0...ReadingLimits.maxSeq, using: &rng), ts: "2026-11-25T08:00:00.123456Z", metrics: metrics)
            #expect(try ReadingCodec.decodeOne(Data(ReadingCodec.encode(r))) == r)
        }
    }

    @Test func authLines() {
        #expect(LineRequest.parse(Data(#" { "auth" : "t\u0031" } "#.utf8)) == .success(.auth(token: "t1")))
        // Anything more than the auth member is not an auth line (and not a reading either).
        guard case .failure = LineRequest.parse(Data(#"{"auth":"t","seq":1}"#.utf8)) else {
            Issue.record("accepted")
            return
        }
    }
}
