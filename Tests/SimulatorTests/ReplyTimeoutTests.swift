import Foundation
import Testing

@testable import SimulatorKit

/// A reply that does not come in time fails what is pending and closes the connection;
/// each request is held to its own deadline, not to the one of the request before it
/// (the connection has one timer, re-armed when it fires early for a newer request).
@Suite struct ReplyTimeoutTests {
    static func line(_ seq: Int) -> String {
        #"{"device_id":"d-1","seq":\#(seq),"ts":"2026-12-01T00:00:00Z","metrics":{"heart_rate":70}}"#
    }

    @Test func aLineWithoutReplyFailsAtItsOwnDeadlineAndClosesTheConnection() async throws {
        let server = try await ScriptedServer.start { _, seq, _ in seq == 1 ? .ack : .silent }
        defer { Task { await server.stop() } }
        let connection = try await LineConnection.connect(host: "127.0.0.1", port: server.port, tls: nil)

        // Answered in time: its deadline (0.3 s from now) is what the connection's timer is armed for.
        #expect(try await connection.send(Self.line(1), timeout: .milliseconds(300)) == #"{"ack":1}"#)
        try await Task.sleep(for: .milliseconds(100))
        let sent = ContinuousClock.now
        await #expect(throws: ReplyTimeout.self) { try await connection.send(Self.line(2), timeout: .milliseconds(600)) }
        let waited = ContinuousClock.now - sent
        #expect(waited >= .milliseconds(600), "failed after \(waited), before its own deadline")
        #expect(waited < .seconds(3), "failed only after \(waited)")
        try await Task.sleep(for: .milliseconds(50))
        #expect(!connection.isActive, "a late reply must not be taken for the next request's")
    }

    @Test func anHTTPRequestWithoutReplyFailsWithReplyTimeout() async throws {
        let server = try await ScriptedServer.start(http: true) { _, _, _ in .silent }
        defer { Task { await server.stop() } }
        let connection = try await HTTPConnection.connect(host: "127.0.0.1", port: server.port, tls: nil)
        let sent = ContinuousClock.now
        await #expect(throws: ReplyTimeout.self) {
            try await connection.request(
                .POST, "/v1/readings", headers: [("Content-Type", "application/json")], body: Array(Self.line(1).utf8),
                timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - sent >= .milliseconds(300))
    }
}
