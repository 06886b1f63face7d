import Foundation

/// Latencies in fixed memory: log-spaced buckets (100 per decade, so a
/// percentile is off by at most 2.3 %) from 1 µs to 1,000 s. A run at
/// thousands of readings a second for hours must not keep every sample.
package struct LatencyHistogram: Sendable {
    static let perDecade = 100.0
    static let lowestMs = 0.001
    static let bucketCount = 900

    private var buckets = [UInt32](repeating: 0, count: LatencyHistogram.bucketCount)
    package private(set) var count = 0
    package private(set) var maxMs = 0.0

    package init() {}

    package mutating func record(ms: Double) {
        count += 1
        maxMs = Swift.max(maxMs, ms)
        buckets[Self.bucket(ms)] &+= 1
    }

    package mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for i in buckets.indices { buckets[i] &+= other.buckets[i] }
        count += other.count
        maxMs = Swift.max(maxMs, other.maxMs)
    }

    /// The upper edge of the bucket holding the p-quantile (never above the largest sample); nil when empty.
    package func percentile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Swift.max(1, Int((p * Double(count)).rounded(.up)))
        var seen = 0
        for (i, n) in buckets.enumerated() {
            seen += Int(n)
            if seen >= rank { return Swift.min(Self.upperEdge(i), maxMs) }
        }
        return maxMs
    }

    static func bucket(_ ms: Double) -> Int {
        guard ms > lowestMs else { return 0 }
        let i = Int((log10(ms / lowestMs) * perDecade).rounded(.up))
        return Swift.min(i, bucketCount - 1)
    }

    static func upperEdge(_ i: Int) -> Double { lowestMs * pow(10, Double(i) / perDecade) }
}
