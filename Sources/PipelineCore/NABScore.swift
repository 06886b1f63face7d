import Foundation

/// The Numenta Anomaly Benchmark's score of a detector's alerts on labelled series
/// (`../shared/datasets/README.md` describes it): early alerts inside a labelled window
/// earn up to 1, a missed window costs `fn`, an alert outside every window costs up to
/// `fp`, less right after a window. Written here so that `make bench` can score the
/// analyzer's incidents on real series without NAB's Python.
package struct NABScore: Sendable, Equatable {
    /// The weights of one of NAB's application profiles.
    package struct Profile: Sendable, Equatable {
        package var name: String
        package var tp: Double
        package var fp: Double
        package var fn: Double

        package static let standard = Profile(name: "standard", tp: 1.0, fp: 0.11, fn: 1.0)
        package static let lowFP = Profile(name: "reward_low_FP_rate", tp: 1.0, fp: 0.22, fn: 1.0)
        package static let lowFN = Profile(name: "reward_low_FN_rate", tp: 1.0, fp: 0.11, fn: 2.0)
        package static let all = [standard, lowFP, lowFN]
    }

    /// The detector's raw score, and those of one that never alerts and of a perfect one.
    package var raw: Double
    package var null: Double
    package var perfect: Double

    /// 0 for never alerting, 100 for an alert on the first row of every window and nowhere else.
    package var normalised: Double { perfect == null ? 0 : 100 * (raw - null) / (perfect - null) }

    /// Sums the scores of several series (NAB normalises the sums, not each series).
    package static func + (a: NABScore, b: NABScore) -> NABScore {
        NABScore(raw: a.raw + b.raw, null: a.null + b.null, perfect: a.perfect + b.perfect)
    }

    package static let zero = NABScore(raw: 0, null: 0, perfect: 0)

    package init(raw: Double, null: Double, perfect: Double) {
        self.raw = raw
        self.null = null
        self.perfect = perfect
    }

    /// Scores the alerts (row indices) on one series of `count` rows whose labelled
    /// windows are the given inclusive row ranges, in order and not overlapping.
    package init(alerts: some Sequence<Int>, windows: [ClosedRange<Int>], count: Int, profile: Profile) {
        let alerted = Set(alerts)
        self.init(
            raw: Self.raw(alerted, windows, count, profile),
            null: Self.raw([], windows, count, profile),
            perfect: Self.raw(Set(windows.map(\.lowerBound)), windows, count, profile))
    }

    /// The first 15 % of the rows, at most 750: alerts there count for nothing.
    package static func probation(count: Int) -> Int { min(Int((0.15 * Double(count)).rounded(.down)), 750) }

    /// NAB's scaled sigmoid, `2 / (1 + e^{5x}) − 1`.
    static func sigmoid(_ x: Double) -> Double { 2 / (1 + exp(5 * x)) - 1 }

    static func raw(_ alerts: Set<Int>, _ windows: [ClosedRange<Int>], _ count: Int, _ profile: Profile) -> Double {
        let start = probation(count: count)
        var score = 0.0
        var detected = Set<Int>()
        for i in alerts.sorted() where i >= start && i < count {
            if let w = windows.firstIndex(where: { $0.contains(i) }) {
                // Only the first alert inside a window counts.
                guard detected.insert(w).inserted else { continue }
                let window = windows[w]
                let p = -Double(window.upperBound - i + 1) / Double(window.count)
                score += profile.tp * sigmoid(p) / sigmoid(-1)
            } else if let previous = windows.last(where: { $0.upperBound < i }) {
                // Past a window: cheap right after it, the full weight from three widths on.
                let q = Double(i - previous.upperBound) / Double(max(previous.count - 1, 1))
                score += profile.fp * (q > 3 ? -1 : sigmoid(q))
            } else {
                score -= profile.fp
            }
        }
        score -= profile.fn * Double(windows.count - detected.count)
        return score
    }
}
