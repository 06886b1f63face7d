/// The contract's anomaly rule: a robust z-score (median and MAD) of a value
/// against the device's earlier values of the same metric. One pure function,
/// called by the analyzer and by the tests alike.
package struct AnomalyRule: Sendable, Equatable {
    /// How many earlier values form the window (the newest ones below this seq).
    package var windowSize: Int
    /// Fewer earlier values than this: no verdict.
    package var minHistory: Int
    /// `|score|` above this is an anomaly.
    package var threshold: Double

    package static let `default` = AnomalyRule(windowSize: 200, minHistory: 30, threshold: 3.5)

    package init(windowSize: Int = 200, minHistory: Int = 30, threshold: Double = 3.5) {
        precondition(windowSize >= 1 && minHistory >= 1 && minHistory <= windowSize && threshold > 0)
        self.windowSize = windowSize
        self.minHistory = minHistory
        self.threshold = threshold
    }

    /// The verdict for `value` given `window`, the earlier values of that device
    /// and metric, newest first or in any order; only the first `windowSize`
    /// entries are used, so callers pass the newest first. Nil when the history
    /// is shorter than `minHistory`.
    package func evaluate(_ value: Double, window: some Collection<Double>) -> Verdict? {
        guard let band = band(window: window) else { return nil }
        let delta = value - band.median
        if band.dispersion == 0 {
            // Every earlier value is identical: any change is an anomaly, with no finite score.
            return Verdict(isAnomaly: delta != 0, score: nil, median: band.median, mad: 0, window: band.window)
        }
        let score = 0.6745 * delta / band.dispersion
        return Verdict(
            isAnomaly: abs(score) > threshold, score: score, median: band.median, mad: band.dispersion,
            window: band.window)
    }

    /// The median and the range of values a reading judged against `window`
    /// would pass with (same conventions as `evaluate`); nil when the history is
    /// shorter than `minHistory`.
    package func band(window: some Collection<Double>) -> AnomalyBand? {
        let n = min(window.count, windowSize)
        guard n >= minHistory else { return nil }
        var xs = Array(window.prefix(n))
        xs.sort()
        let median = Self.medianOfSorted(xs)
        var deviations = xs.map { abs($0 - median) }
        deviations.sort()
        var scale = Self.medianOfSorted(deviations)
        if scale == 0 {
            // Half the values (or more) equal the median: fall back to the mean
            // absolute deviation, scaled to be consistent with MAD for normal data.
            scale = 1.253314 * (deviations.reduce(0, +) / Double(n))
        }
        let halfWidth = threshold * scale / 0.6745
        return AnomalyBand(median: median, dispersion: scale, low: median - halfWidth, high: median + halfWidth, window: n)
    }

    static func medianOfSorted(_ xs: [Double]) -> Double {
        let n = xs.count
        return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2
    }
}

/// What the rule concluded for one value.
package struct Verdict: Sendable, Equatable {
    package var isAnomaly: Bool
    /// `0.6745·(x − median)/mad`; nil when the window has no spread at all.
    package var score: Double?
    package var median: Double
    /// The dispersion the score divides by: the MAD, or its mean-deviation
    /// substitute when the MAD is 0 (see the contract).
    package var mad: Double
    /// How many earlier values the verdict used.
    package var window: Int
}
