import Foundation
import Ingest
import PipelineCore
import SimulatorKit
import Testing

extension Integration {
    /// Ingest against the real broker: confirms under load, broker outage and
    /// recovery, device authentication, rate limits, and every status of the contract.
    @Suite struct IngestTests {
        static let json = [("Content-Type", "application/json")]

        static func reading(_ device: String, _ seq: Int64, _ hr: Double = 70) -> Reading {
            Reading(deviceID: device, seq: seq, ts: "2026-11-25T08:00:00Z", metrics: ["heart_rate": hr])
        }

        static func line(_ r: Reading) -> String { String(decoding: ReadingCodec.encode(r), as: UTF8.self) }

        static func object(_ body: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        }

        func post(_ c: HTTPConnection, _ readings: [Reading], token: String? = nil) async throws -> HTTPReply {
            var headers = Self.json
            if let token { headers.append(("Authorization", "Bearer \(token)")) }
            let body = readings.count == 1 ? Self.line(readings[0]) : "[" + readings.map(Self.line).joined(separator: ",") + "]"
            return try await c.request(.POST, "/v1/readings", headers: headers, body: Array(body.utf8))
        }

        /// As `post`, on a connection of its own: a refused token closes its connection
        /// (its body is never read).
        func post(_ stack: TestStack, _ readings: [Reading], token: String? = nil) async throws -> HTTPReply {
            let c = try await stack.https()
            defer { Task { await c.close() } }
            return try await post(c, readings, token: token)
        }

        @Test func concurrentBurstIsConfirmedAndStoredExactly() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.ingest()
            try await stack.running(ingest.services + stack.analyzer().services, ready: ingest) {
                let acked = try await withThrowingTaskGroup(of: [String].self) { group in
                    for c in 0..<40 {
                        group.addTask {
                            let http = try await stack.https()
                            var ids: [String] = []
                            for s in 0..<10 {
                                let r = Self.reading("burst-h\(c)", Int64(s))
                                let reply = try await post(http, [r])
                                if reply.status == 202 { ids.append(r.messageID) }
                            }
                            await http.close()
                            return ids
                        }
                    }
                    for c in 0..<20 {
                        group.addTask {
                            let tcp = try await stack.tcp()
                            let readings = (0..<50).map { Self.reading("burst-t\(c)", Int64($0)) }
                            let replies = try await withThrowingTaskGroup(of: (Reading, String).self) { lines in
                                for r in readings { lines.addTask { (r, try await tcp.send(Self.line(r))) } }
                                return try await lines.reduce(into: []) { $0.append($1) }
                            }
                            await tcp.close()
                            return replies.filter { $0.1 == "{\"ack\":\($0.0.seq)}" }.map(\.0.messageID)
                        }
                    }
                    return try await group.reduce(into: Set<String>()) { $0.formUnion($1) }
                }
                #expect(acked.count == 1400)  // 40 HTTPS clients × 10 + 20 TCP connections × 50
                try await stack.eventually("all stored") { try stack.count("SELECT count(*) FROM readings") == acked.count }
                let rows = try stack.db().execute("SELECT device_id, seq FROM readings").rows
                #expect(Set(rows.map { "\($0[0]!):\($0[1]!)" }) == acked)
                #expect(ingest.publisher.pending == 0)
            }
        }

