import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import PipelineCore

/// Emulates a fleet: one task and one connection per device (on SwiftNIO's
/// event loops, not a thread each), a reading every interval at a per-device
/// phase with jitter, and the contract's retry rule: the same reading again
/// after 1 s, 2 s … capped at 10 s, at most 10 retries, rotating through the
/// targets; then it counts as failed. Nothing is dropped silently.
public final class Simulator: Sendable {
    public let configuration: SimulatorConfiguration
    let logger: Logger
    let stats: SimulatorStats
    let tls: NIOSSLContext?
    private let interval: NIOLockedValueBox<Duration>
    private let clock = ContinuousClock()
    private let startedAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    public init(configuration: SimulatorConfiguration, logger: Logger) throws {
        precondition(!configuration.targets.isEmpty, "at least one target")
        self.configuration = configuration
        self.logger = logger
        stats = SimulatorStats(keepsPairs: configuration.keepsAckedPairs)
        interval = NIOLockedValueBox(configuration.interval)
        if configuration.targets.contains(where: \.usesTLS) {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if let ca = configuration.caFile {
                tlsConfiguration.trustRoots = .file(ca)
            }
            if configuration.insecure { tlsConfiguration.certificateVerification = .none }
            tls = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            tls = nil
        }
    }

    /// Changes the interval of every device from its next reading on (the benchmark ramps the rate with it).
    public func setInterval(_ newValue: Duration) { interval.withLockedValue { $0 = newValue } }

    /// Runs every device until the duration is over (then waits for readings
    /// still being retried) or the task is cancelled, and returns the report.
    public func run() async -> SimulatorReport {
        let started = Date()
        let start = clock.now
        startedAt.withLockedValue { $0 = start }
        let end = configuration.duration.map { start + $0 }
        await withTaskGroup(of: Void.self) { devices in
            for i in 0..<configuration.devices {
                devices.addTask { [self] in await runDevice(i, start: start, startDate: started, end: end) }
            }
        }
        return SimulatorReport(configuration: configuration, stats: stats.snapshot, startedAt: started, finishedAt: Date())
    }

    /// The run's counters, with the rate and p99 since the previous call: call it from one place.
    public func status() -> SimulatorStatus {
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

    /// A device's connection and where it is in the target rotation.
    private struct Link {
        var current: DeviceLink?
        var target: Int
    }

    private func runDevice(_ index: Int, start: ContinuousClock.Instant, startDate: Date, end: ContinuousClock.Instant?) async {
        let id = configuration.deviceID(index)
        var model = DeviceModel(
            deviceID: id, seed: configuration.seed &* 1_000_003 &+ UInt64(index), anomalyRate: configuration.anomalyRate,
            firstSeq: configuration.seqStart)
        var timing = SeededGenerator(seed: (configuration.seed ^ 0x5EED) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index))
        var link = Link(current: nil, target: index % configuration.targets.count)

        // What the device buffered before the start, oldest first.
        let historyStep = configuration.interval / .seconds(1)
        for i in 0..<configuration.history where !Task.isCancelled {
            let (reading, injected) = model.next(at: startDate - Double(configuration.history - i) * historyStep)
            await deliver(reading, injected, device: index, id: id, link: &link)
        }

        var slot = start + interval.withLockedValue { $0 } * Double.random(in: 0..<1, using: &timing)
        while !Task.isCancelled {
            let step = interval.withLockedValue { $0 }
            let at = slot + step * (configuration.jitter * Double.random(in: -1...1, using: &timing))
            if let end, at >= end { break }
            try? await Task.sleep(until: at, clock: .continuous)
            if Task.isCancelled { break }
            let (reading, injected) = model.next(at: Date())
            await deliver(reading, injected, device: index, id: id, link: &link)
            // A device that spent longer than its interval retrying measures again at its next slot.
            slot = slot + step
            let now = clock.now
            if slot < now { slot = slot + step * ((now - slot) / step).rounded(.up) }
        }
        if let current = link.current {
            await current.close()
            stats.connectionClosed()
        }
    }

    /// Delivers one reading under the retry rule: acked, or counted failed.
    private func deliver(_ reading: Reading, _ injected: [InjectedAnomaly], device: Int, id: String, link: inout Link) async {
        stats.sent(injected)
        let timeout = TimeAmount.nanoseconds(Int64(configuration.replyTimeout / .nanoseconds(1)))
        var attempt = 0
        while true {
            let t0 = clock.now
            var cause: String
            var retryable = true
            do {
                if let current = link.current, !current.isActive {
                    await current.close()
                    stats.connectionClosed()
                    link.current = nil
                }
                if link.current == nil {
                    link.current = try await DeviceLink.connect(
                        configuration.targets[link.target], tls: tls, token: configuration.tokens[id], timeout: timeout)
                    stats.connectionOpened()
                }
                switch try await link.current!.send(reading, timeout: timeout) {
                case .acked:
                    stats.acked(device: device, seq: reading.seq, latencyMs: (clock.now - t0) / .milliseconds(1))
                    return
                case .refused(let reason, let retry):
                    cause = reason
                    retryable = retry
                }
            } catch let refused as AuthRefused {
                cause = refused.description
                retryable = !refused.reply.contains("\"unauthorized\"")
            } catch {
                cause = "\(error)"
            }
            if Task.isCancelled {
                stats.failed()
                logger.warning("reading interrupted", metadata: ["device": "\(id)", "seq": "\(reading.seq)"])
                return
            }
            attempt += 1
            guard retryable, let delay = configuration.retry.delay(beforeRetry: attempt) else {
                stats.failed()
                logger.warning(
                    "reading failed",
                    metadata: ["device": "\(id)", "seq": "\(reading.seq)", "attempts": "\(attempt)", "cause": "\(cause)"])
                return
            }
            stats.retried()
            if let current = link.current {
                await current.close()
                stats.connectionClosed()
                link.current = nil
            }
            link.target = (link.target + 1) % configuration.targets.count
            logger.info(
                "retry",
                metadata: [
                    "device": "\(id)", "seq": "\(reading.seq)", "attempt": "\(attempt)", "cause": "\(cause)",
                    "wait": "\(delay)", "target": "\(configuration.targets[link.target])",
                ])
            try? await Task.sleep(for: delay)
        }
    }
}
