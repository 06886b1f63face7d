import Foundation
import NIOConcurrencyHelpers
import PipelineCore
import Testing

@testable import SimulatorKit

/// The contract's retry rule over real connections, against servers that fail on
/// purpose. The schedule is the default one scaled down (its step and cap shrunk by
/// the same factor); `RetryClockTests` shows the real values, 1 s … 10 s, exactly.
@Suite struct RetryTests {
    /// One device, one reading: an interval as long as the run, no jitter.
    static func oneReading(_ targets: [Target], retry: RetrySchedule) -> SimulatorConfiguration {
        SimulatorConfiguration(
            devices: 1, interval: .seconds(1), targets: targets, duration: .seconds(1), anomalyRate: 0, seed: 1,
            devicePrefix: "d-", seqStart: 100, retry: retry, replyTimeout: .seconds(5), jitter: 0)
    }

    @Test(arguments: [
        RetrySchedule(step: .milliseconds(300), cap: .seconds(3), maxRetries: 10),  // the default, ÷3.3: never capped
        RetrySchedule(step: .milliseconds(200), cap: .milliseconds(800), maxRetries: 10),  // capped from the 4th retry
    ])
    func backoffFollowsTheScheduleAgainstAServerThatDropsEveryConnection(_ schedule: RetrySchedule) async throws {
        let server = try await ScriptedServer.start { _, _, _ in .drop }
        defer { Task { await server.stop() } }
        let (logger, logs) = RecordingLogHandler.logger()
        let target = Target(kind: .tcp, host: "127.0.0.1", port: server.port)
        let report = try await Simulator(configuration: Self.oneReading([target], retry: schedule), logger: logger).run()

        #expect(report.sent == 1 && report.acked == 0 && report.failed == 1)
        #expect(report.retries == 10)
        let attempts = server.received
        #expect(attempts.count == 11, "the first try and ten retries")
        #expect(Set(attempts.map(\.seq)) == [100])
        for (i, pair) in zip(attempts, attempts.dropFirst()).enumerated() {
            let gap = pair.1.at - pair.0.at
            let planned = schedule.delay(beforeRetry: i + 1)!
            // Never sooner than planned; later by a reconnect and by how busy the machine is. The exact
            // waits are RetryClockTests' to show, on a test clock; the logged waits below pin the values.
            #expect(gap >= planned, "retry \(i + 1): \(gap) for \(planned)")
        }
        let retries = logs.entries.filter { $0.message == "retry" }
        #expect(retries.map { $0.metadata["attempt"] } == (1...10).map { "\($0)" })
        #expect(retries.map { $0.metadata["wait"] } == (1...10).map { "\(schedule.delay(beforeRetry: $0)!)" })
        #expect(retries.allSatisfy { $0.metadata["device"] == "d-0000" && $0.metadata["seq"] == "100" })
        #expect(retries.allSatisfy { $0.metadata["cause"]?.contains("closed") == true })
        let failed = logs.entries.filter { $0.message == "reading failed" }
        #expect(failed.count == 1 && failed.first?.metadata["attempts"] == "11")
    }

