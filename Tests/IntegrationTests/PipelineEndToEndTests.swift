import Foundation
import PipelineCore
import SimulatorKit
import Testing

/// The whole path on the real broker and database: HTTPS and TCP ingest with
/// publisher confirms, the analyzer storing idempotently and flagging the
/// spike, the alerts API serving it, and bad input refused with nothing stored.
extension Integration {
@Suite struct PipelineEndToEndTests {
    static func reading(_ device: String, _ seq: Int64, _ metrics: [String: Double]) -> Reading {
        let ts = Timestamp.format(epochMicros: 1_795_593_600_000_000 + seq * 1_000_000)
        return Reading(deviceID: device, seq: seq, ts: ts, metrics: metrics)
    }

    /// A quiet heart rate around 70 with a spike at seq 61.
    static func spikyHistory() -> [Reading] {
        (1...70).map { seq in
            let hr = seq == 61 ? 150 : 70 + Double((seq * 37) % 7) - 3
            return reading("spiky-1", Int64(seq), ["heart_rate": hr, "spo2": 97 + Double(seq % 3) * 0.1])
        }
    }

    static func json(_ readings: [Reading]) -> [UInt8] {
        Array(("[" + readings.map { String(decoding: ReadingCodec.encode($0), as: UTF8.self) }.joined(separator: ",") + "]").utf8)
    }

