import Foundation
import PipelineCore
import SQL
import Storage
import Testing

extension Integration.AlertsTests {
    /// `/v1/incidents`: newest first by opening time, each filter, keyset pages, the fields as
    /// stored, and the counts in `/v1/devices`.
    @Test func incidentsAreListedFilteredAndPagedAsStored() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let db = try stack.db()
        try Schema.migrate(db)
        try AlertsFixture.store(AlertsFixture.series("i-0", count: 3), on: db)
        try AlertsFixture.store(AlertsFixture.series("i-1", count: 3), on: db)
        // 40 incidents over 4 devices and 2 metrics, opened one minute apart (two per minute); every fifth is open.
        let all: [IncidentRecord] = (0..<40).map { (n: Int) -> IncidentRecord in
            let metric = n % 2 == 0 ? "heart_rate" : "spo2"
            let score: Double? = n == 7 ? nil : 5
            return AlertsFixture.incident("i-\(n % 4)", metric, seq: Int64(n), open: n % 5 == 0, peakScore: score)
        }
        try AlertsFixture.storeIncidents(all, on: db)
        try db.execute("UPDATE incidents SET opened_at = '2026-11-25T00:00:00Z'::TIMESTAMPTZ + (opened_seq / 2) * INTERVAL '1 minute'")
        func order(_ r: IncidentRecord) -> (Int64, String, Int64, String) {
            (r.incident.openedSeq / 2, r.deviceID, r.incident.openedSeq, r.metric)
        }
        let ordered: [String] = all.sorted { order($0) > order($1) }.map { $0.id }

        try await stack.running(stack.alerts().services) {
            let client = try await stack.alertsClient()
            func ids(_ query: String) async throws -> [String] {
                let r = try await Self.get(client, query)
                #expect(r.status == 200, "\(query): \(r.body)")
                return r.items.compactMap { $0["id"] as? String }
            }
            #expect(try await ids("/v1/incidents?limit=1000") == ordered)
            #expect(try await ids("/v1/incidents?state=open&limit=1000") == ordered.filter { id in all.first { $0.id == id }!.isOpen })
            #expect(try await ids("/v1/incidents?state=closed&limit=1000").count == 32)
            #expect(try await ids("/v1/incidents?device_id=i-1&metric=spo2&limit=1000") == ordered.filter { $0.hasPrefix("i-1/spo2/") })
            #expect(
                try await ids("/v1/incidents?since=2026-11-25T00:05:00Z&until=2026-11-25T00:10:00Z&limit=1000")
                    == ordered.filter { id in (10..<20).contains(Int(id.split(separator: "/")[2])!) })
            // Pages of 7 through next_cursor: each incident once, in order.
            var walked: [String] = []
            var cursor: String?
            repeat {
                let r = try await Self.get(client, "/v1/incidents?limit=7" + (cursor.map { "&cursor=\($0)" } ?? ""))
                walked += r.items.compactMap { $0["id"] as? String }
                cursor = r.json["next_cursor"] as? String
            } while cursor != nil && walked.count < 100
            #expect(walked == ordered)
            // The fields, as stored.
            let one = try await Self.get(client, "/v1/incidents?device_id=i-3&metric=spo2&until=2026-11-25T00:04:00Z")
            let item = try #require(one.items.first { $0["id"] as? String == "i-3/spo2/7" })
            #expect(item["device_id"] as? String == "i-3" && item["metric"] as? String == "spo2")
            #expect(item["state"] as? String == "closed" && item["closed_at"] is String)
            #expect(item["opened_seq"] as? Int == 7 && item["last_seq"] as? Int == 10 && item["anomalies"] as? Int == 2)
            #expect(item["peak_score"] is NSNull && item["peak_value"] as? Double == 160)
            #expect(item["opened_ts"] as? String == Timestamp.format(epochMicros: 1_795_000_000_000_000 + 7 * 10_000_000))
            #expect(item["opened_at"] as? String == "2026-11-25T00:03:00.000Z")
            #expect((item["reason"] as? String)?.contains("above the highest") == true)
            let open = try await Self.get(client, "/v1/incidents?state=open&limit=1")
            #expect(open.items.first?["closed_at"] is NSNull)
            // Bad parameters.
            for bad in ["state=maybe", "limit=0", "since=soon", "cursor=xyz", "device_id=a%20b", "seq=1"] {
                let r = try await Self.get(client, "/v1/incidents?\(bad)")
                #expect(r.status == 400 && r.error != nil, "\(bad): \(r.body)")
            }
            // Counted per device.
            let devices = try await Self.get(client, "/v1/devices")
            let counts = Dictionary(uniqueKeysWithValues: devices.items.map {
                ($0["device_id"] as? String ?? "", [$0["incidents"] as? Int ?? -1, $0["open_incidents"] as? Int ?? -1])
            })
            #expect(counts == ["i-0": [10, 2], "i-1": [10, 2]])
            await client.close()
        }
    }
}
