import Testing

@testable import PipelineCore

@Suite struct RetryScheduleTests {
    @Test func linearCappedAtTenSecondsAtMostTenRetries() {
        let s = RetrySchedule.default
        let delays = (1...11).map { s.delay(beforeRetry: $0) }
        #expect(delays == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map { Duration.seconds($0) } + [nil])
        #expect(s.delay(beforeRetry: 0) == nil)
        let capped = RetrySchedule(step: .seconds(3), cap: .seconds(10), maxRetries: 5)
        #expect(capped.delay(beforeRetry: 4) == .seconds(10))
    }
}
