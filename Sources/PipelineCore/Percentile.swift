/// Percentiles of measured samples by nearest rank: the smallest sample with at least `p` of
/// all samples at or below it (p99 of 100 samples is the 99th). NaN when there are none.
package enum Percentile {
    package static func nearestRank(_ samples: [Double], _ p: Double) -> Double {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }
}
