import Foundation
import Testing

@testable import PipelineCore

@Suite struct ReadingCodecTests {
    let valid = #"{"device_id":"dev-0042","seq":17,"ts":"2026-11-25T08:00:00.250Z","metrics":{"heart_rate":71.5,"spo2":97}}"#

    func decode(_ s: String) throws(ReadingError) -> [Reading] {
        try ReadingCodec.decodeBody(Data(s.utf8))
    }

    func error(_ s: String) -> ReadingError? {
        do { _ = try decode(s); return nil } catch { return error }
    }

    @Test func decodesTheContractExample() throws {
        let r = try decode(valid)
        #expect(r == [Reading(deviceID: "dev-0042", seq: 17, ts: "2026-11-25T08:00:00.250Z", metrics: ["heart_rate": 71.5, "spo2": 97])])
    }

    @Test func roundTripsThroughTheEncoder() throws {
        let r = try decode(valid)[0]
        let again = try ReadingCodec.decodeOne(Data(ReadingCodec.encode(r)))
        #expect(again == r)
        #expect(String(decoding: ReadingCodec.encode(r), as: UTF8.self)
            == #"{"device_id":"dev-0042","seq":17,"ts":"2026-11-25T08:00:00.250Z","metrics":{"heart_rate":71.5,"spo2":97}}"#)
    }

    @Test func arraysReportTheIndexAtFault() {
        let bad = #"{"device_id":"bad id","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#
        let e = error("[\(valid),\(bad)]")
        #expect(e?.index == 1)
        #expect(e?.message.contains("device_id") == true)
        #expect(error("[]")?.message.contains("1-1000") == true)
        let many = "[" + Array(repeating: valid, count: 1001).joined(separator: ",") + "]"
        #expect(error(many) != nil)
    }

    @Test(arguments: [
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1},"x":1}"#, "unknown field"),
        (#"{"device_id":"","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#, "device_id"),
        (#"{"device_id":"d","seq":-1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#, "seq"),
        (#"{"device_id":"d","seq":9007199254740992,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#, "seq"),
        (#"{"device_id":"d","seq":1.5,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#, "seq"),
        (#"{"device_id":"d","seq":1,"ts":"yesterday","metrics":{"a":1}}"#, "RFC 3339"),
        (#"{"device_id":"d","seq":1,"ts":"2026-02-30T08:00:00Z","metrics":{"a":1}}"#, "RFC 3339"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{}}"#, "1-32"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"Heart":1}}"#, "metric name"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":"1"}}"#, "metrics.a"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":NaN}}"#, "invalid JSON"),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1e999}}"#, ""),
        (#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z"}"#, "missing field 'metrics'"),
        (#"{"device_id":"d","#, "invalid JSON"),
        (#"42"#, ""),
    ])
    func rejects(_ body: String, _ fragment: String) throws {
        let e = try #require(error(body))
        #expect(fragment.isEmpty || e.message.contains(fragment), "\(e.message)")
        #expect(e.index == nil)
    }

    @Test func metricLimits() {
        let m33 = (0..<33).map { "\"m\($0)\":1" }.joined(separator: ",")
        #expect(error(#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{\#(m33)}}"#) != nil)
        let m32 = (0..<32).map { "\"m\($0)\":1" }.joined(separator: ",")
        #expect(error(#"{"device_id":"d","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{\#(m32)}}"#) == nil)
        let long = String(repeating: "a", count: 65)
        #expect(error(#"{"device_id":"\#(long)","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#) != nil)
        let max = String(repeating: "A", count: 64)
        #expect(error(#"{"device_id":"\#(max)","seq":9007199254740991,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#) == nil)
    }

    @Test func lineRequests() {
        #expect(LineRequest.parse(Data(#"{"auth":"tok"}"#.utf8)) == .success(.auth(token: "tok")))
        guard case .failure(let notJSON) = LineRequest.parse(Data("hello".utf8)) else { Issue.record("accepted"); return }
        #expect(notJSON.reply == .error("invalid JSON"))
        guard case .failure(let bad) = LineRequest.parse(Data(#"{"device_id":"d","seq":7,"ts":"x","metrics":{"a":1}}"#.utf8)) else {
            Issue.record("accepted"); return
        }
        #expect(bad.reply == .nack(seq: 7, error: "ts must be an RFC 3339 timestamp"))
        #expect(LineReply.nack(seq: nil, error: "a\"b").line == "{\"nack\":null,\"error\":\"a\\\"b\"}\n")
    }
}
