/// A token bucket: `rate` tokens per second, at most `burst` saved up. Pure:
/// the caller passes the time, so the limiter is easy to test.
package struct TokenBucket: Sendable, Equatable {
    package var tokens: Double
    package var updatedAt: Double

    package init(burst: Double, now: Double) {
        tokens = burst
        updatedAt = now
    }

    /// Takes `n` tokens if there are enough and returns nil; otherwise takes
    /// nothing and returns the seconds until there would be enough.
    package mutating func take(_ n: Double, rate: Double, burst: Double, now: Double) -> Double? {
        tokens = min(burst, tokens + max(0, now - updatedAt) * rate)
        updatedAt = now
        if n <= tokens {
            tokens -= n
            return nil
        }
        if n > burst { return .infinity }
        return (n - tokens) / rate
    }
}
