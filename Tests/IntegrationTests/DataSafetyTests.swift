import AMQPClient
import Analyzer
import Foundation
import PipelineCore
import SQL
import SimulatorKit
import Storage
import Testing

extension Integration {
    /// What happens to acknowledged readings when the database refuses writes, the
    /// broker raises a resource alarm, a device reuses a seq or sends one very late,
    /// against the real broker and database.
    @Suite struct DataSafetyTests {
        static func publish(_ readings: [Reading], to stack: TestStack) async throws {
            try await AnalyzerTests.publish(readings, to: stack)
        }

        static func readyz(_ port: Int) async throws -> HTTPReply {
            let c = try await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil)
            defer { Task { await c.close() } }
            return try await c.request(.GET, "/readyz")
        }

        static func deadLetters(_ stack: TestStack) async throws -> Int {
            try await blocking {
                let p = DeadLetterPublisher(configuration: stack.amqp)
                defer { p.close() }
                return try p.depth()
            }
        }

        /// Runs `body`; whatever it throws, `cleanup` runs first.
        static func undoing(_ cleanup: () throws -> Void, _ body: () async throws -> Void) async throws {
            do {
                try await body()
            } catch {
                try? cleanup()
                throw error
            }
            try cleanup()
        }

        /// The analyzer connects as its role, which may only read and write rows (not the
        /// owner), as in production. It loses INSERT, then the database turns read-only:
        /// both are outages, nothing is dead-lettered, and everything is stored after.
        @Test func refusedWritesAreAnOutageAndNothingIsDeadLettered() async throws {
            let stack = try TestStack.make()
            let role = TestStack.roleName(.analyzer)
            defer { stack.dropDatabase() }
            let admin = try stack.db()
            let analyzer = try stack.analyzer(batchSize: 200)
            let all = AnalyzerTests.readings(devices: 10, perDevice: 90, prefix: "refused")
            let parts = [all.filter { $0.seq < 30 }, all.filter { (30..<60).contains($0.seq) }, all.filter { $0.seq >= 60 }]
            try await stack.running(analyzer.services) {
                try await Self.publish(parts[0], to: stack)
                try await stack.eventually("first readings stored") {
                    try stack.count("SELECT count(*) FROM readings") == parts[0].count
                }

                // The analyzer's role loses INSERT on readings.
                try admin.execute("REVOKE INSERT ON readings FROM \(role)")
                try await Self.undoing({ try admin.execute("GRANT INSERT ON readings TO \(role)") }) {
                    try await Self.publish(parts[1], to: stack)
                    try await stack.eventually("readiness names the cause", timeout: .seconds(15)) {
                        let r = try await Self.readyz(stack.analyzerPort)
                        return r.status == 503 && r.body.contains("permission denied")
                    }
                    try await Task.sleep(for: .seconds(3))
                    #expect(try await Self.deadLetters(stack) == 0)
                    #expect(try stack.count("SELECT count(*) FROM readings") == parts[0].count)
                }
                try await stack.eventually("stored once INSERT is granted again", timeout: .seconds(30)) {
                    try stack.count("SELECT count(*) FROM readings") == parts[0].count + parts[1].count
                }
                #expect(try await Self.readyz(stack.analyzerPort).status == 200)

                // The database refuses every write (as a standby, or a full disk made read-only, would).
                try admin.execute("ALTER DATABASE \(stack.database) SET default_transaction_read_only = on")
                try admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND datname = $2", [role, stack.database])
                try await Self.undoing({ try admin.execute("ALTER DATABASE \(stack.database) RESET default_transaction_read_only") }) {
                    try await Self.publish(parts[2], to: stack)
                    try await stack.eventually("readiness names the cause", timeout: .seconds(15)) {
                        let r = try await Self.readyz(stack.analyzerPort)
                        return r.status == 503 && r.body.contains("read-only")
                    }
                    try await Task.sleep(for: .seconds(3))
                    #expect(try await Self.deadLetters(stack) == 0)
                }
                try await stack.eventually("stored once the database accepts writes", timeout: .seconds(30)) {
                    try stack.count("SELECT count(*) FROM readings") == all.count
                }
                #expect(try await Self.readyz(stack.analyzerPort).status == 200)
            }
            #expect(try stack.count("SELECT count(*) FROM metric_values") == all.count * 2)
            #expect(try await Self.deadLetters(stack) == 0)
        }

