import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import PipelineCore
import Testing

@testable import SimulatorKit

/// The contract's retry rule on a test clock: one device on an `EmbeddedEventLoop`
/// whose time only the test moves, against links that answer as each test scripts.
/// Every wait is then exact: 1 s, 2 s … 10 s between attempts, to the nanosecond,
/// and the next reading at the device's next slot. (`RetryTests` runs the same rule
/// against real servers on real time.)
@Suite struct RetryClockTests {
    /// Records each connection attempt at the loop's time; each gets a link that answers once.
    final class ScriptedConnector: DeviceConnector, @unchecked Sendable {
        private let lock = NIOLock()
        private var log: [(target: Target, at: NIODeadline)] = []
        /// The answer to the `n`th attempt (from 0).
        let answer: @Sendable (Int) -> Result<Outcome, any Error>

        init(answer: @escaping @Sendable (Int) -> Result<Outcome, any Error>) { self.answer = answer }

        var attempts: [(target: Target, at: NIODeadline)] { lock.withLock { log } }

        func connect(_ target: Target, token: String?, timeout: TimeAmount, on loop: any EventLoop) -> EventLoopFuture<any DeviceLink> {
            let n = lock.withLock {
                log.append((target, loop.now))
                return log.count - 1
            }
            return loop.makeSucceededFuture(OneAnswer(loop: loop, result: answer(n)))
        }
    }

    /// A link that answers one reading and is then gone, so that every attempt connects anew.
    struct OneAnswer: DeviceLink {
        let loop: any EventLoop
        let result: Result<Outcome, any Error>
        var isActive: Bool { false }
        func close() {}
        func send(_ reading: Reading, timeout: TimeAmount) -> EventLoopFuture<Outcome> { loop.makeCompletedFuture(result) }
    }

    struct Refused: Error {}

    static let targets = [Target(kind: .tcp, host: "a.example", port: 7070), Target(kind: .http, host: "b.example", port: 8443)]

    /// One device sending every 10 s from now, with the default schedule (1 s step, 10 s cap, 10 retries).
    static func device(_ connector: ScriptedConnector) throws -> (EmbeddedEventLoop, DeviceRunner, Simulator) {
        let loop = EmbeddedEventLoop()
        let configuration = SimulatorConfiguration(
            devices: 1, interval: .seconds(10), targets: targets, duration: nil, anomalyRate: 0, seed: 1, devicePrefix: "c-",
            seqStart: 1, jitter: 0)
        let fleet = try Simulator(configuration: configuration, logger: RecordingLogHandler.logger().0, connector: connector)
        let runner = DeviceRunner(index: 0, fleet: fleet, clock: SlotClock(loop: loop))
        _ = runner.start(at: loop.now, until: nil, startDate: Date())
        return (loop, runner, fleet)
    }

    /// Moves the clock in 1 ms steps until `done` holds (at most a minute), so that nothing after it runs.
    static func advance(_ loop: EmbeddedEventLoop, until done: () -> Bool) {
        for _ in 0..<60_000 where !done() { loop.advanceTime(by: .milliseconds(1)) }
    }

    @Test func theWaitsAreOneToTenSecondsThenTheReadingFailsAndTheNextWaitsForItsSlot() throws {
        let connector = ScriptedConnector { _ in .failure(Refused()) }
        let (loop, runner, fleet) = try Self.device(connector)
        loop.advanceTime(by: .seconds(120))
        let attempts = connector.attempts
        try #require(attempts.count >= 12, "\(attempts.count) attempts")
        let gaps = zip(attempts, attempts.dropFirst()).prefix(10).map { $1.at - $0.at }
        #expect(gaps == (1...10).map { TimeAmount(RetrySchedule.default.delay(beforeRetry: $0)!) })
        #expect(gaps.map(\.nanoseconds) == (1...10).map { Int64($0) * 1_000_000_000 }, "1 s, 2 s … 10 s")
        #expect(attempts.prefix(11).map(\.target) == (0..<11).map { Self.targets[$0 % 2] }, "each retry goes to the next target")
        // The first reading failed after 55 s of retries; the next one waits for the device's next slot
        // (a multiple of the interval after its first), not for the interval after the failure.
        let first = attempts[0].at
        let next = attempts[11].at - first
        #expect(next >= .seconds(60) && next < .seconds(60) + .milliseconds(5), "\(next)")
        let stats = fleet.stats.snapshot
        #expect(stats.failed >= 1 && stats.retries >= 10 && stats.acked == 0)
        runner.stop()
        loop.run()
    }

    @Test func aReadingAckedOnItsThirdAttemptCountsTwoRetries() throws {
        let connector = ScriptedConnector { n in n < 2 ? .failure(Refused()) : .success(.acked) }
        let (loop, runner, fleet) = try Self.device(connector)
        Self.advance(loop) { connector.attempts.count == 3 }
        let attempts = connector.attempts
        try #require(attempts.count == 3)
        #expect(attempts[1].at - attempts[0].at == .seconds(1) && attempts[2].at - attempts[1].at == .seconds(2))
        let stats = fleet.stats.snapshot
        #expect(stats.sent == 1 && stats.acked == 1 && stats.retries == 2 && stats.failed == 0)
        runner.stop()
        loop.run()
    }

    @Test func aReadingTheServerRejectsIsNeverRetried() throws {
        let connector = ScriptedConnector { _ in .success(.refused(reason: "HTTP 400: bad reading", retry: false)) }
        let (loop, runner, fleet) = try Self.device(connector)
        Self.advance(loop) { connector.attempts.count == 1 }
        loop.advanceTime(by: .seconds(5))
        #expect(connector.attempts.count == 1, "nothing more before the next slot")
        let stats = fleet.stats.snapshot
        #expect(stats.sent == 1 && stats.failed == 1 && stats.retries == 0)
        runner.stop()
        loop.run()
    }
}
