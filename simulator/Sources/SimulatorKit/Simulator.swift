import Foundation
package import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PipelineCore

/// Emulates a fleet: one connection per device, each device driven by timers
/// on SwiftNIO's event loops (`DeviceRunner`: no thread or task per device), a
/// reading every interval at a per-device phase with jitter, and the contract's retry rule: the same reading again
/// after 1 s, 2 s … capped at 10 s, at most 10 retries, rotating through the
/// targets; then it counts as failed. Nothing is dropped silently.
package final class Simulator: Sendable {
    package let configuration: SimulatorConfiguration
    let logger: Logger
    let stats: SimulatorStats
    /// How devices reach their targets: over the network, unless a test scripts it.
    let connector: any DeviceConnector
    /// Silences between two acks of a device longer than this are reported as gaps.
    package let gapThreshold: Duration
    private let interval: NIOLockedValueBox<Duration>
    private let clock = ContinuousClock()
    private let startedAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    package convenience init(configuration: SimulatorConfiguration, logger: Logger) throws {
        try self.init(configuration: configuration, logger: logger, connector: nil)
    }

    /// `connector`: nil for the network (with TLS as the configuration says).
    init(configuration: SimulatorConfiguration, logger: Logger, connector: (any DeviceConnector)?) throws {
        precondition(!configuration.targets.isEmpty, "at least one target")
        self.configuration = configuration
        self.logger = logger
        gapThreshold = max(configuration.interval * 2, Duration.seconds(1))
        stats = SimulatorStats(
            keepsPairs: configuration.keepsAckedPairs, devices: configuration.devices,
            gapThresholdMs: Int64(gapThreshold / .milliseconds(1)))
        interval = NIOLockedValueBox(configuration.interval)
        if let connector {
            self.connector = connector
        } else if configuration.targets.contains(where: \.usesTLS) {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if let ca = configuration.caFile {
                tlsConfiguration.trustRoots = .file(ca)
            }
            if configuration.insecure { tlsConfiguration.certificateVerification = .none }
            self.connector = NetworkConnector(tls: try NIOSSLContext(configuration: tlsConfiguration))
        } else {
            self.connector = NetworkConnector(tls: nil)
        }
    }

    /// Changes the interval of every device from its next reading on (the benchmark ramps the rate with it).
    package func setInterval(_ newValue: Duration) { interval.withLockedValue { $0 = newValue } }

    /// Runs every device until the duration is over (then waits for readings
    /// still being retried) or the task is cancelled, and returns the report.
    package func run() async -> SimulatorReport {
        let started = Date()
        let start = NIODeadline.now()
        let startInstant = clock.now
        startedAt.withLockedValue { $0 = startInstant }
        stats.started(at: startInstant)
        let end = configuration.duration.map { start + TimeAmount($0) }
        let group = MultiThreadedEventLoopGroup.singleton
        let clocks = group.makeIterator().map { SlotClock(loop: $0) }
        let runners = (0..<configuration.devices).map { DeviceRunner(index: $0, fleet: self, clock: clocks[$0 % clocks.count]) }
        let stopped = runners.map { $0.start(at: start, until: end, startDate: started) }
        await withTaskCancellationHandler {
            _ = try? await EventLoopFuture.andAllComplete(stopped, on: group.next()).get()
        } onCancel: {
            for r in runners { r.stop() }
        }
        return SimulatorReport(configuration: configuration, stats: stats.snapshot, startedAt: started, finishedAt: Date())
    }

    /// The interval between a device's readings now.
    func currentInterval() -> TimeAmount {
        TimeAmount(interval.withLockedValue { $0 })
    }

    var replyTimeout: TimeAmount { TimeAmount(configuration.replyTimeout) }

    /// The run's counters, with the rate and p99 since the previous call: call it from one place.
    package func status() -> SimulatorStatus {
        let now = clock.now
        let (s, windowAcked, windowLatency) = stats.takeWindow()
        let start = startedAt.withLockedValue { $0 } ?? now
        let since = lastStatus.withLockedValue { last -> ContinuousClock.Instant in
            defer { last = now }
            return last ?? start
        }
        let seconds = max((now - since) / .seconds(1), 0.001)
        return SimulatorStatus(
            elapsed: now - start, sent: s.sent, acked: s.acked, failed: s.failed, retries: s.retries, connected: s.connected,
            ackedPerSecond: Double(windowAcked) / seconds, p99Ms: windowLatency.percentile(0.99))
    }

    private let lastStatus = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
}
