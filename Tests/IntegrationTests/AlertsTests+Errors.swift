import Alerts
import Foundation
import NIOHTTP1
import PipelineCore
import SQL
import SimulatorKit
import Storage
import Testing

extension Integration.AlertsTests {
    @Test func everyErrorIsJSONWithItsStatusAndAnOutageHealsItself() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let db = try stack.db()
        try Schema.migrate(db)
        try AlertsFixture.store(AlertsFixture.series("known", count: 40), on: db)

        try await stack.running(stack.alerts().services) {
            let client = try await stack.alertsClient()
            let cases: [(String, Int, String)] = [
                ("/v1/anomalies?limit=0", 400, "limit must be an integer from 1 to 1000"),
                ("/v1/anomalies?limit=1001", 400, "limit must be"),
                ("/v1/anomalies?limit=ten", 400, "limit must be"),
                ("/v1/anomalies?device_id=bad%20id", 400, "device_id must be"),
                ("/v1/anomalies?metric=HeartRate", 400, "metric must be"),
                ("/v1/anomalies?since=yesterday", 400, "since must be an RFC 3339 timestamp"),
                ("/v1/anomalies?until=2026-13-01T00:00:00Z", 400, "until must be an RFC 3339 timestamp"),
                ("/v1/anomalies?since=2026-11-25T10:00:00Z&until=2026-11-25T09:00:00Z", 400, "since must be before until"),
                ("/v1/anomalies?cursor=not*base64", 400, "invalid cursor"),
                // Valid RFC 3339, but an offset the database refuses: the client's mistake, said as such (was a 503).
                ("/v1/anomalies?since=2951-03-10T05:50:41%2B18:11", 400, "since must be an RFC 3339 timestamp with a UTC offset of at most"),
                ("/v1/incidents?until=2026-11-25T08:00:00-16:00", 400, "until must be an RFC 3339 timestamp with a UTC offset"),
                ("/v1/anomalies?cursor=", 400, "invalid cursor"),
                ("/v1/anomalies?cursor=Z2FyYmFnZQ", 400, "invalid cursor"),
                ("/v1/anomalies?colour=red", 400, "unknown parameter 'colour'"),
                ("/v1/anomalies?limit=1&limit=2", 400, "parameter 'limit' given twice"),
                ("/v1/devices?limit=0", 400, "limit must be"),
                ("/v1/devices?cursor=%21", 400, "invalid cursor"),
                ("/v1/devices?device_id=known", 400, "unknown parameter 'device_id'"),
                ("/v1/devices/known/readings?band=maybe", 400, "band must be true or false"),
                ("/v1/devices/known/readings?limit=5000", 400, "limit must be"),
                ("/v1/devices/bad%20id/readings", 400, "device id must be"),
                ("/v1/devices/known/anomalies?device_id=other", 400, "unknown parameter 'device_id'"),
                ("/v1/devices/unknown/readings", 404, "no readings stored for device 'unknown'"),
                ("/v1/devices/unknown/anomalies", 404, "no readings stored for device 'unknown'"),
                ("/v1/nothing-here", 404, "no such route"),
            ]
            for (path, status, message) in cases {
                let r = try await Self.get(client, path)
                #expect(r.status == status, "\(path): \(r.status) \(r.body)")
                #expect(r.header("content-type") == "application/json", "\(path)")
                #expect(r.error?.contains(message) == true, "\(path): \(r.body)")
            }
            // The known device is fine, and has no anomalies in a flat series.
            #expect(try await Self.get(client, "/v1/devices/known/anomalies").status == 200)

            // The database refuses connections: 503 with a reason and Retry-After, not ready, still alive.
            try stack.setDatabase(allowConnections: false)
            for path in ["/v1/anomalies", "/v1/devices", "/v1/devices/known/readings", "/v1/devices/known/anomalies"] {
                let r = try await Self.get(client, path)
                #expect(r.status == 503, "\(path): \(r.body)")
                #expect(r.header("retry-after") == "1")
                #expect(r.error?.contains("database unavailable") == true, "\(r.body)")
                #expect(!r.body.contains("127.0.0.1") && !r.body.contains(stack.database), "no internal detail: \(r.body)")
            }
            #expect(try await Self.get(client, "/readyz").status == 503)
            #expect(try await Self.get(client, "/healthz").status == 200)
            // Back: the service recovers by itself.
            try stack.setDatabase(allowConnections: true)
            try await stack.eventually("alerts answers again") {
                try await Self.get(client, "/v1/devices/known/readings?limit=1").status == 200
            }
            #expect(try await Self.get(client, "/readyz").status == 200)
            await client.close()
        }
    }

    @Test func poolIsReadOnlyAndASlowQueryHoldsOneConnectionOnly() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        try Schema.migrate(try stack.db())
        let pool = SQLPool(conninfo: stack.databaseURL, size: 2, statementTimeoutMs: 1500, readOnly: true)
        // Writes are refused: the alerts service cannot change data by mistake.
        await #expect(throws: SQLError.self) {
            try await pool.withConnection { try $0.execute("INSERT INTO devices (device_id) VALUES ('x')") }
        }
        let state = try await pool.withConnection { try $0.execute("SHOW default_transaction_read_only").rows.first?.first ?? nil }
        #expect(state == "on")
        // A slow query is cancelled by the statement timeout; meanwhile the other connection answers.
        let slow = Task { try await pool.withConnection { try $0.execute("SELECT pg_sleep(30)") } }
        try await Task.sleep(for: .milliseconds(200))
        let quick = try await pool.withConnection { try $0.execute("SELECT 41 + 1").rows.first?.first ?? nil }
        #expect(quick == "42")
        let slowError = await #expect(throws: SQLError.self) { _ = try await slow.value }
        #expect(slowError?.sqlState == "57014")
        await pool.shutdown()
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        try Schema.migrate(try stack.db())
        try await stack.running(stack.alerts().services) {
            let client = try await stack.alertsClient()
            let admin = try await stack.client(port: stack.alertsAdminPort)
            func value(_ route: String, _ status: Int) async throws -> Double {
                let text = try await Self.get(admin, "/metrics").body
                return text.split(separator: "\n").filter {
                    $0.hasPrefix("http_requests_total{") && $0.contains("route=\"\(route)\"")
                        && $0.contains("status=\"\(status)\"") && $0.contains("method=\"GET\"")
                }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
            }
            let before404 = try await value("/v1/devices/{id}/readings", 404)
            let before200 = try await value("/v1/anomalies", 200)
            for _ in 0..<3 { _ = try await Self.get(client, "/v1/devices/ghost-\(Int.random(in: 0...999))/readings") }
            _ = try await Self.get(client, "/v1/anomalies")
            _ = try await Self.get(client, "/v1/anomalies?limit=0")
            #expect(try await value("/v1/devices/{id}/readings", 404) == before404 + 3)
            #expect(try await value("/v1/anomalies", 200) == before200 + 1)
            let text = try await Self.get(admin, "/metrics").body
            #expect(text.contains("http_request_duration_seconds_bucket{"))
            #expect(text.contains("route=\"/v1/anomalies\""))
            #expect(!text.contains("ghost-"), "raw paths must not become label values")
            await client.close()
            await admin.close()
        }
    }

    @Test func openAPIDocumentDescribesEveryRealResponse() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let db = try stack.db()
        try Schema.migrate(db)
        try AlertsFixture.store(AlertsFixture.series("doc-1", count: 80, spikes: [50, 70]), on: db)
        try AlertsFixture.store(AlertsFixture.series("doc-2", count: 5), on: db)
        try db.execute("UPDATE anomalies SET score = NULL, mad = 0 WHERE seq = 70")  // the served form of "no spread"
        try AlertsFixture.storeIncidents(
            [AlertsFixture.incident("doc-1", "heart_rate", seq: 50, open: false), AlertsFixture.incident("doc-1", "heart_rate", seq: 70, open: true, peakScore: nil)],
            on: db)

        let key = try stack.issueReaderKey("openapi-test")
        var recorded: [[String: Any]] = []
        let document = try await stack.running(stack.alerts(readerKeys: true).services) { () -> String in
            let client = try await stack.alertsClient()
            func record(_ path: String, key sent: String? = key) async throws {
                let r = try await Self.get(client, path, key: sent)
                recorded.append([
                    "method": "GET", "path": path, "status": r.status, "content_type": r.header("content-type") ?? "",
                    "body": r.body,
                ])
            }
            let first = try await Self.get(client, "/v1/anomalies?limit=1", key: key)
            let cursor = try #require(first.json["next_cursor"] as? String)
            let firstIncident = try await Self.get(client, "/v1/incidents?limit=1", key: key)
            let incidentCursor = try #require(firstIncident.json["next_cursor"] as? String)
            let devices = try await Self.get(client, "/v1/devices?limit=1", key: key)
            let deviceCursor = try #require(devices.json["next_cursor"] as? String)
            for path in [
                "/v1/anomalies", "/v1/anomalies?limit=1", "/v1/anomalies?limit=1&cursor=\(cursor)",
                "/v1/anomalies?device_id=doc-1&metric=heart_rate&since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00Z",
                "/v1/anomalies?limit=0", "/v1/anomalies?since=never", "/v1/anomalies?what=1",
                "/v1/incidents", "/v1/incidents?limit=1&cursor=\(incidentCursor)", "/v1/incidents?state=open",
                "/v1/incidents?device_id=doc-1&metric=heart_rate&state=closed&since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00Z",
                "/v1/incidents?state=maybe", "/v1/incidents?limit=1001",
                "/v1/devices", "/v1/devices?limit=1", "/v1/devices?limit=1&cursor=\(deviceCursor)", "/v1/devices?limit=x",
                "/v1/devices/doc-1/anomalies", "/v1/devices/doc-1/anomalies?metric=heart_rate&limit=1",
                "/v1/devices/doc-2/anomalies", "/v1/devices/doc-1/anomalies?limit=0", "/v1/devices/nobody/anomalies",
                "/v1/devices/doc-1/readings", "/v1/devices/doc-1/readings?limit=3&band=true",
                "/v1/devices/doc-1/readings?band=false", "/v1/devices/doc-2/readings?band=true",
                "/v1/devices/doc-1/readings?limit=-1", "/v1/devices/nobody/readings", "/healthz", "/readyz",
            ] {
                try await record(path)
            }
            for path in ["/v1/anomalies", "/v1/incidents", "/v1/devices", "/v1/devices/doc-1/anomalies", "/v1/devices/doc-1/readings"] {
                try await record(path, key: nil)
            }
            try stack.setDatabase(allowConnections: false)
            for path in ["/v1/anomalies", "/v1/incidents", "/v1/devices", "/v1/devices/doc-1/anomalies", "/v1/devices/doc-1/readings", "/readyz"] {
                try await record(path)
            }
            try stack.setDatabase(allowConnections: true)
            let doc = try await Self.get(client, "/openapi.yaml")
            #expect(doc.status == 200 && doc.header("content-type") == "application/yaml")
            await client.close()
            return doc.body
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(stack.database)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try document.write(toFile: dir + "/openapi.yaml", atomically: true, encoding: .utf8)

        func check(_ responses: [[String: Any]]) throws -> (Int32, String) {
            try JSONSerialization.data(withJSONObject: responses).write(to: URL(fileURLWithPath: dir + "/responses.json"))
            return try TestStack.run(
                "/usr/bin/python3", [TestStack.root + "/scripts/check-openapi.py", dir + "/openapi.yaml", dir + "/responses.json"],
                withErrors: true)
        }
        let (status, output) = try check(recorded)
        #expect(status == 0, "\(output)")
        #expect(output.contains("responses valid"))

        // The checker does catch a mismatch: a body missing a field, an undocumented status.
        var broken = recorded
        broken[0]["body"] = (broken[0]["body"] as! String).replacingOccurrences(of: "\"next_cursor\"", with: "\"next\"")
        broken.append(["method": "GET", "path": "/v1/devices", "status": 418, "content_type": "application/json", "body": "{}"])
        let (brokenStatus, brokenOutput) = try check(broken)
        #expect(brokenStatus == 1)
        #expect(brokenOutput.contains("next_cursor") && brokenOutput.contains("418"), "\(brokenOutput)")
    }
}

