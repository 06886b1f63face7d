import Foundation
import Logging
import NIOSSL
import PipelineCore

/// Emulates a fleet: one task and one connection per device, a reading every
/// interval (with a per-device phase), and the contract's retry rule: the same
/// reading again after 1 s, 2 s … capped at 10 s, at most 10 retries, rotating
/// through the targets; then it counts as failed. Nothing is dropped silently.
public final class Simulator: Sendable {
    public let configuration: SimulatorConfiguration
    let logger: Logger
    let stats = SimulatorStats()
    let tls: NIOSSLContext?

    public init(configuration: SimulatorConfiguration, logger: Logger) throws {
        precondition(!configuration.targets.isEmpty, "at least one target")
        self.configuration = configuration
        self.logger = logger
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

    /// Runs every device until the duration is over (then waits for readings
    /// still being retried) or the task is cancelled, and returns the report.
    public func run(status: (@Sendable (String) -> Void)? = nil) async -> SimulatorReport {
        let started = Date()
        let clock = ContinuousClock()
        let start = clock.now
        let end = configuration.duration.map { start + $0 }
        await withTaskGroup(of: Void.self) { group in
            if let status {
                group.addTask { [self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(5))
                        status(statusLine(elapsed: clock.now - start))
                    }
                }
            }
            await withTaskGroup(of: Void.self) { devices in
                for i in 0..<configuration.devices {
                    devices.addTask { [self] in await runDevice(i, start: start, end: end) }
                }
            }
            group.cancelAll()
        }
        return SimulatorReport(configuration: configuration, stats: stats.snapshot, startedAt: started, finishedAt: Date())
    }

    /// One line for humans: rate, acked, retries, failures, p99 ack latency.
    public func statusLine(elapsed: Duration) -> String {
        let c = stats.counters
        let seconds = max(Double(elapsed.components.seconds), 1)
        let p99 = c.p99.map { String(format: "%.1f ms", $0) } ?? "-"
        return String(
            format: "%4.0fs  sent %d  acked %d (%.1f/s)  retries %d  failed %d  p99 ack %@", seconds, c.sent, c.acked,
            Double(c.acked) / seconds, c.retries, c.failed, p99)
    }

    private func runDevice(_ index: Int, start: ContinuousClock.Instant, end: ContinuousClock.Instant?) async {
        let id = configuration.deviceID(index)
        var model = DeviceModel(
            deviceID: id, seed: configuration.seed &* 1_000_003 &+ UInt64(index), anomalyRate: configuration.anomalyRate,
            firstSeq: configuration.seqStart)
        var phaseRNG = SeededGenerator(seed: configuration.seed ^ UInt64(index) &* 0x9E37_79B9)
        let phase = configuration.interval * Double.random(in: 0..<1, using: &phaseRNG)
        var targetIndex = index % configuration.targets.count
        var link: DeviceLink?
        var next = start + phase
        while !Task.isCancelled {
            if let end, next >= end { break }
            try? await Task.sleep(until: next, clock: .continuous)
            if Task.isCancelled { break }
            let (reading, injected) = model.next(at: Date())
            stats.sent(injected)
            var attempt = 0
            while true {
                let t0 = ContinuousClock.now
                var cause: String
                var retryable = true
                do {
                    if link == nil || link?.isActive == false {
                        await link?.close()
                        link = try await DeviceLink.connect(
                            configuration.targets[targetIndex], tls: tls, token: configuration.tokens[id])
                    }
                    let outcome = try await withDeadline(configuration.replyTimeout) { [link] in try await link!.send(reading) }
                    if case .refused(let reason, let retry) = outcome {
                        cause = reason
                        retryable = retry
                    } else {
                        let ms = Double((ContinuousClock.now - t0) / .microseconds(1)) / 1000
                        stats.acked(id, reading.seq, latencyMs: ms)
                        break
                    }
                } catch let refused as AuthRefused {
                    cause = refused.description
                    retryable = !refused.reply.contains("\"unauthorized\"")
                } catch {
                    cause = "\(error)"
                    await link?.close()
                    link = nil
                }
                if Task.isCancelled {
                    stats.failed()
                    logger.warning("reading interrupted", metadata: ["device": "\(id)", "seq": "\(reading.seq)"])
                    break
                }
                attempt += 1
                guard retryable, let delay = configuration.retry.delay(beforeRetry: attempt) else {
                    stats.failed()
                    logger.warning(
                        "reading failed", metadata: ["device": "\(id)", "seq": "\(reading.seq)", "attempts": "\(attempt)", "cause": "\(cause)"])
                    break
                }
                stats.retried()
                await link?.close()
                link = nil
                targetIndex = (targetIndex + 1) % configuration.targets.count
                logger.info(
                    "retry",
                    metadata: [
                        "device": "\(id)", "seq": "\(reading.seq)", "attempt": "\(attempt)", "cause": "\(cause)",
                        "wait": "\(delay)", "target": "\(configuration.targets[targetIndex])",
                    ])
                try? await Task.sleep(for: delay)
            }
            next = next + configuration.interval
            let now = ContinuousClock.now
            while next < now { next = next + configuration.interval }
        }
        await link?.close()
    }
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    var description: String { "no reply in time" }
}

/// Runs `body`, throwing `DeadlineExceeded` if it takes longer than `timeout`.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