        /// A broker that stops reading without saying so (frozen here with SIGSTOP) makes a
        /// publish call block inside rabbitmq-c once the socket buffers are full. The
        /// watchdog shuts the socket down after the confirm timeout, so every request is
        /// answered (503), and ingest recovers once the broker runs again.
        @Test func aPublishIntoABrokerThatStoppedReadingIsAnswered() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let pidFile = try TestStack.environment("STACK_DIR") + "/rabbit/rabbit.pid"
            let pid = try #require(pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            let ingest = try stack.ingest(tls: false, rateLimit: nil)
            // About 1 MiB a request: 340 readings of 32 metrics with long names.
            let metrics = Dictionary(uniqueKeysWithValues: (0..<32).map { (String(repeating: "m", count: 60) + "_\($0)", 70.125 + Double($0)) })
            func body(_ c: Int) -> [UInt8] {
                let readings = (0..<340).map { Reading(deviceID: "stuck-\(c)", seq: Int64($0), ts: "2026-11-25T08:00:00Z", metrics: metrics) }
                return Array(("[" + readings.map(IngestTests.line).joined(separator: ",") + "]").utf8)
            }
            try await stack.running(ingest.services, ready: ingest) {
                kill(pid, SIGSTOP)
                try await Self.undoing({ kill(pid, SIGCONT) }) {
                    let start = ContinuousClock.now
                    let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                        for c in 0..<30 {
                            group.addTask {
                                let http = try await HTTPConnection.connect(host: "127.0.0.1", port: stack.httpPort, tls: nil)
                                defer { Task { await http.close() } }
                                return try await http.request(
                                    .POST, "/v1/readings", headers: IngestTests.json, body: body(c), timeout: .seconds(30)
                                ).status
                            }
                        }
                        return try await group.reduce(into: [Int]()) { $0.append($1) }
                    }
                    let took = ContinuousClock.now - start
                    print("broker frozen: 30 requests of 1 MiB answered \(Set(statuses)) within \(took)")
                    #expect(statuses.count == 30)
                    #expect(statuses.allSatisfy { $0 == 503 })
                    #expect(took < .seconds(20))
                }
                try await stack.eventually("ingest ready again", timeout: .seconds(60)) {
                    try await Self.readyz(stack.httpPort).status == 200
                }
                let http = try await HTTPConnection.connect(host: "127.0.0.1", port: stack.httpPort, tls: nil)
                #expect(try await IngestTests().post(http, [IngestTests.reading("stuck-after", 1)]).status == 202)
                await http.close()
            }
        }

        /// A memory alarm blocks publishers: ingest answers at once (nack with retry_after,
        /// 503 with Retry-After), reports it on /readyz, and accepts again once it clears.
        @Test func brokerMemoryAlarmIsAnsweredAtOnceAndRecovers() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.ingest(tls: false)
            try await stack.running(ingest.services, ready: ingest) {
                let tcp = try await LineConnection.connect(host: "127.0.0.1", port: stack.tcpPort, tls: nil)
                var seq: Int64 = 0
                #expect(try await tcp.send(IngestTests.line(IngestTests.reading("alarm-1", seq))) == "{\"ack\":0}")

                try stack.stackctl("ctl", "set_vm_memory_high_watermark", "0.0001")
                try await Self.undoing({ try stack.stackctl("ctl", "set_vm_memory_high_watermark", "0.4") }) {
                    // Until the alarm is seen every reading is acked or nacked, never left waiting.
                    try await stack.eventually("a reading is refused", timeout: .seconds(30)) {
                        seq += 1
                        let start = ContinuousClock.now
                        let reply = try await tcp.send(IngestTests.line(IngestTests.reading("alarm-1", seq)), timeout: .seconds(10))
                        #expect(ContinuousClock.now - start < .seconds(5), "\(reply)")
                        return reply.contains("nack")
                    }
                    let r = try await Self.readyz(stack.ingestAdminPort)
                    #expect(r.status == 503 && r.body.contains("resource alarm"), "\(r.body)")
                    // The device-facing port says only that ingest is not ready.
                    let shown = try await Self.readyz(stack.httpPort)
                    #expect(shown.status == 503 && shown.body == #"{"ready":false}"#, "\(shown.body)")
                    seq += 1
                    let start = ContinuousClock.now
                    let reply = try await tcp.send(IngestTests.line(IngestTests.reading("alarm-1", seq)), timeout: .seconds(10))
                    let took = ContinuousClock.now - start
                    print("memory alarm: a reading refused in \(took)")
                    #expect(reply == "{\"nack\":\(seq),\"error\":\"broker is refusing new readings for now (resource alarm: low on memory)\",\"retry_after\":5}")
                    let http = try await HTTPConnection.connect(host: "127.0.0.1", port: stack.httpPort, tls: nil)
                    let posted = try await IngestTests().post(http, [IngestTests.reading("alarm-2", 1)])
                    await http.close()
                    #expect(posted.status == 503)
                    #expect(posted.header("Retry-After") == "5")
                }
                try await stack.eventually("ready again after the alarm", timeout: .seconds(30)) {
                    try await Self.readyz(stack.httpPort).status == 200
                }
                seq += 1
                #expect(try await tcp.send(IngestTests.line(IngestTests.reading("alarm-1", seq))) == "{\"ack\":\(seq)}")
            }
        }
    }
}
