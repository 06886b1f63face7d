import Foundation
import PipelineCore
import SQL
import SimulatorKit
import Storage
import Testing

extension Integration {
    /// Reader keys of the alerts API against the real database: refused without
    /// one, revoked through `pipeline reader` within 5 s, and a scoped key sees
    /// only its devices on every route and every page.
    @Suite struct ReaderKeyTests {
        static func get(_ client: HTTPConnection, _ path: String, key: String?) async throws -> AlertsTests.Reply {
            try await AlertsTests.get(client, path, key: key)
        }

        static let routes = ["/v1/anomalies", "/v1/devices", "/v1/devices/icu_1.bed-1/readings", "/v1/devices/icu_1.bed-1/anomalies"]

        @Test func noWrongOrRevokedKeyIsRefusedWithAChallenge() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            try AlertsFixture.store(AlertsFixture.series("icu_1.bed-1", count: 60, spikes: [40]), on: db)
            let environment = ProcessInfo.processInfo.environment.merging(["DATABASE_URL": stack.databaseURL]) { $1 }
            let issued = try TestStack.run(TestStack.pipelineBinary, ["reader", "issue", "night-nurse"], environment: environment)
            try #require(issued.status == 0, "\(issued.output)")
            let key = issued.output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(key.hasPrefix("rk1_") && key.count == 47, "\(key)")
            // Only the hash is stored.
            #expect(try stack.count("SELECT count(*) FROM reader_keys WHERE key_hash = $1", [key]) == 0)
            #expect(try stack.count("SELECT count(*) FROM reader_keys WHERE name = 'night-nurse'") == 1)

            try await stack.running(stack.alerts(readerKeys: true).services) {
                let client = try await stack.alertsClient()
                let wrong = "rk1_" + String(repeating: "A", count: 43)
                for path in Self.routes {
                    for (sent, challenge) in [
                        (nil, #"Bearer realm="alerts""#), (wrong, #"Bearer realm="alerts", error="invalid_token""#),
                        ("not-a-key", #"Bearer realm="alerts", error="invalid_token""#),
                    ] {
                        let r = try await Self.get(client, path, key: sent)
                        #expect(r.status == 401, "\(path) with \(sent ?? "no key"): \(r.status) \(r.body)")
                        #expect(r.header("www-authenticate") == challenge, "\(path)")
                        #expect(r.error != nil && !r.body.contains("icu_1"), "\(path): \(r.body)")
                    }
                    let r = try await Self.get(client, path, key: key)
                    #expect(r.status == 200, "\(path): \(r.body)")
                    #expect(r.header("cache-control") == "no-store")
                    #expect(r.header("x-content-type-options") == "nosniff")
                    #expect(r.header("content-security-policy")?.contains("default-src 'none'") == true)
                }
                // A basic-auth header, or the key without the scheme, is no bearer key.
                #expect(try await client.request(.GET, "/v1/devices", headers: [("Authorization", key)]).status == 401)
                #expect(try await client.request(.GET, "/v1/devices", headers: [("Authorization", "Basic \(key)")]).status == 401)
                // The page, its script and the OpenAPI document hold no data: served without a key, with the headers.
                for path in ["/", "/page.js", "/page.css", "/openapi.yaml", "/healthz", "/readyz"] {
                    let r = try await Self.get(client, path, key: nil)
                    #expect(r.status == 200, "\(path): \(r.status)")
                    #expect(r.header("cache-control") == "no-store" && r.header("x-content-type-options") == "nosniff", "\(path)")
                }

                // `pipeline reader list` shows when it was used, never the key.
                try await stack.eventually("last use is recorded") {
                    let listed = try TestStack.run(TestStack.pipelineBinary, ["reader", "list"], environment: environment)
                    let line = listed.output.split(separator: "\n").first { $0.hasPrefix("night-nurse ") } ?? ""
                    return !listed.output.contains(key) && line.contains("active") && !line.hasSuffix("never")
                }

                // Revoked: refused within 5 s.
                let revoked = try TestStack.run(TestStack.pipelineBinary, ["reader", "revoke", "night-nurse"], environment: environment)
                #expect(revoked.status == 0, "\(revoked.output)")
                let start = ContinuousClock.now
                try await stack.eventually("the revoked key is refused", timeout: .seconds(5)) {
                    try await Self.get(client, "/v1/devices", key: key).status == 401
                }
                print("reader key refused \(ContinuousClock.now - start) after `pipeline reader revoke`")
                let listed = try TestStack.run(TestStack.pipelineBinary, ["reader", "list"], environment: environment)
                #expect(listed.output.contains("revoked"), "\(listed.output)")
                // Revoking again, or an unknown name, is an error that says so.
                let again = try TestStack.run(
                    TestStack.pipelineBinary, ["reader", "revoke", "night-nurse"], environment: environment, withErrors: true)
                #expect(again.status != 0 && again.output.contains("has no active key"), "\(again.output)")
                await client.close()
            }
        }

        @Test func aKeyKeepsWorkingThroughADatabaseBlipAndANewKeyWorksAtOnce() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            try AlertsFixture.store(AlertsFixture.series("icu_1.bed-1", count: 40), on: db)
            let key = try stack.issueReaderKey("screen")
            try await stack.running(stack.alerts(readerKeys: true).services) {
                let client = try await stack.alertsClient()
                try await stack.eventually("the key works") { try await Self.get(client, "/v1/devices", key: key).status == 200 }
                // Issued after the service loaded its keys: accepted on first use, no waiting for a reload.
                let fresh = try stack.issueReaderKey("fresh-screen")
                #expect(try await Self.get(client, "/v1/devices", key: fresh).status == 200)

                try stack.setDatabase(allowConnections: false)
                // The database is away: the key is still known (503 for the query, never 401).
                let during = try await Self.get(client, "/v1/devices", key: key)
                #expect(during.status == 503, "\(during.body)")
                #expect(try await Self.get(client, "/v1/devices", key: nil).status == 401)
                try await Task.sleep(for: .seconds(3))  // reloads fail meanwhile
                #expect(try await Self.get(client, "/v1/devices", key: key).status == 503)
                try stack.setDatabase(allowConnections: true)
                try await stack.eventually("served again after the blip") {
                    try await Self.get(client, "/v1/devices", key: key).status == 200
                }
                await client.close()
            }
        }

