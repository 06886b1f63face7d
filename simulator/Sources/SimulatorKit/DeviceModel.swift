import Foundation
import PipelineCore

/// An injected anomaly: the ground truth detection is scored against.
public struct InjectedAnomaly: Sendable, Hashable {
    public var deviceID: String
    public var seq: Int64
    public var metric: String
    public var kind: String
}

/// A wristband's signals: heart rate and SpO2 around a per-device baseline,
/// with slow drift and noise; at `anomalyRate` a reading carries a spike.
public struct DeviceModel: Sendable {
    public let deviceID: String
    private var rng: SeededGenerator
    private let anomalyRate: Double
    private let heartBase: Double
    private let spo2Base: Double
    private var drift = 0.0
    public private(set) var nextSeq: Int64

    public init(deviceID: String, seed: UInt64, anomalyRate: Double, firstSeq: Int64) {
        self.deviceID = deviceID
        var rng = SeededGenerator(seed: seed)
        heartBase = Double.random(in: 60...85, using: &rng)
        spo2Base = Double.random(in: 96...98.5, using: &rng)
        self.rng = rng
        self.anomalyRate = anomalyRate
        nextSeq = firstSeq
    }

    /// The next reading, and the anomaly injected into it if any.
    public mutating func next(at date: Date) -> (Reading, InjectedAnomaly?) {
        let seq = nextSeq
        nextSeq += 1
        drift = drift * 0.98 + rng.gaussian() * 0.2
        var heart = heartBase + drift + rng.gaussian() * 1.5
        var spo2 = min(100, spo2Base + rng.gaussian() * 0.3)
        var injected: InjectedAnomaly?
        if Double.random(in: 0..<1, using: &rng) < anomalyRate {
            if Bool.random(using: &rng) {
                heart += Double.random(in: 35...60, using: &rng) * (Bool.random(using: &rng) ? 1 : -0.6)
                injected = InjectedAnomaly(deviceID: deviceID, seq: seq, metric: "heart_rate", kind: "spike")
            } else {
                spo2 -= Double.random(in: 8...15, using: &rng)
                injected = InjectedAnomaly(deviceID: deviceID, seq: seq, metric: "spo2", kind: "spike")
            }
        }
        let reading = Reading(
            deviceID: deviceID, seq: seq, ts: Timestamp.format(epochMicros: Int64(date.timeIntervalSince1970 * 1e6)),
            metrics: ["heart_rate": (heart * 10).rounded() / 10, "spo2": (spo2 * 10).rounded() / 10])
        return (reading, injected)
    }
}
