import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import SimulatorKit

/// The devices' coarse clock: an action runs at its deadline or after it, never before,
/// a cancelled one never, and the clock stops ticking when nothing waits.
@Suite struct SlotClockTests {
    @Test func actionsRunNotBeforeTheirDeadlineAndCancelledOnesNever() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let clock = SlotClock(loop: loop, tick: .milliseconds(5))
        let ran = NIOLockedValueBox<[(Int, NIODeadline, NIODeadline)]>([])
        let offsets = [40, 3, 0, 25, 60]
        try await loop.submit {
            let start = NIODeadline.now()
            for (i, ms) in offsets.enumerated() {
                let deadline = start + .milliseconds(Int64(ms))
                let ticket = clock.schedule(at: deadline) { ran.withLockedValue { $0.append((i, deadline, .now())) } }
                if i == 3 { clock.cancel(ticket) }
            }
        }.get()
        try await Task.sleep(for: .milliseconds(400))
        let runs = ran.withLockedValue { $0 }
        #expect(runs.map(\.0).sorted() == [0, 1, 2, 4], "the cancelled action must not run")
        // In the order of their deadlines, but for those within one tick (0 and 3 ms).
        #expect(runs.map(\.0).suffix(2) == [0, 4], "\(runs.map(\.0))")
        for (i, deadline, at) in runs { #expect(at >= deadline, "action \(i) ran \(deadline - at) early") }
        // Idle again: a later action still runs (the clock restarts its tick).
        let again = NIOLockedValueBox(false)
        try await loop.submit { _ = clock.schedule(at: .now() + .milliseconds(10)) { again.withLockedValue { $0 = true } } }.get()
        try await Task.sleep(for: .milliseconds(200))
        #expect(again.withLockedValue { $0 })
    }
}
