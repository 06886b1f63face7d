/// Where a metric's next value may fall without being an anomaly: what the
/// alerts page draws behind a device's readings.
package struct AnomalyBand: Sendable, Equatable {
    package var median: Double
    /// The dispersion the score divides by (MAD, or its substitute; 0 when the
    /// window has no spread, and then only the median itself passes).
    package var dispersion: Double
    /// Values strictly between `low` and `high` pass (up to rounding at the edges).
    package var low: Double
    package var high: Double
    /// How many earlier values the band is computed from.
    package var window: Int

    package init(median: Double, dispersion: Double, low: Double, high: Double, window: Int) {
        self.median = median
        self.dispersion = dispersion
        self.low = low
        self.high = high
        self.window = window
    }
}
