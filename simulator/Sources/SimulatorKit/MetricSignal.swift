import Foundation

/// One physiological signal of a device: a personal baseline, a daily rhythm,
/// slow drift (a mean-reverting random walk) and measurement noise, clipped
/// to what the sensor can report and rounded as a sensor would.
///
/// The noise is bounded (uniform: a wristband reports an average over several
/// beats at a fixed resolution, so a single reading does not jump on its own) and
/// the drift is slow next to the 200-reading window. Normal readings then stay
/// inside the anomaly rule's band, and a flag on one is a real false alarm.
/// Heavier tails would not: with Gaussian noise the rule's threshold of 3.5 flags
/// about 0.05 % of normal values, more in short windows and when rounding shrinks
/// the MAD; at the default anomaly rate that costs spikes 5–15 points of precision.
struct MetricSignal: Sendable {
    let name: String
    let baseline: Double
    /// Half the day's swing; peaks at `peakHour` (UTC, shifted per device as a time zone would).
    let dailyAmplitude: Double
    let peakHour: Double
    /// Stationary standard deviation of the drift and how much of it survives one reading.
    let driftSD: Double
    let driftCorrelation: Double
    /// The noise lies within ± this (clean); realistic noise has this scale and heavy tails.
    let noiseHalfWidth: Double
    let range: ClosedRange<Double>
    let profile: SignalProfile
    private var drift = 0.0

    init(
        name: String, baseline: Double, dailyAmplitude: Double, peakHour: Double, driftSD: Double,
        driftCorrelation: Double, noiseHalfWidth: Double, range: ClosedRange<Double>, profile: SignalProfile = .clean
    ) {
        self.name = name
        self.baseline = baseline
        self.dailyAmplitude = dailyAmplitude
        self.peakHour = peakHour
        self.driftSD = profile == .realistic ? 2 * driftSD : driftSD
        self.driftCorrelation = driftCorrelation
        self.noiseHalfWidth = noiseHalfWidth
        self.range = range
        self.profile = profile
    }

    /// A wristband's heart rate (bpm): resting 58–82, ±4–8 over the day, noise within ±4–5 bpm.
    static func heartRate(using rng: inout SeededGenerator, peakHour: Double, profile: SignalProfile = .clean) -> MetricSignal {
        MetricSignal(
            name: "heart_rate", baseline: .random(in: 58...82, using: &rng), dailyAmplitude: .random(in: 4...8, using: &rng),
            peakHour: peakHour, driftSD: 0.8, driftCorrelation: 0.9995, noiseHalfWidth: .random(in: 4...5, using: &rng),
            range: 25...230, profile: profile)
    }

    /// Oxygen saturation (%): 95.5–98, a small daily swing, noise within ±0.6–0.8, never above 100.
    static func spo2(using rng: inout SeededGenerator, peakHour: Double, profile: SignalProfile = .clean) -> MetricSignal {
        MetricSignal(
            name: "spo2", baseline: .random(in: 95.5...98, using: &rng), dailyAmplitude: .random(in: 0.1...0.4, using: &rng),
            peakHour: peakHour, driftSD: 0.15, driftCorrelation: 0.9995, noiseHalfWidth: .random(in: 0.6...0.8, using: &rng),
            range: 50...100, profile: profile)
    }

    /// The undisturbed value at `date`; advances the drift by one reading.
    mutating func next(at date: Date, using rng: inout SeededGenerator) -> Double {
        drift = drift * driftCorrelation + rng.gaussian() * driftSD * (1 - driftCorrelation * driftCorrelation).squareRoot()
        let hour = (date.timeIntervalSince1970 / 3600).truncatingRemainder(dividingBy: 24)
        let rhythm = dailyAmplitude * cos(2 * .pi * (hour - peakHour) / 24)
        return baseline + rhythm + drift + noise(using: &rng)
    }

    /// Clean: uniform within ±noiseHalfWidth. Realistic: Student's t with 3 degrees of
    /// freedom at half that scale (most readings closer, a few far), cut at 4 half-widths.
    private func noise(using rng: inout SeededGenerator) -> Double {
        guard profile == .realistic else { return Double.random(in: -noiseHalfWidth...noiseHalfWidth, using: &rng) }
        let z = rng.gaussian()
        let chi = (0..<3).reduce(0.0) { sum, _ in let g = rng.gaussian(); return sum + g * g }
        let t = z / (chi / 3).squareRoot()
        return max(-4, min(4, t / 2)) * noiseHalfWidth
    }

    /// As the sensor reports it: within its range, one decimal (clean) or whole numbers (realistic).
    func reported(_ value: Double) -> Double {
        let clipped = min(max(value, range.lowerBound), range.upperBound)
        return profile == .realistic ? clipped.rounded() : (clipped * 10).rounded() / 10
    }
}
