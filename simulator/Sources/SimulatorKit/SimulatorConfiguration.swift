package import PipelineCore

/// One simulator run; `simulator --help` documents each setting.
package struct SimulatorConfiguration: Sendable {
    package var devices: Int
    /// Seconds between readings of one device.
    package var interval: Duration
    package var targets: [Target]
    /// How long devices produce readings; nil runs until cancelled.
    package var duration: Duration?
    package var anomalyRate: Double
    /// Clean signals made for the per-reading rule, or realistic ones (`SignalProfile`).
    package var signals: SignalProfile
    package var seed: UInt64
    package var devicePrefix: String
    /// First seq of every device; defaults to the start time in ms so later runs continue each history.
    package var seqStart: Int64
    package var retry: RetrySchedule
    /// A reply that takes longer counts as a failed attempt.
    package var replyTimeout: Duration
    /// PEM file of the CA to trust for TLS targets; nil uses the system roots.
    package var caFile: String?
    /// Skip certificate verification (local experiments only).
    package var insecure: Bool
    /// Device id → token, for ingest with device authentication on.
    package var tokens: [String: String]
    /// Readings each device uploads first, dated one interval apart before the start, as a
    /// device does with what it buffered offline; gives the anomaly rule its history at once.
    package var history: Int
    /// Each reading is sent up to this fraction of the interval early or late.
    package var jitter: Double
    /// Keep every acknowledged (device, seq) for the report; off for long load runs.
    package var keepsAckedPairs: Bool

    package init(
        devices: Int = 100, interval: Duration = .seconds(10), targets: [Target], duration: Duration? = .seconds(60),
        anomalyRate: Double = 0.01, signals: SignalProfile = .clean, seed: UInt64 = 1, devicePrefix: String = "dev-", seqStart: Int64,
        retry: RetrySchedule = .default, replyTimeout: Duration = .seconds(15), caFile: String? = nil,
        insecure: Bool = false, tokens: [String: String] = [:], history: Int = 0, jitter: Double = 0.1,
        keepsAckedPairs: Bool = true
    ) {
        self.devices = devices
        self.interval = interval
        self.targets = targets
        self.duration = duration
        self.anomalyRate = anomalyRate
        self.signals = signals
        self.seed = seed
        self.devicePrefix = devicePrefix
        self.seqStart = seqStart
        self.retry = retry
        self.replyTimeout = replyTimeout
        self.caFile = caFile
        self.insecure = insecure
        self.tokens = tokens
        self.history = history
        self.jitter = jitter
        self.keepsAckedPairs = keepsAckedPairs
    }

    package func deviceID(_ index: Int) -> String {
        let digits = String(index)
        let width = max(4, String(devices - 1).count)
        return devicePrefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Device `index`'s model: the same seed gives the same signals and anomalies, in a run or replayed offline.
    package func model(_ index: Int) -> DeviceModel {
        DeviceModel(
            deviceID: deviceID(index), seed: seed &* 1_000_003 &+ UInt64(index), anomalyRate: anomalyRate,
            firstSeq: seqStart, profile: signals)
    }
}
