import Foundation
import NIOCore
import PipelineCore

/// One device, driven on one event loop: its readings, its connection and the
/// retry rule, with timers on the loop instead of a thread or a task of its own
/// (a fleet of 10,000 costs 10,000 small objects, not 10,000 stacks).
/// Confined to `loop`: every method runs there.
final class DeviceRunner: @unchecked Sendable {
    let index: Int
    let id: String
    let loop: any EventLoop
    private let fleet: Simulator
    private let done: EventLoopPromise<Void>
    private var model: DeviceModel
    private var timing: SeededGenerator
    private var link: (any DeviceLink)?
    private var target: Int
    private var slot = NIODeadline.uptimeNanoseconds(0)
    private var end: NIODeadline?
    private var historyDone = 0
    private var stopping = false
    /// The timer the device waits on: its next slot, or a retry's (whose reading then counts as failed on stop).
    private var waiting: Wait?
    private let clock: SlotClock
    private var busy = false
    private var finished = false

    /// What to do once a reading is acked or failed.
    private enum Next {
        case history, slot
    }

    private enum Wait {
        case slot(SlotClock.Ticket)
        case retry(Scheduled<Void>)
    }

    private func cancelWait() {
        switch waiting {
        case .slot(let ticket): clock.cancel(ticket)
        case .retry(let task): task.cancel()
        case nil: break
        }
        waiting = nil
    }

    init(index: Int, fleet: Simulator, clock: SlotClock) {
        let configuration = fleet.configuration
        self.index = index
        self.fleet = fleet
        self.clock = clock
        loop = clock.loop
        id = configuration.deviceID(index)
        model = configuration.model(index)
        timing = SeededGenerator(seed: (configuration.seed ^ 0x5EED) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index))
        target = index % configuration.targets.count
        done = loop.makePromise()
    }

    /// Starts the device; the future completes when it has stopped and closed its connection.
    func start(at start: NIODeadline, until end: NIODeadline?, startDate: Date) -> EventLoopFuture<Void> {
        loop.execute { [self] in
            self.end = end
            slot = start + fleet.currentInterval() * Double.random(in: 0..<1, using: &timing)
            historyStartDate = startDate
            nextHistory()
        }
        return done.futureResult
    }

    /// Stops producing readings; a reading waiting for its retry counts as failed, one in flight finishes first.
    func stop() {
        loop.execute { [self] in
            stopping = true
            if let wait = waiting {
                cancelWait()
                if case .retry = wait {
                    fleet.stats.failed()
                    fleet.logger.warning("reading interrupted", metadata: ["device": "\(id)"])
                    busy = false
                }
            }
            if !busy { finish() }
        }
    }

    /// When the run started: the history is dated one interval apart before it.
    private var historyStartDate = Date()

    /// What the device buffered before the start, oldest first, one reading at a time.
    private func nextHistory() {
        let total = fleet.configuration.history
        guard !stopping, historyDone < total else { return scheduleSlot() }
        let step = fleet.configuration.interval / .seconds(1)
        let (reading, injected) = model.next(at: historyStartDate - Double(total - historyDone) * step)
        historyDone += 1
        deliver(reading, injected, then: .history)
    }

    private func scheduleSlot() {
        guard !stopping else { return finish() }
        let step = fleet.currentInterval()
        let at = slot + step * (fleet.configuration.jitter * Double.random(in: -1...1, using: &timing))
        if let end, at >= end { return finish() }
        waiting = .slot(clock.schedule(at: at) { [self] in measure() })
    }

    private func measure() {
        waiting = nil
        guard !stopping else { return finish() }
        let (reading, injected) = model.next(at: Date())
        deliver(reading, injected, then: .slot)
    }

    private func deliver(_ reading: Reading, _ injected: [InjectedAnomaly], then next: Next) {
        fleet.stats.sent(injected)
        busy = true
        attempt(reading, number: 0, then: next)
    }

    private func attempt(_ reading: Reading, number: Int, then next: Next) {
        waiting = nil
        let started = loop.now
        let timeout = fleet.replyTimeout
        connected().flatMap { $0.send(reading, timeout: timeout) }.whenComplete { [self] result in
            let cause: String
            var retryable = true
            switch result {
            case .success(.acked):
                let ms = Double((loop.now - started).nanoseconds) / 1e6
                fleet.stats.acked(device: index, seq: reading.seq, latencyMs: ms)
                return settled(next)
            case .success(.refused(let reason, let retry)):
                cause = reason
                retryable = retry
            case .failure(let refused as AuthRefused):
                cause = refused.description
                retryable = !refused.isFinal
            case .failure(let error):
                cause = "\(error)"
            }
            failedAttempt(reading, number: number + 1, cause: cause, retryable: retryable, then: next)
        }
    }

    private func failedAttempt(_ reading: Reading, number: Int, cause: String, retryable: Bool, then next: Next) {
        let logger = fleet.logger
        if stopping {
            fleet.stats.failed()
            logger.warning("reading interrupted", metadata: ["device": "\(id)", "seq": "\(reading.seq)"])
            return settled(next)
        }
        guard retryable, let delay = fleet.configuration.retry.delay(beforeRetry: number) else {
            fleet.stats.failed()
            logger.warning(
                "reading failed", metadata: ["device": "\(id)", "seq": "\(reading.seq)", "attempts": "\(number)", "cause": "\(cause)"])
            return settled(next)
        }
        fleet.stats.retried()
        dropLink()
        target = (target + 1) % fleet.configuration.targets.count
        logger.info(
            "retry",
            metadata: [
                "device": "\(id)", "seq": "\(reading.seq)", "attempt": "\(number)", "cause": "\(cause)", "wait": "\(delay)",
                "target": "\(fleet.configuration.targets[target])",
            ])
        waiting = .retry(loop.scheduleTask(in: TimeAmount(delay)) { [self] in attempt(reading, number: number, then: next) })
    }

    /// The reading is acked or counted failed: go on with the next one.
    private func settled(_ next: Next) {
        busy = false
        guard !stopping else { return finish() }
        switch next {
        case .history:
            nextHistory()
        case .slot:
            // The interval as it is now (it may have changed meanwhile). A device that spent
            // longer than its interval retrying measures again at its next slot.
            let step = fleet.currentInterval()
            slot = slot + step
            let now = loop.now
            if slot < now {
                let behind = (now - slot).nanoseconds
                slot = slot + .nanoseconds((behind / step.nanoseconds + 1) * step.nanoseconds)
            }
            scheduleSlot()
        }
    }

    /// The open connection, or a new one to the current target.
    private func connected() -> EventLoopFuture<any DeviceLink> {
        if let link, link.isActive { return loop.makeSucceededFuture(link) }
        dropLink()
        let fleet = self.fleet
        return fleet.connector.connect(
            fleet.configuration.targets[target], token: fleet.configuration.tokens[id], timeout: fleet.replyTimeout, on: loop
        ).map { [self] link in
            self.link = link
            fleet.stats.connectionOpened()
            return link
        }
    }

    private func dropLink() {
        guard let link else { return }
        link.close()
        self.link = nil
        fleet.stats.connectionClosed()
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        cancelWait()
        dropLink()
        done.succeed(())
    }
}
