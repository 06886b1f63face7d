import ChaosKit
import Foundation
import PipelineCore
import SimulatorKit
import Testing

extension Integration {
    /// The real `pipeline ingest` executable: `/kill`, SIGTERM, and `/metrics`.
    @Suite struct IngestProcessTests {
        /// Starts `pipeline ingest` on the test stack's broker, plain HTTP and TCP.
        func launch(_ stack: TestStack, kill: Bool) throws -> ManagedProcess {
            let arguments = [
                "ingest", "--host", "127.0.0.1", "--http-port", "\(stack.httpPort)", "--tcp-port", "\(stack.tcpPort)",
                "--admin-port", "\(stack.ingestAdminPort)",
            ] + (kill ? ["--enable-kill"] : [])
            var env = ProcessInfo.processInfo.environment
            env["AMQP_QUEUE"] = stack.queue
            env["DEVICE_AUTH"] = "off"
            env["LOG_LEVEL"] = "warning"
            env.removeValue(forKey: "TLS_CERT")
            env.removeValue(forKey: "TLS_KEY")
            return try TestStack.launch(arguments, environment: env)
        }

        func waitReady(_ stack: TestStack) async throws {
            // Both listeners: the public one and the admin one start side by side.
            for port in [stack.httpPort, stack.ingestAdminPort] {
                try await stack.eventually("ingest process ready on port \(port)") {
                    let c = try await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil)
                    defer { Task { await c.close() } }
                    return try await c.request(.GET, "/readyz").status == 200
                }
            }
        }

        func waitExit(_ p: ManagedProcess, within: Duration) async throws -> Int32 {
            guard await p.waitForExit(timeout: within), let status = p.terminationStatus else {
                p.signal(SIGINT)
                throw TestStack.StackError("process did not exit within \(within)")
            }
            return status
        }

        @Test func killIsNotFoundUnlessEnabledAndThenExitsAtOnce() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let quiet = try launch(stack, kill: false)
            try await waitReady(stack)
            var c = try await HTTPConnection.connect(host: "127.0.0.1", port: stack.ingestAdminPort, tls: nil)
            #expect(try await c.request(.POST, "/kill").status == 404)
            await c.close()
            quiet.signal(SIGTERM)
            #expect(try await waitExit(quiet, within: .seconds(15)) == 0)

            let p = try launch(stack, kill: true)
            try await waitReady(stack)
            // Enabled, it is served on the admin port only.
            c = try await HTTPConnection.connect(host: "127.0.0.1", port: stack.httpPort, tls: nil)
            #expect(try await c.request(.POST, "/kill").status == 404)
            await c.close()
            c = try await HTTPConnection.connect(host: "127.0.0.1", port: stack.ingestAdminPort, tls: nil)
            await #expect(throws: (any Error).self) { _ = try await c.request(.POST, "/kill") }
            #expect(try await waitExit(p, within: .seconds(5)) == 137)
        }

        @Test func sigtermAnswersEveryReadingInFlightThenExits() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let p = try launch(stack, kill: false)
            try await waitReady(stack)
            let tcp = try await LineConnection.connect(host: "127.0.0.1", port: stack.tcpPort, tls: nil)
            let readings = (0..<300).map {
                Reading(deviceID: "term-1", seq: Int64($0), ts: "2026-11-25T08:00:00Z", metrics: ["hr": 70])
            }
            // Pipeline 300 lines in one write; signal as soon as the first reply is back, with the
            // rest still in flight. (Sent one by one, lines still on their way when the drain
            // begins would rightly get no reply: ingest answers what it has read.)
            let replies = tcp.pipeline(readings.map { String(decoding: ReadingCodec.encode($0), as: UTF8.self) })
            _ = try await replies[0].get()
            p.signal(SIGTERM)
            var all: [(Int64, String)] = []
            for (r, reply) in zip(readings, replies) { all.append((r.seq, try await reply.get())) }
            #expect(all.count == 300)
            #expect(all.allSatisfy { $0.1 == "{\"ack\":\($0.0)}" })
            #expect(try await waitExit(p, within: .seconds(15)) == 0)
            try await stack.eventually("connection closed by the server", timeout: .seconds(5)) { !tcp.isActive }
        }
    }
}