        @Test func brokerOutageAnswers503AndIngestRecoversByItself() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.ingest()
            try await stack.running(ingest.services, ready: ingest) {
                let http = try await stack.https()
                #expect(try await post(http, [Self.reading("outage-1", 1)]).status == 202)

                try stack.stackctl("ctl", "stop_app")
                do {
                    try await stack.eventually("not ready", timeout: .seconds(10)) { !ingest.publisher.isConnected }
                    // Requests fail fast and clearly; the service stays up.
                    for seq in Int64(2)...4 {
                        let start = ContinuousClock.now
                        let reply = try await post(http, [Self.reading("outage-1", seq)])
                        #expect(reply.status == 503)
                        #expect(reply.header("Retry-After") != nil)
                        #expect(try Self.object(reply.body)["error"] != nil)
                        // The device learns that the broker is away, not where it runs.
                        #expect(!reply.body.contains("127.0.0.1") && !reply.body.contains("localhost"), "\(reply.body)")
                        #expect(ContinuousClock.now - start < .seconds(5))
                    }
                    let tcp = try await stack.tcp()
                    let nackLine = try await tcp.send(Self.line(Self.reading("outage-2", 1)))
                    let nack = try Self.object(nackLine)
                    #expect(nack["nack"] as? Int == 1)
                    #expect(!nackLine.contains("127.0.0.1") && !nackLine.contains("localhost"), "\(nackLine)")
                    await tcp.close()
                    let ready = try await http.request(.GET, "/readyz")
                    #expect(ready.status == 503)
                    #expect(ready.body == #"{"ready":false}"#, "\(ready.body)")
                    #expect(try await http.request(.GET, "/healthz").status == 200)
                } catch {
                    _ = try? stack.stackctl("ctl", "start_app")
                    throw error
                }

                try stack.stackctl("ctl", "start_app")
                try await stack.eventually("publisher reconnected", timeout: .seconds(30)) { ingest.publisher.isConnected }
                #expect(try await post(http, [Self.reading("outage-1", 5)]).status == 202)
                #expect(try await http.request(.GET, "/readyz").status == 200)
                let tcp = try await stack.tcp()
                #expect(try await tcp.send(Self.line(Self.reading("outage-2", 2))) == "{\"ack\":2}")
                await tcp.close()
                await http.close()
            }
        }

        @Test func deviceAuthentication() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let alice = try stack.issueToken("alice")
            let bob = try stack.issueToken("bob")
            let ingest = try stack.ingest(auth: true)
            try await stack.running(ingest.services) {
                try await stack.eventually("ingest ready") {
                    ingest.publisher.isConnected && ingest.authenticator?.status.loaded == true
                }
                // HTTP: missing, malformed, forged, another device's, then a good token.
                var reply = try await post(stack, [Self.reading("alice", 1)])
                #expect(reply.status == 401)
                #expect((try Self.object(reply.body)["error"] as? String)?.contains("Bearer") == true)
                #expect(try await post(stack, [Self.reading("alice", 1)], token: "nonsense").status == 401)
                let forged = "v1.alice.1." + String(repeating: "A", count: 43)
                #expect(try await post(stack, [Self.reading("alice", 1)], token: forged).status == 401)
                reply = try await post(stack, [Self.reading("alice", 1), Self.reading("bob", 1)], token: alice)
                #expect(reply.status == 401)
                #expect(try Self.object(reply.body)["index"] as? Int == 1)
                #expect(try await post(stack, [Self.reading("alice", 1)], token: alice).status == 202)
                #expect(try await post(stack, [Self.reading("bob", 1)], token: bob).status == 202)

                // TCP: a reading without an auth line, a bad token, another device's reading.
                var tcp = try await stack.tcp()
                #expect(try await tcp.send(Self.line(Self.reading("alice", 2))) == #"{"error":"unauthorized"}"#)
                try await stack.eventually("closed", timeout: .seconds(5)) { !tcp.isActive }
                tcp = try await stack.tcp()
                #expect(try await tcp.send(#"{"auth":"v1.alice.1.xxxx"}"#) == #"{"error":"unauthorized"}"#)
                try await stack.eventually("closed", timeout: .seconds(5)) { !tcp.isActive }
                tcp = try await stack.tcp()
                #expect(try await tcp.send("{\"auth\":\"\(alice)\"}") == #"{"ok":true}"#)
                #expect(try await tcp.send(Self.line(Self.reading("alice", 3))) == #"{"ack":3}"#)
                let other = try Self.object(try await tcp.send(Self.line(Self.reading("bob", 3))))
                #expect(other["nack"] as? Int == 3)
                await tcp.close()

                // Known devices keep working while the database refuses connections; unknown ones get 503, not 401.
                let carol = try stack.issueToken("carol")
                try stack.setDatabase(allowConnections: false)
                do {
                    #expect(try await post(stack, [Self.reading("alice", 4)], token: alice).status == 202)
                    let unknown = try await post(stack, [Self.reading("carol", 1)], token: carol)
                    #expect(unknown.status == 503)
                } catch {
                    try? stack.setDatabase(allowConnections: true)
                    throw error
                }
                try stack.setDatabase(allowConnections: true)

                // Revocation takes effect within a refresh; a reissued token replaces the old one.
                try stack.revokeToken("alice")
                try await stack.eventually("revoked", timeout: .seconds(15)) {
                    try await post(stack, [Self.reading("alice", 5)], token: alice).status == 401
                }
                tcp = try await stack.tcp()
                #expect(try await tcp.send("{\"auth\":\"\(alice)\"}") == #"{"error":"unauthorized"}"#)
                await tcp.close()
                let alice2 = try stack.issueToken("alice")
                try await stack.eventually("reissued", timeout: .seconds(15)) {
                    try await post(stack, [Self.reading("alice", 5)], token: alice2).status == 202
                }
                #expect(try await post(stack, [Self.reading("bob", 5)], token: bob).status == 202)
                // A refused token closes the connection: the body of its request is never read.
                let http = try await stack.https()
                #expect(try await post(http, [Self.reading("alice", 6)], token: "nonsense").header("Connection") == "close")
            }
        }

        @Test func rateLimitRefusesOnlyTheDeviceOverItsLimit() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.ingest(rateLimit: (rate: 0.5, burst: 3))
            try await stack.running(ingest.services, ready: ingest) {
                let http = try await stack.https()
                #expect(try await post(http, [Self.reading("greedy", 1), Self.reading("greedy", 2)]).status == 202)
                #expect(try await post(http, [Self.reading("greedy", 3)]).status == 202)
                let limited = try await post(http, [Self.reading("greedy", 4)])
                #expect(limited.status == 429)
                #expect(Int(limited.header("Retry-After") ?? "") ?? 0 >= 1)
                #expect(try Self.object(limited.body)["error"] != nil)
                let tooMany = try await post(http, (10...13).map { Self.reading("greedy2", $0) })
                #expect(tooMany.status == 429)
                // Another device is not affected.
                #expect(try await post(http, [Self.reading("modest", 1)]).status == 202)
                let tcp = try await stack.tcp()
                let nack = try Self.object(try await tcp.send(Self.line(Self.reading("greedy", 5))))
                #expect(nack["nack"] as? Int == 5)
                #expect(nack["retry_after"] as? Int ?? 0 >= 1)
                #expect(try await tcp.send(Self.line(Self.reading("modest", 2))) == #"{"ack":2}"#)
                await tcp.close()
                await http.close()
            }
        }

        @Test func idleConnectionsAreClosed() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.ingest(idleTimeout: .seconds(1))
            try await stack.running(ingest.services, ready: ingest) {
                let tcp = try await stack.tcp()
                #expect(try await tcp.send(Self.line(Self.reading("idle", 1))) == #"{"ack":1}"#)
                try await stack.eventually("closed after idling", timeout: .seconds(5)) { !tcp.isActive }
            }
        }
    }
}

