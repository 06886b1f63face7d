import NIOCore

/// Coarse timers for the devices of one event loop: one repeating tick runs every
/// action that has come due, never early, at most one `tick` late.
///
/// A fleet of 10,000 devices, each with its next slot as a task of NIO's scheduler,
/// spent a third of the simulator's CPU keeping the scheduler's heap in order
/// (`make bench`); here an action is a bucket entry and a dictionary entry.
/// Confined to `loop`. Retries, which are rare and timed by the contract, stay on
/// NIO's timers.
final class SlotClock: @unchecked Sendable {
    /// Identifies a scheduled action, to cancel it.
    struct Ticket: Hashable {
        fileprivate var id: UInt64
    }

    let loop: any EventLoop
    private let tick: Int64
    private var actions: [UInt64: () -> Void] = [:]
    private var buckets: [Int64: [UInt64]] = [:]
    private var nextID: UInt64 = 0
    /// Buckets up to this one have run.
    private var done: Int64
    private var repeating: RepeatedTask?

    init(loop: any EventLoop, tick: TimeAmount = .milliseconds(5)) {
        self.loop = loop
        self.tick = max(1, tick.nanoseconds)
        done = Int64(loop.now.uptimeNanoseconds) / self.tick
    }

    /// Runs `action` on the loop at `deadline` or within one tick after it.
    func schedule(at deadline: NIODeadline, _ action: @escaping () -> Void) -> Ticket {
        loop.preconditionInEventLoop()
        if repeating == nil {
            // Idle until now: the buckets before this moment are past.
            done = max(done, Int64(loop.now.uptimeNanoseconds) / tick)
            buckets.removeAll()
            repeating = loop.scheduleRepeatedTask(initialDelay: .nanoseconds(tick), delay: .nanoseconds(tick)) { [self] _ in
                fire()
            }
        }
        nextID &+= 1
        actions[nextID] = action
        // The first bucket whose time is not before the deadline, and not one that has run.
        let bucket = max(done + 1, (Int64(deadline.uptimeNanoseconds) + tick - 1) / tick)
        buckets[bucket, default: []].append(nextID)
        return Ticket(id: nextID)
    }

    func cancel(_ ticket: Ticket) {
        actions.removeValue(forKey: ticket.id)
    }

    private func fire() {
        let now = Int64(loop.now.uptimeNanoseconds) / tick
        while done < now {
            done += 1
            for id in buckets.removeValue(forKey: done) ?? [] {
                actions.removeValue(forKey: id)?()
            }
        }
        if actions.isEmpty {
            // Nothing waits: stop ticking (an idle loop of a finished run must not keep a timer).
            repeating?.cancel()
            repeating = nil
        }
    }
}