    /// Each retry goes to the next target: a dropping server, a refused port, a
    /// nacking server, an HTTP server answering 503 then 429, and one that accepts.
    @Test func retriesRotateThroughTheTargets() async throws {
        let dropping = try await ScriptedServer.start { _, _, _ in .drop }
        let nacking = try await ScriptedServer.start { _, _, _ in .nack }
        let busy = try await ScriptedServer.start(http: true) { _, _, n in n == 1 ? .nack : .tooMany }
        let accepting = try await ScriptedServer.start { _, _, _ in .ack }
        let servers = [dropping, nacking, busy, accepting]
        defer { Task { for s in servers { await s.stop() } } }
        let refused = try ScriptedServer.closedPort()
        let targets = [
            Target(kind: .tcp, host: "127.0.0.1", port: dropping.port), Target(kind: .tcp, host: "127.0.0.1", port: refused),
            Target(kind: .tcp, host: "127.0.0.1", port: nacking.port), Target(kind: .http, host: "127.0.0.1", port: busy.port),
            Target(kind: .http, host: "127.0.0.1", port: busy.port), Target(kind: .tcp, host: "127.0.0.1", port: accepting.port),
        ]
        let (logger, logs) = RecordingLogHandler.logger()
        let schedule = RetrySchedule(step: .milliseconds(20), cap: .milliseconds(200), maxRetries: 10)
        let report = try await Simulator(configuration: Self.oneReading(targets, retry: schedule), logger: logger).run()

        #expect(report.acked == 1 && report.failed == 0 && report.retries == 5)
        #expect(report.ackedPairs.map(\.1) == [100])
        #expect(dropping.received.map(\.action) == [.drop])
        #expect(nacking.received.map(\.action) == [.nack])
        #expect(busy.received.map(\.action) == [.nack, .tooMany])
        #expect(accepting.received.map(\.action) == [.ack])
        let retries = logs.entries.filter { $0.message == "retry" }
        #expect(retries.map { $0.metadata["target"] } == targets.dropFirst().map(\.description))
        let causes = retries.map { $0.metadata["cause"] ?? "" }
        #expect(causes[0].contains("closed"))
        #expect(causes[1].lowercased().contains("refused"), "\(causes[1])")
        #expect(causes[2].contains("nack"))
        #expect(causes[3].contains("503") && causes[4].contains("429"))
    }

    /// A 400 cannot be fixed by sending the same reading again: failed at once, never retried.
    @Test func aRejectedReadingFailsWithoutRetries() async throws {
        let server = try await ScriptedServer.start(http: true) { _, _, _ in .reject }
        defer { Task { await server.stop() } }
        let target = Target(kind: .http, host: "127.0.0.1", port: server.port)
        let schedule = RetrySchedule(step: .milliseconds(20), cap: .milliseconds(200), maxRetries: 10)
        let report = try await Simulator(configuration: Self.oneReading([target], retry: schedule), logger: RecordingLogHandler.logger().0).run()
        #expect(report.sent == 1 && report.failed == 1 && report.retries == 0 && server.received.count == 1)
    }

