import Foundation

/// What a run saw, written as the `--report` JSON.
public struct SimulatorReport: Sendable {
    public var sent: Int
    public var acked: Int
    public var failed: Int
    public var retries: Int
    public var latencyMs: [String: Double]
    public var injected: [InjectedAnomaly]
    public var ackedPairs: [(String, Int64)]
    let configuration: SimulatorConfiguration
    let startedAt: Date
    let finishedAt: Date

    init(configuration: SimulatorConfiguration, stats: SimulatorStats.State, startedAt: Date, finishedAt: Date) {
        self.configuration = configuration
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        sent = stats.sent
        acked = stats.acked
        failed = stats.failed
        retries = stats.retries
        injected = stats.injected
        ackedPairs = stats.ackedPairs
        let sorted = stats.latenciesMs.sorted()
        var latency: [String: Double] = [:]
        for (name, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)] {
            if let v = SimulatorStats.percentile(sorted, p) { latency[name] = (v * 100).rounded() / 100 }
        }
        latencyMs = latency
    }

    /// The report as JSON. With `ackedPairsFile`, the pairs go there as CSV lines instead.
    public func json(ackedPairsFile: String? = nil) throws -> Data {
        let iso = ISO8601DateFormatter()
        var object: [String: Any] = [
            "devices": configuration.devices,
            "interval_s": Double(configuration.interval.components.seconds),
            "targets": configuration.targets.map(\.description),
            "anomaly_rate": configuration.anomalyRate,
            "seed": configuration.seed,
            "seq_start": configuration.seqStart,
            "started_at": iso.string(from: startedAt),
            "finished_at": iso.string(from: finishedAt),
            "sent": sent, "acked": acked, "failed": failed, "retries": retries,
            "ack_latency_ms": latencyMs,
            "injected_anomalies": injected.map {
                ["device_id": $0.deviceID, "seq": $0.seq, "metric": $0.metric, "kind": $0.kind] as [String: Any]
            },
        ]
        if let duration = configuration.duration { object["duration_s"] = Double(duration.components.seconds) }
        if let file = ackedPairsFile {
            let csv = ackedPairs.map { "\($0.0),\($0.1)\n" }.joined()
            try Data(csv.utf8).write(to: URL(fileURLWithPath: file))
            object["acked_pairs_file"] = file
        } else {
            object["acked_pairs"] = ackedPairs.map { [$0.0, $0.1] as [Any] }
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
