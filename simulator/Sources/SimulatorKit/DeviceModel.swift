package import Foundation
package import PipelineCore

/// A wristband: heart rate and SpO2 (see `MetricSignal`), and anomalies
/// injected with ground truth. Every random draw comes from the device's own
/// seeded generator in a fixed order, so a seed reproduces the same signals and
/// the same anomalies at the same seqs, whenever the run happens.
///
/// `anomalyRate` is the probability that a reading starts an anomaly while none
/// is under way. With clean signals: a spike (half of them), a level shift of 5–10
/// readings (three in ten) or a sensor dropout of 3–8 readings (one in five). With
/// realistic ones (`SignalProfile`): a spike (four in ten), a level shift of 30–80
/// readings (a quarter), a drift that ramps to its full offset over 40–80 readings
/// (three in twenty) or a dropout (one in five); and, outside them, brief motion
/// artifacts (one reading in a hundred: heart rate up 8–18) that are not anomalies.
package struct DeviceModel: Sendable {
    package let deviceID: String
    private var rng: SeededGenerator
    private let anomalyRate: Double
    private let profile: SignalProfile
    private var signals: [MetricSignal]
    private var episode: Episode?
    package private(set) var nextSeq: Int64

    /// An anomaly that lasts several readings.
    private enum Episode: Sendable {
        case levelShift(metric: Int, offset: Double, remaining: Int)
        case drift(metric: Int, full: Double, step: Int, length: Int)
        case dropout(metric: Int, remaining: Int)
    }

    package static let metricNames = ["heart_rate", "spo2"]

    package init(deviceID: String, seed: UInt64, anomalyRate: Double, firstSeq: Int64, profile: SignalProfile = .clean) {
        self.deviceID = deviceID
        var rng = SeededGenerator(seed: seed)
        let peakHour = Double.random(in: 12...20, using: &rng) + Double(Int.random(in: -6...6, using: &rng))
        signals = [
            MetricSignal.heartRate(using: &rng, peakHour: peakHour, profile: profile),
            MetricSignal.spo2(using: &rng, peakHour: peakHour, profile: profile),
        ]
        self.rng = rng
        self.anomalyRate = anomalyRate
        self.profile = profile
        nextSeq = firstSeq
    }

    /// The next reading, measured at `date`, and what was injected into it.
    package mutating func next(at date: Date) -> (Reading, [InjectedAnomaly]) {
        let seq = nextSeq
        nextSeq += 1
        var values = signals.indices.map { signals[$0].next(at: date, using: &rng) }
        var present = [Bool](repeating: true, count: signals.count)
        var injected: [InjectedAnomaly] = []
        func mark(_ metric: Int, _ kind: InjectedAnomaly.Kind) {
            injected.append(InjectedAnomaly(deviceID: deviceID, seq: seq, metric: signals[metric].name, kind: kind))
        }

        if episode == nil, Double.random(in: 0..<1, using: &rng) < anomalyRate {
            let metric = Int.random(in: 0..<signals.count, using: &rng)
            let kind = Double.random(in: 0..<1, using: &rng)
            let realistic = profile == .realistic
            if kind < (realistic ? 0.4 : 0.5) {
                values[metric] += spike(metric)
                mark(metric, .spike)
            } else if kind < (realistic ? 0.65 : 0.8) {
                let length = realistic ? Int.random(in: 30...80, using: &rng) : Int.random(in: 5...10, using: &rng)
                episode = .levelShift(metric: metric, offset: shift(metric), remaining: length)
            } else if realistic && kind < 0.8 {
                episode = .drift(metric: metric, full: shift(metric), step: 1, length: Int.random(in: 40...80, using: &rng))
            } else {
                episode = .dropout(metric: metric, remaining: Int.random(in: 3...8, using: &rng))
            }
        } else if episode == nil, profile == .realistic, Double.random(in: 0..<1, using: &rng) < 0.01 {
            // A motion artifact: the wearer moved; not an anomaly.
            values[0] += Double.random(in: 8...18, using: &rng)
        }
        switch episode {
        case .levelShift(let metric, let offset, let remaining):
            values[metric] += offset
            mark(metric, .levelShift)
            episode = remaining > 1 ? .levelShift(metric: metric, offset: offset, remaining: remaining - 1) : nil
        case .drift(let metric, let full, let step, let length):
            values[metric] += full * Double(step) / Double(length)
            mark(metric, .drift)
            episode = step < length ? .drift(metric: metric, full: full, step: step + 1, length: length) : nil
        case .dropout(let metric, let remaining):
            present[metric] = false
            mark(metric, .dropout)
            episode = remaining > 1 ? .dropout(metric: metric, remaining: remaining - 1) : nil
        case nil:
            break
        }

        var metrics: [String: Double] = [:]
        for i in signals.indices where present[i] { metrics[signals[i].name] = signals[i].reported(values[i]) }
        let reading = Reading(
            deviceID: deviceID, seq: seq, ts: Timestamp.format(epochMicros: Int64(date.timeIntervalSince1970 * 1e6)),
            metrics: metrics)
        return (reading, injected)
    }

    /// Far off the signal: heart rate up 30–55 bpm (or down 22–35), SpO2 down 6–12 points.
    private mutating func spike(_ metric: Int) -> Double {
        if signals[metric].name == "spo2" { return -Double.random(in: 6...12, using: &rng) }
        return Bool.random(using: &rng) || Bool.random(using: &rng)
            ? Double.random(in: 30...55, using: &rng) : -Double.random(in: 22...35, using: &rng)
    }

    /// A sustained offset: heart rate ±20–30 bpm, SpO2 down 4–7 points.
    private mutating func shift(_ metric: Int) -> Double {
        if signals[metric].name == "spo2" { return -Double.random(in: 4...7, using: &rng) }
        return (Bool.random(using: &rng) ? 1 : -1) * Double.random(in: 20...30, using: &rng)
    }
}
