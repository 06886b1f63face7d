/// Linear backoff of the contract: wait 1 s, 2 s, 3 s … capped at 10 s, at most
/// 10 retries; then the reading counts as failed.
package struct RetrySchedule: Sendable, Equatable {
    package var step: Duration
    package var cap: Duration
    package var maxRetries: Int

    package static let `default` = RetrySchedule(step: .seconds(1), cap: .seconds(10), maxRetries: 10)

    package init(step: Duration, cap: Duration, maxRetries: Int) {
        self.step = step
        self.cap = cap
        self.maxRetries = maxRetries
    }

    /// The wait before retry number `attempt` (1-based), or nil when no retry is left.
    package func delay(beforeRetry attempt: Int) -> Duration? {
        guard attempt >= 1, attempt <= maxRetries else { return nil }
        return min(step * attempt, cap)
    }
}