    static func object(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    @Test func readingsFlowEndToEndExactlyOnce() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let ingest = try stack.ingest()
        try await stack.running(ingest.services + stack.analyzer().services + stack.alerts().services, ready: ingest) {

            // HTTPS: the spiky device's history, in batches, each 202 only after the broker confirmed it.
            var acked = Set<String>()
            let https = try await stack.https()
            let history = Self.spikyHistory()
            for chunk in stride(from: 0, to: history.count, by: 25).map({ Array(history[$0..<min($0 + 25, history.count)]) }) {
                let reply = try await https.request(.POST, "/v1/readings", headers: [("Content-Type", "application/json")], body: Self.json(chunk))
                #expect(reply.status == 202, "\(reply.body)")
                #expect(try Self.object(reply.body)["accepted"] as? Int == chunk.count)
                for r in chunk { acked.insert(r.messageID) }
            }

            // TCP+TLS: pipelined lines, replies in order, each an ack for its own seq.
            let tcp = try await stack.tcp()
            #expect(try await tcp.send(#"{"auth":"anything"}"#) == #"{"ok":true}"#)
            let lines = (1...40).map { Self.reading("tcp-1", Int64($0), ["heart_rate": 60 + Double($0 % 5)]) }
            let replies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (i, r) in lines.enumerated() {
                    group.addTask { (i, try await tcp.send(String(decoding: ReadingCodec.encode(r), as: UTF8.self))) }
                }
                return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
            for (i, r) in lines.enumerated() {
                #expect(replies[i] == "{\"ack\":\(r.seq)}")
                acked.insert(r.messageID)
            }

            // Every acknowledged reading becomes exactly one row.
            try await stack.eventually("all acknowledged readings stored") {
                try stack.count("SELECT count(*) FROM readings") == acked.count
            }
            let rows = try stack.db().execute("SELECT device_id, seq FROM readings").rows
            #expect(Set(rows.map { "\($0[0]!):\($0[1]!)" }) == acked)

            // The spike is served with the score the contract's rule gives.
            let alerts = try await stack.alertsClient()
            var anomalies: [[String: Any]] = []
            try await stack.eventually("spike served") {
                let reply = try await alerts.request(.GET, "/v1/anomalies?device_id=spiky-1")
                anomalies = try Self.object(reply.body)["items"] as? [[String: Any]] ?? []
                return !anomalies.isEmpty
            }
            let window = history.filter { $0.seq < 61 }.reversed().map { $0.metrics["heart_rate"]! }
            let expected = try #require(AnomalyRule.default.evaluate(150, window: window))
            let spike = try #require(anomalies.first { ($0["seq"] as? Int) == 61 && ($0["metric"] as? String) == "heart_rate" })
            #expect(abs((spike["score"] as? Double ?? 0) - expected.score!) < 1e-9)
            #expect(spike["median"] as? Double == expected.median)
            #expect(spike["window"] as? Int == 60)
            #expect(spike["value"] as? Double == 150)
            #expect(spike["ts"] as? String == history[60].ts)
            // Nothing else in this history is anomalous under the rule.
            var expectedAnomalies = 0
            for r in history {
                for (metric, value) in r.metrics {
                    let w = history.filter { $0.seq < r.seq }.reversed().map { $0.metrics[metric]! }
                    if AnomalyRule.default.evaluate(value, window: w)?.isAnomaly == true { expectedAnomalies += 1 }
                }
            }
            #expect(try stack.count("SELECT count(*) FROM anomalies WHERE device_id = 'spiky-1'") == expectedAnomalies)

            // Sending everything again changes nothing.
            let anomalyCount = try stack.count("SELECT count(*) FROM anomalies")
            let again = try await https.request(.POST, "/v1/readings", headers: [("Content-Type", "application/json")], body: Self.json(history))
            #expect(again.status == 202)
            for r in lines { #expect(try await tcp.send(String(decoding: ReadingCodec.encode(r), as: UTF8.self)) == "{\"ack\":\(r.seq)}") }
            try await sendMarkerAndWait(stack, https, seq: 1)
            #expect(try stack.count("SELECT count(*) FROM readings") == acked.count + 1)
            #expect(try stack.count("SELECT count(*) FROM anomalies") == anomalyCount)
            #expect(try stack.count("SELECT count(*) FROM metric_values WHERE device_id = 'spiky-1'") == history.count * 2)

            // The readings endpoint serves the newest first.
            let readings = try await alerts.request(.GET, "/v1/devices/spiky-1/readings?limit=5")
            let items = try Self.object(readings.body)["items"] as? [[String: Any]] ?? []
            #expect(items.compactMap { $0["seq"] as? Int } == [70, 69, 68, 67, 66])
            await https.close()
            await tcp.close()
            await alerts.close()
        }
    }

    /// Publishes a marker reading and waits until it is stored: the analyzer
    /// consumes in order, so everything published before it has been processed.
    func sendMarkerAndWait(_ stack: TestStack, _ https: HTTPConnection, seq: Int64) async throws {
        let marker = Self.reading("marker", seq, ["m": 1])
        let reply = try await https.request(.POST, "/v1/readings", headers: [("Content-Type", "application/json")], body: ReadingCodec.encode(marker))
        #expect(reply.status == 202)
        try await stack.eventually("marker stored") {
            try stack.count("SELECT count(*) FROM readings WHERE device_id = 'marker' AND seq = $1::INT8", [String(seq)]) == 1
        }
    }

    @Test func badInputGetsTheContractsErrorsAndNothingIsStored() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let ingest = try stack.ingest()
        try await stack.running(ingest.services + stack.analyzer().services, ready: ingest) {
            let https = try await stack.https()
            let json = [("Content-Type", "application/json")]
            func post(_ body: String, headers: [(String, String)] = json) async throws -> HTTPReply {
                try await https.request(.POST, "/v1/readings", headers: headers, body: Array(body.utf8))
            }
            let good = #"{"device_id":"ok-1","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"hr":70}}"#

            let malformed = try await post(#"{"device_id":"x","seq":1,"#)
            #expect(malformed.status == 400)
            #expect(try Self.object(malformed.body)["error"] as? String == "invalid JSON")

            let badID = try await post("[\(good),{\"device_id\":\"bad id!\",\"seq\":2,\"ts\":\"2026-11-25T08:00:00Z\",\"metrics\":{\"hr\":1}}]")
            #expect(badID.status == 400)
            let badIDBody = try Self.object(badID.body)
            #expect(badIDBody["index"] as? Int == 1)
            #expect((badIDBody["error"] as? String)?.contains("device_id") == true)

            let nan = try await post(#"{"device_id":"nan-1","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"hr":NaN}}"#)
            #expect(nan.status == 400)
            #expect(try Self.object(nan.body)["error"] != nil)

            let huge = try await post(#"{"device_id":"big-1","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"hr":1e400}}"#)
            #expect(huge.status == 400)

            let unknown = try await post(#"{"device_id":"u-1","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"hr":1},"extra":true}"#)
            #expect(unknown.status == 400)

            let notJSON = try await post(good, headers: [("Content-Type", "text/plain")])
            #expect(notJSON.status == 415)
            #expect(try Self.object(notJSON.body)["error"] != nil)

            let tooLarge = try await post("[" + String(repeating: " ", count: 1 << 20) + "]")
            #expect(tooLarge.status == 413)
            await https.close()

            // TCP: not JSON → error line; invalid reading → nack with its seq; NaN → error line.
            let tcp = try await stack.tcp()
            #expect(try await tcp.send("this is not json") == #"{"error":"invalid JSON"}"#)
            let nack = try Self.object(try await tcp.send(#"{"device_id":"bad id","seq":5,"ts":"2026-11-25T08:00:00Z","metrics":{"hr":1}}"#))
            #expect(nack["nack"] as? Int == 5)
            #expect((nack["error"] as? String)?.contains("device_id") == true)
            #expect(try await tcp.send(#"{"device_id":"nan-2","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"hr":NaN}}"#).contains("error"))
            // An over-long line: an error line, then the server closes the connection.
            let long = Array(repeating: UInt8(ascii: "x"), count: 70_000) + [UInt8(ascii: "\n")]
            let tooLong = try await tcp.sendRaw(long, expectReply: true)
            #expect(tooLong?.contains("exceeds") == true)
            try await stack.eventually("connection closed", timeout: .seconds(5)) { !tcp.isActive }

            // Only the marker reaches the database.
            let marker = try await stack.https()
            try await sendMarkerAndWait(stack, marker, seq: 1)
            #expect(try stack.count("SELECT count(*) FROM readings") == 1)
            #expect(try stack.count("SELECT count(*) FROM readings WHERE device_id <> 'marker'") == 0)
            await marker.close()
        }
    }
}
}
