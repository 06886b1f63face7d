import Foundation
import PipelineCore
import SQL
import SimulatorKit
import Storage
import Testing

extension Integration {
    /// The alerts API against the real database: pagination, filters, devices,
    /// readings with bands, errors, outages, metrics and the OpenAPI document.
    @Suite struct AlertsTests {
        /// A GET answered by the alerts service, its body parsed.
        struct Reply {
            var status: Int
            var headers: [(String, String)]
            var body: String
            var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
            var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
            var error: String? { json["error"] as? String }
            func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        }

        /// `key` goes in `Authorization: Bearer`, for a service with reader keys on.
        static func get(_ client: HTTPConnection, _ path: String, key: String? = nil) async throws -> Reply {
            let r = try await client.request(.GET, path, headers: key.map { [("Authorization", "Bearer \($0)")] } ?? [])
            return Reply(status: r.status, headers: r.headers, body: r.body)
        }

        static func key(_ item: [String: Any]) -> String {
            "\(item["device_id"] as? String ?? "?"):\(item["seq"] as? Int ?? -1):\(item["metric"] as? String ?? "?")"
        }

        /// Follows `next_cursor` from the first page, calling `between` after each page.
        static func walk(
            _ client: HTTPConnection, _ query: String, between: (Int) throws -> Void = { _ in }
        ) async throws -> [String] {
            var seen: [String] = []
            var cursor: String?
            var page = 0
            repeat {
                let r = try await get(client, "/v1/anomalies?\(query)" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(r.status == 200, "\(r.body)")
                seen += r.items.map(key)
                cursor = r.json["next_cursor"] as? String
                page += 1
                try between(page)
            } while cursor != nil && page < 1000
            return seen
        }

        @Test func walkingPagesWhileAnomaliesArriveReturnsEachExactlyOnce() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            // 300 anomalies in 30 transactions of 10 (which share a detected_at), 12 devices, 2 metrics.
            var initial = Set<String>()
            let late = try stack.db()
            for t in 0..<30 {
                if t == 20 {
                    // A transaction that began earlier and commits during the walk: its
                    // detected_at (its start) is older than the newest anomalies'.
                    try late.execute("BEGIN")
                    try ReadingStore.insertAnomalies([AlertsFixture.record(("late", 1, "heart_rate"))], on: late)
                }
                let keys = (0..<10).map { i in
                    let n = t * 10 + i
                    return ("walk-\(n % 12)", Int64(n), n % 3 == 0 ? "spo2" : "heart_rate")
                }
                try AlertsFixture.storeAnomalies(keys, on: db)
                initial.formUnion(keys.map { "\($0.0):\($0.1):\($0.2)" })
            }
            let deleted = "walk-\(5 % 12):5:heart_rate"
            let revisedUnseen = AlertsFixture.record(("walk-\(7 % 12)", 7, "heart_rate"))

            try await stack.running(stack.alerts().services) {
                let client = try await stack.alertsClient()
                let seen = try await Self.walk(client, "limit=7") { page in
                    // Meanwhile: new anomalies, revised verdicts (one already served, one not yet),
                    // a deletion ahead of the cursor, and the late transaction's commit.
                    try AlertsFixture.storeAnomalies([("new-\(page)", Int64(page), "heart_rate")], on: db)
                    var revised = revisedUnseen
                    revised.score = 42
                    var served = AlertsFixture.record(("walk-\(299 % 12)", 299, "heart_rate"))
                    served.score = 43
                    if page == 2 { try ReadingStore.insertAnomalies([revised, served], on: db) }
                    if page == 3 { try ReadingStore.deleteAnomalies([("walk-5", 5, "heart_rate")], on: db) }
                    if page == 10 { try late.execute("COMMIT") }
                }
                #expect(seen.count == Set(seen).count, "an anomaly was served twice")
                #expect(initial.subtracting([deleted]).isSubset(of: Set(seen)), "an anomaly was skipped")
                #expect(!seen.contains(deleted))
                #expect(Set(seen).subtracting(initial) == ["late:1:heart_rate"])

                // The same holds for a filtered walk, and it sees the revised verdict.
                let device = try await Self.walk(client, "device_id=walk-7&limit=3")
                #expect(device.count == Set(device).count)
                #expect(Set(device) == Set(initial.filter { $0.hasPrefix("walk-7:") }))
                let r = try await Self.get(client, "/v1/anomalies?device_id=walk-7&metric=heart_rate&limit=1000")
                #expect(r.items.first { $0["seq"] as? Int == 7 }?["score"] as? Double == 42)
                await client.close()
            }
        }

        @Test func everyFilterSelectsWhatItSays() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            // 60 anomalies over 5 devices and 2 metrics, detected one minute apart (two per minute).
            let all: [(device: String, seq: Int64, metric: String)] = (0..<60).map {
                ("f-\($0 % 5)", Int64($0), $0 % 2 == 0 ? "heart_rate" : "spo2")
            }
            try AlertsFixture.storeAnomalies(all, on: db)
            try db.execute(
                "UPDATE anomalies SET detected_at = '2026-11-25T00:00:00Z'::TIMESTAMPTZ + (seq / 2) * INTERVAL '1 minute'")
            func minute(_ seq: Int64) -> Int64 { seq / 2 }
            // Newest first: detected_at, then device, seq and metric, all descending.
            let ordered = all.sorted {
                (minute($0.seq), $0.device, $0.seq, $0.metric) > (minute($1.seq), $1.device, $1.seq, $1.metric)
            }.map { "\($0.device):\($0.seq):\($0.metric)" }
            func at(_ m: Int) -> String { String(format: "2026-11-25T00:%02d:00Z", m) }