    /// Many devices against a server that acks, nacks and drops at random (and never
    /// answers devices whose id ends in 3): the report agrees with what the server
    /// saw, reading for reading.
    @Test func theReportAgreesWithWhatTheServerReceived() async throws {
        let server = try await ScriptedServer.start { device, seq, attempt in
            if device.hasSuffix("3") { return .drop }
            var rng = SeededGenerator(seed: UInt64(bitPattern: seq) &* 31 &+ device.utf8.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) } &+ UInt64(attempt))
            let x = Double.random(in: 0..<1, using: &rng)
            return x < 0.7 ? .ack : x < 0.85 ? .nack : .drop
        }
        defer { Task { await server.stop() } }
        let config = SimulatorConfiguration(
            devices: 30, interval: .milliseconds(100), targets: [Target(kind: .tcp, host: "127.0.0.1", port: server.port)],
            duration: .seconds(2), anomalyRate: 0.05, seed: 9, devicePrefix: "n-", seqStart: 1,
            retry: RetrySchedule(step: .milliseconds(10), cap: .milliseconds(100), maxRetries: 3), replyTimeout: .seconds(5))
        let (logger, logs) = RecordingLogHandler.logger()
        let report = try await Simulator(configuration: config, logger: logger).run()
        let received = server.received
        #expect(logs.entries.filter { $0.message == "retry" }.count == report.retries)

        #expect(report.sent >= 30, "every device sent")
        #expect(received.count == report.sent + report.retries, "every attempt reached the server")
        #expect(Set(received.map { "\($0.device):\($0.seq)" }).count == report.sent)
        let serverAcked = Set(received.filter { $0.action == .ack }.map { "\($0.device):\($0.seq)" })
        #expect(serverAcked == Set(report.ackedPairs.map { "\($0.0):\($0.1)" }))
        #expect(report.acked == serverAcked.count)
        #expect(report.acked + report.failed == report.sent)
        #expect(report.failed >= 3, "the readings of the devices ending in 3 ran out of retries")
        // Failed readings are exactly those whose four attempts all failed.
        let attemptsBySeq = Dictionary(grouping: received) { "\($0.device):\($0.seq)" }
        #expect(attemptsBySeq.values.filter { $0.count == 4 && !$0.contains { $0.action == .ack } }.count == report.failed)
    }

    /// Once every device has three readings acked, the server drops everything for
    /// 1.5 s: each device reports a silence covering the outage, and every reading
    /// still ends acked.
    @Test func anOutageShowsAsAGapBetweenAcksOfEveryDevice() async throws {
        let outage = NIOLockedValueBox<(acks: [String: Int], from: Date?)>(([:], nil))
        let server = try await ScriptedServer.start { device, _, _ in
            outage.withLockedValue { state in
                let now = Date()
                if let from = state.from {
                    if now < from.addingTimeInterval(1.5) { return .drop }
                    return .ack
                }
                state.acks[device, default: 0] += 1
                if state.acks.count == 10, state.acks.values.allSatisfy({ $0 >= 3 }) { state.from = now }
                return .ack
            }
        }
        defer { Task { await server.stop() } }
        let config = SimulatorConfiguration(
            devices: 10, interval: .milliseconds(100), targets: [Target(kind: .tcp, host: "127.0.0.1", port: server.port)],
            duration: .seconds(4), anomalyRate: 0, seed: 3, devicePrefix: "g-", seqStart: 1,
            retry: RetrySchedule(step: .milliseconds(100), cap: .milliseconds(300), maxRetries: 10), replyTimeout: .seconds(5))
        let report = try await Simulator(configuration: config, logger: RecordingLogHandler.logger().0).run()
        let from = try #require(outage.withLockedValue { $0.from }, "the outage began")
        let outageMs = Int64(from.timeIntervalSince(report.startedAt) * 1000)
        #expect(report.failed == 0)
        #expect(report.retries > 0)
        let byDevice = Dictionary(grouping: report.ackGaps, by: \.device)
        #expect(byDevice.count == 10, "\(report.ackGaps)")
        for (device, gaps) in byDevice {
            let longest = try #require(gaps.max { $0.ms < $1.ms })
            // The last ack before the outage and the first after it. An ack the server sent just before
            // the outage reaches the device later on a busy machine (measured 20+ ms while the chaos test
            // ran beside it): the gap must cover the outage, give or take that delivery.
            #expect(longest.fromMs <= outageMs + 300 && longest.toMs >= outageMs + 1480, "device \(device): \(longest), outage at \(outageMs)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        #expect((json["ack_gaps"] as? [[String: Any]])?.count == report.ackGaps.count)
    }

    /// Ctrl-C while a reading waits for its retry: the run ends at once and the
    /// reading counts as failed, not lost.
    @Test func cancellingDuringARetryWaitCountsTheReadingFailed() async throws {
        let server = try await ScriptedServer.start { _, _, _ in .drop }
        defer { Task { await server.stop() } }
        let target = Target(kind: .tcp, host: "127.0.0.1", port: server.port)
        let config = SimulatorConfiguration(
            devices: 3, interval: .milliseconds(200), targets: [target], duration: nil, anomalyRate: 0, seed: 1,
            devicePrefix: "c-", seqStart: 1, retry: RetrySchedule(step: .seconds(30), cap: .seconds(30), maxRetries: 10), jitter: 0)
        let simulator = try Simulator(configuration: config, logger: RecordingLogHandler.logger().0)
        let run = Task { await simulator.run() }
        while server.received.count < 3 { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(100))
        run.cancel()
        // Wait for the report at most 5 s (a hang must fail the test, not stall the suite).
        let result = NIOLockedValueBox<SimulatorReport?>(nil)
        Task { let report = await run.value; result.withLockedValue { $0 = report } }
        let deadline = ContinuousClock.now + .seconds(5)
        while result.withLockedValue({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let report = try #require(result.withLockedValue { $0 }, "the run ended without waiting for the 30 s retries")
        #expect(report.sent == 3 && report.failed == 3 && report.acked == 0)
    }
}
