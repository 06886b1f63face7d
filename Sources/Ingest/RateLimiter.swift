import NIOConcurrencyHelpers
import PipelineCore

/// Per-device token buckets, in shards so devices rarely contend for a lock;
/// a device over its limit is refused before it costs the broker anything.
package final class RateLimiter: Sendable {
    package let rate: Double
    package let burst: Double
    private let shards: [NIOLockedValueBox<[String: TokenBucket]>]
    private let start = ContinuousClock.now

    /// `rate` readings per second per device, `burst` at most at once.
    package init(rate: Double, burst: Double, shards: Int = 16) {
        self.rate = rate
        self.burst = burst
        self.shards = (0..<shards).map { _ in NIOLockedValueBox([:]) }
    }

    /// Takes `count` readings' worth for the device; nil when allowed, else seconds until it would be.
    package func take(_ deviceID: String, count: Int = 1) -> Double? {
        let now = (ContinuousClock.now - start) / .seconds(1)
        let shard = shards[Int(UInt(bitPattern: deviceID.hashValue) % UInt(shards.count))]
        return shard.withLockedValue { buckets in
            if buckets.count > 100_000 {
                // Forget devices whose bucket has refilled: they are as good as new.
                buckets = buckets.filter { $0.value.tokens + (now - $0.value.updatedAt) * rate < burst }
            }
            var bucket = buckets[deviceID] ?? TokenBucket(burst: burst, now: now)
            let wait = bucket.take(Double(count), rate: rate, burst: burst, now: now)
            buckets[deviceID] = bucket
            return wait
        }
    }
}