        @Test func aScopedKeySeesOnlyItsDevicesOnEveryRouteAndPage() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            // `_` and `.` in the prefix: a LIKE pattern would let icuX1.bed-9 through.
            let inside = ["icu_1.bed-1", "icu_1.bed-2", "icu_1.bed-3"]
            let outside = ["icuX1.bed-9", "icu_2.bed-1", "icu_1"]
            for (i, id) in (inside + outside).enumerated() {
                try AlertsFixture.store(AlertsFixture.series(id, count: 80, spikes: [40 + Int64(i), 60 + Int64(i)]), on: db)
            }
            let key = try stack.issueReaderKey("ward-icu-1", scope: .prefix("icu_1."))
            let everything = try stack.issueReaderKey("admin")

            try await stack.running(stack.alerts(readerKeys: true).services) {
                let client = try await stack.alertsClient()
                // Every page of the lists, one item per page.
                func walk(_ route: String, _ k: String) async throws -> [String] {
                    var seen: [String] = []
                    var cursor: String?
                    repeat {
                        let r = try await Self.get(client, route + "?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), key: k)
                        #expect(r.status == 200, "\(r.body)")
                        seen += r.items.map { $0["device_id"] as? String ?? "?" }
                        cursor = r.json["next_cursor"] as? String
                    } while cursor != nil && seen.count < 100
                    return seen
                }
                #expect(try await walk("/v1/devices", key) == inside)
                #expect(try await walk("/v1/devices", everything) == (inside + outside).sorted())
                let scopedAnomalies = try await walk("/v1/anomalies", key)
                #expect(scopedAnomalies.count == inside.count * 2, "\(scopedAnomalies)")
                #expect(Set(scopedAnomalies) == Set(inside))
                #expect(try await walk("/v1/anomalies", everything).count == (inside + outside).count * 2)
                let big = try await Self.get(client, "/v1/anomalies?limit=1000", key: key)
                #expect(Set(big.items.map { $0["device_id"] as? String ?? "?" }) == Set(inside))

                for id in outside {
                    // Filtering on it finds nothing; its own routes are 404, worded as for a device never seen.
                    let filtered = try await Self.get(client, "/v1/anomalies?device_id=\(id)", key: key)
                    #expect(filtered.status == 200 && filtered.items.isEmpty, "\(id): \(filtered.body)")
                    for route in ["readings", "anomalies"] {
                        let r = try await Self.get(client, "/v1/devices/\(id)/\(route)", key: key)
                        let never = try await Self.get(client, "/v1/devices/never-seen/\(route)", key: key)
                        #expect(r.status == 404, "\(id)/\(route): \(r.status) \(r.body)")
                        #expect(r.body == never.body.replacingOccurrences(of: "never-seen", with: id))
                        #expect(try await Self.get(client, "/v1/devices/\(id)/\(route)", key: everything).status == 200)
                    }
                }
                for id in inside {
                    #expect(try await Self.get(client, "/v1/devices/\(id)/readings?band=true", key: key).status == 200)
                    #expect(try await Self.get(client, "/v1/devices/\(id)/anomalies", key: key).items.count == 2)
                }
                await client.close()
            }
        }
    }
}