extension Integration.AlertsTests {
    /// `/metrics`, `/kill` and the readiness checks are on the admin port only; the public
    /// port's `/readyz` says ready or not and nothing else.
    @Test func operationalRoutesAreOnTheAdminPortOnly() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        try Schema.migrate(try stack.db())
        let alerts = AlertsService(
            configuration: .init(
                host: "127.0.0.1", port: stack.alertsPort, adminPort: stack.alertsAdminPort, databaseURL: stack.databaseURL(as: .alerts),
                killEnabled: true),
            logger: TestStack.logger)
        try await stack.running(alerts.services) {
            let client = try await stack.alertsClient()
            let admin = try await stack.client(port: stack.alertsAdminPort)
            let ready = try await Self.get(client, "/readyz")
            #expect(ready.status == 200 && ready.body == #"{"ready":true}"#, "\(ready.body)")
            #expect(try await Self.get(client, "/healthz").status == 200)
            #expect(try await Self.get(client, "/metrics").status == 404)
            #expect(try await client.request(.POST, "/kill").status == 404)
            let checks = try await Self.get(admin, "/readyz")
            #expect(checks.status == 200 && checks.body.contains(#""database":"ok""#), "\(checks.body)")
            #expect(try await Self.get(admin, "/metrics").body.contains("http_requests_total"))
            #expect(try await Self.get(admin, "/v1/anomalies").status == 404)
            await client.close()
            await admin.close()
        }
    }

    /// A method a route does not serve is a 405 naming the ones it does (`Allow`); a path no route
    /// has stays a 404: on the alerts API, its admin port and ingest's public port.
    @Test func anUnservedMethodIs405WithAllowAndAnUnknownPath404() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let ingest = try stack.ingest()
        try await stack.running(stack.alerts().services + ingest.services, ready: ingest) {
            let alerts = try await stack.alertsClient()
            let admin = try await HTTPConnection.connect(host: "127.0.0.1", port: stack.alertsAdminPort, tls: nil)
            let https = try await stack.https()
            let cases: [(HTTPConnection, HTTPMethod, String, Int, String?)] = [
                (alerts, .TRACE, "/readyz", 405, "GET"),
                (alerts, .DELETE, "/v1/anomalies", 405, "GET"),
                (alerts, .POST, "/v1/devices/known/readings", 405, "GET"),
                (alerts, .GET, "/v1/nothing", 404, nil),
                (admin, .PUT, "/metrics", 405, "GET"),
                (admin, .GET, "/kill", 404, nil),  // /kill is off: no route, whatever the method
                (https, .GET, "/v1/readings", 405, "POST"),
                (https, .DELETE, "/v1/nothing", 404, nil),
            ]
            for (client, method, path, status, allow) in cases {
                let r = try await client.request(method, path)
                #expect(r.status == status, "\(method) \(path): \(r.status) \(r.body)")
                #expect(r.header("allow") == allow, "\(method) \(path)")
                #expect(r.header("content-type") == "application/json" && r.body.contains("\"error\""), "\(method) \(path): \(r.body)")
            }
            for c in [alerts, admin, https] { await c.close() }
        }
    }
}