extension Integration.IngestTests {
    @Test func metricsDescribeTrafficInPrometheusFormat() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let ingest = try stack.ingest()
        try await stack.running(ingest.services, ready: ingest) {
            let http = try await stack.https()
            #expect(try await post(http, [Self.reading("metrics-1", 1)]).status == 202)
            let tcp = try await stack.tcp()
            #expect(try await tcp.send(Self.line(Self.reading("metrics-2", 1))) == #"{"ack":1}"#)
            #expect(try await tcp.send("nonsense").contains("error"))
            // On the admin listener only: the device-facing port does not serve it.
            #expect(try await http.request(.GET, "/metrics").status == 404)
            let admin = try await stack.client(port: stack.ingestAdminPort)
            defer { Task { await admin.close() } }
            let metrics = try await admin.request(.GET, "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
            for name in [
                #"ingest_readings_total{transport="http",result="accepted"}"#,
                #"ingest_readings_total{transport="tcp",result="accepted"}"#,
                #"ingest_readings_total{transport="tcp",result="invalid"}"#,
                "ingest_ack_latency_seconds_bucket", "amqp_confirm_latency_seconds_bucket", "amqp_publishes_in_flight",
                "ingest_tcp_connections",
            ] {
                #expect(metrics.body.contains(name), "missing \(name)")
            }
            await tcp.close()
            await http.close()
        }
    }
}

extension Integration.IngestTests {
    @Test func thousandsOfConcurrentConnections() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        // All 2,000 connect before any sends, so all are unproven at once: more than the default per address.
        let ingest = try stack.ingest(tls: false, guards: .init(connections: .init(maxUnprovenPerAddress: 2_500)))
        try await stack.running(ingest.services, ready: ingest) {
            // 2,000 devices, each with its own connection, all open at once before any sends.
            let connections = try await withThrowingTaskGroup(of: LineConnection.self) { group in
                for _ in 0..<2000 {
                    group.addTask { try await LineConnection.connect(host: "127.0.0.1", port: stack.tcpPort, tls: nil) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(connections.allSatisfy { $0.isActive })
            let acks = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (i, c) in connections.enumerated() {
                    group.addTask { try await c.send(Self.line(Self.reading("many-\(i)", 1))) == #"{"ack":1}"# }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(acks == 2000)
            for c in connections { await c.close() }
        }
    }

    @Test func publisherFailsOverToTheNextBrokerNode() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        // The first node of the list refuses connections; the second is the real broker.
        let dead = "amqp://guest:guest@127.0.0.1:\(try TestStack.freePort())/%2f"
        var amqp = stack.amqp
        amqp.urls = [dead] + amqp.urls
        let ingest = try IngestService(
            configuration: .init(
                host: "127.0.0.1", httpPort: stack.httpPort, tcpPort: stack.tcpPort, adminPort: stack.ingestAdminPort, amqp: amqp),
            logger: TestStack.logger)
        try await stack.running(ingest.services) {
            try await stack.eventually("connected through the second node") { ingest.publisher.isConnected }
            let tcp = try await LineConnection.connect(host: "127.0.0.1", port: stack.tcpPort, tls: nil)
            #expect(try await tcp.send(Self.line(Self.reading("failover", 1))) == #"{"ack":1}"#)
            await tcp.close()
        }
    }
}

extension Integration.IngestTests {
    /// More lines in flight than ingest lets one connection owe: it pauses reading, then resumes.
    @Test func deepPipelineOnOneConnectionIsAnsweredInOrder() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let ingest = try stack.ingest(tls: false, rateLimit: nil)
        try await stack.running(ingest.services, ready: ingest) {
            let tcp = try await LineConnection.connect(host: "127.0.0.1", port: stack.tcpPort, tls: nil)
            let n = 10_000
            let replies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for i in 0..<n {
                    group.addTask { (i, try await tcp.send(Self.line(Self.reading("deep-1", Int64(i))))) }
                }
                return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
            #expect(replies.count == n)
            #expect((0..<n).allSatisfy { replies[$0] == "{\"ack\":\($0)}" })
            await tcp.close()
        }
    }
}