            try await stack.running(stack.alerts().services) {
                let client = try await stack.alertsClient()
                func keys(_ query: String) async throws -> [String] {
                    let r = try await Self.get(client, query)
                    #expect(r.status == 200, "\(query): \(r.body)")
                    return r.items.map(Self.key)
                }
                #expect(try await keys("/v1/anomalies?limit=1000") == ordered)
                #expect(try await keys("/v1/anomalies") == Array(ordered.prefix(100)))
                #expect(try await keys("/v1/anomalies?device_id=f-2&limit=1000") == ordered.filter { $0.hasPrefix("f-2:") })
                #expect(try await keys("/v1/anomalies?metric=spo2&limit=1000") == ordered.filter { $0.hasSuffix(":spo2") })
                let window = all.filter { (10..<20).contains(minute($0.seq)) }.map { "\($0.device):\($0.seq):\($0.metric)" }
                #expect(
                    try await keys("/v1/anomalies?since=\(at(10))&until=\(at(20))&limit=1000")
                        == ordered.filter(window.contains))
                #expect(
                    try await keys("/v1/anomalies?since=\(at(25))&limit=1000")
                        == ordered.filter { Int64($0.split(separator: ":")[1])! / 2 >= 25 })
                #expect(
                    try await keys("/v1/anomalies?until=2026-11-25T01:00:05%2B01:00&limit=1000")
                        == ordered.filter { Int64($0.split(separator: ":")[1])! / 2 < 1 })
                let combined = ordered.filter {
                    $0.hasPrefix("f-3:") && $0.hasSuffix(":heart_rate") && (5..<25).contains(Int64($0.split(separator: ":")[1])! / 2)
                }
                #expect(!combined.isEmpty)
                #expect(
                    try await keys("/v1/anomalies?device_id=f-3&metric=heart_rate&since=\(at(5))&until=\(at(25))&limit=1000")
                        == combined)
                #expect(
                    try await keys("/v1/devices/f-3/anomalies?metric=heart_rate&since=\(at(5))&until=\(at(25))&limit=1000")
                        == combined)
                // limit bounds the page; next_cursor continues it exactly.
                let first = try await Self.get(client, "/v1/anomalies?metric=spo2&limit=4")
                #expect(first.items.map(Self.key) == Array(ordered.filter { $0.hasSuffix(":spo2") }.prefix(4)))
                let cursor = try #require(first.json["next_cursor"] as? String)
                #expect(
                    try await keys("/v1/anomalies?metric=spo2&limit=4&cursor=\(cursor)")
                        == Array(ordered.filter { $0.hasSuffix(":spo2") }.dropFirst(4).prefix(4)))
                let last = try await Self.get(client, "/v1/anomalies?limit=1000")
                #expect(last.json["next_cursor"] is NSNull)
                // Nothing matches: an empty page, not an error.
                let none = try await Self.get(client, "/v1/anomalies?device_id=nobody")
                #expect(none.status == 200 && none.items.isEmpty)
                await client.close()
            }
        }

        @Test func devicesReadingsAndBandsComeFromTheStoredData() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            let a = AlertsFixture.series("dev-a", count: 260, spikes: [100, 240])
            let b = AlertsFixture.series("dev-b", count: 50)
            let c = AlertsFixture.series("dev-c", count: 10)
            // Stored in batches, as the analyzer would; the last batch of dev-a accepted at a known time.
            for chunk in stride(from: 0, to: 260, by: 52) {
                try AlertsFixture.store(
                    Array(a[chunk..<chunk + 52]), after: Array(a[..<chunk]), acceptedAtMs: 1_795_000_000_000 + Int64(chunk),
                    on: db)
            }
            try AlertsFixture.store(b, on: db)
            try AlertsFixture.store(c, on: db)
            // Redelivered readings change no count.
            try AlertsFixture.store(Array(b.suffix(5)), on: db)
            // A row from before the count columns existed is counted from its readings.
            try db.execute("UPDATE devices SET reading_count = NULL, last_seen = NULL WHERE device_id = 'dev-b'")
            let expectedA = AlertsFixture.anomalies(in: a)
            #expect(expectedA.contains { $0.seq == 100 } && expectedA.contains { $0.seq == 240 })

            try await stack.running(stack.alerts().services) {
                let client = try await stack.alertsClient()
                let devices = try await Self.get(client, "/v1/devices")
                #expect(devices.status == 200)
                #expect(devices.items.map { $0["device_id"] as? String } == ["dev-a", "dev-b", "dev-c"])
                #expect(devices.items.map { $0["readings"] as? Int } == [260, 50, 10])
                #expect(devices.items.map { $0["last_seq"] as? Int } == [259, 49, 9])
                let stored = try stack.count("SELECT count(*) FROM anomalies WHERE device_id = 'dev-a'")
                #expect(devices.items[0]["anomalies"] as? Int == expectedA.count && stored == expectedA.count)
                #expect(devices.items[0]["last_seen"] as? String == Timestamp.format(epochMicros: (1_795_000_000_000 + 208) * 1000))
                #expect(devices.items[1]["last_seen"] as? String != nil)
                // Paged by id.
                let page1 = try await Self.get(client, "/v1/devices?limit=2")
                #expect(page1.items.map { $0["device_id"] as? String } == ["dev-a", "dev-b"])
                let cursor = try #require(page1.json["next_cursor"] as? String)
                let page2 = try await Self.get(client, "/v1/devices?limit=2&cursor=\(cursor)")
                #expect(page2.items.map { $0["device_id"] as? String } == ["dev-c"])
                #expect(page2.json["next_cursor"] is NSNull)

                // Readings: newest first, 200 by default.
                let readings = try await Self.get(client, "/v1/devices/dev-a/readings")
                #expect(readings.items.compactMap { $0["seq"] as? Int } == Array((60..<260).reversed()))
                #expect(readings.items[0]["bands"] == nil)
                // Bands: the rule applied to exactly the values before each reading.
                let banded = try await Self.get(client, "/v1/devices/dev-a/readings?limit=150&band=true")
                #expect(banded.items.count == 150)
                for item in banded.items {
                    let seq = try #require(item["seq"] as? Int)
                    let bands = try #require(item["bands"] as? [String: [String: Any]])
                    for metric in ["heart_rate", "spo2"] {
                        let window = a[..<seq].reversed().map { $0.metrics[metric]! }
                        let expected = try #require(AnomalyRule.default.band(window: window))
                        let band = try #require(bands[metric])
                        #expect(band["median"] as? Double == expected.median, "seq \(seq) \(metric)")
                        #expect(abs((band["low"] as? Double ?? .nan) - expected.low) < 1e-9)
                        #expect(abs((band["high"] as? Double ?? .nan) - expected.high) < 1e-9)
                        #expect(band["window"] as? Int == min(seq, 200))
                        // The spikes are the values outside their bands.
                        let value = a[seq].metrics[metric]!
                        let outside = !(expected.low < value && value < expected.high)
                        #expect(outside == expectedA.contains { $0.seq == Int64(seq) && $0.metric == metric })
                    }
                }
                // Too little history: readings without bands.
                let short = try await Self.get(client, "/v1/devices/dev-c/readings?band=true")
                #expect(short.items.count == 10)
                #expect(short.items.allSatisfy { ($0["bands"] as? [String: Any])?.isEmpty == true })
                // A device's anomalies.
                let own = try await Self.get(client, "/v1/devices/dev-a/anomalies?metric=heart_rate&limit=1000")
                #expect(Set(own.items.compactMap { $0["seq"] as? Int }).isSuperset(of: [100, 240]))
                #expect(own.items.allSatisfy { $0["device_id"] as? String == "dev-a" })
                let quiet = try await Self.get(client, "/v1/devices/dev-b/anomalies")
                #expect(quiet.status == 200 && quiet.items.isEmpty)
                await client.close()
            }
        }

        @Test func everyPageIsOneIndexRangeScanWithoutASort() throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            try AlertsFixture.storeAnomalies((0..<2000).map { ("plan-\($0 % 50)", Int64($0), "heart_rate") }, on: db)
            try db.execute("ANALYZE anomalies")
            // Planner costs on a small table favour a scan and a sort anyway; what matters is that an
            // index delivers the order, so with those discouraged the plan needs no Sort node.
            for setting in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] { try db.execute("SET \(setting) = off") }
            try AlertsFixture.storeIncidents(
                (0..<2000).map { AlertsFixture.incident("plan-\($0 % 50)", "heart_rate", seq: Int64($0), open: $0 % 7 == 0) }, on: db)
            try db.execute("ANALYZE incidents")
            let cursor = FeedCursor(at: "2100-01-01T00:00:00Z", deviceID: "plan-9", seq: 5, metric: "spo2")
            for (feed, name) in [(AlertQueries.Feed.anomalies, "anomalies"), (.incidents, "incidents")] {
                for filter in [
                    FeedFilter(), FeedFilter(cursor: cursor), FeedFilter(deviceID: "plan-9", cursor: cursor),
                    FeedFilter(deviceID: "plan-3", cursor: cursor), FeedFilter(state: .open, cursor: cursor),
                    FeedFilter(metric: "heart_rate", since: "2020-01-01T00:00:00Z", until: "2100-01-01T00:00:00Z", cursor: cursor),
                ] {
                    let (sql, params) = AlertQueries.statement(feed, filter)
                    let plan = try db.execute("EXPLAIN " + sql, params).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
                    #expect(!plan.contains("Sort"), "\(plan)")
                    #expect(plan.contains("\(name)_recent") || plan.contains("\(name)_device_recent"), "\(plan)")
                }
            }
        }
    }
}
