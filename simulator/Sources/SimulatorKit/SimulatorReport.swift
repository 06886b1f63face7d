package import Foundation

/// What a run saw, written as the `--report` JSON (the contract's fields, and
/// what `simulator score` needs to judge detection against the ground truth).
package struct SimulatorReport: Sendable {
    package var sent: Int
    package var acked: Int
    package var failed: Int
    package var retries: Int
    package var maxConnected: Int
    package var latency: LatencyHistogram
    package var injected: [InjectedAnomaly]
    /// Silences between acks of a device longer than twice the interval, longest first.
    package var ackGaps: [AckGap]
    let pairs: [SimulatorStats.AckedPair]
    package let configuration: SimulatorConfiguration
    package let startedAt: Date
    package let finishedAt: Date

    init(configuration: SimulatorConfiguration, stats: SimulatorStats.State, startedAt: Date, finishedAt: Date) {
        self.configuration = configuration
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        sent = stats.sent
        acked = stats.acked
        failed = stats.failed
        retries = stats.retries
        maxConnected = stats.maxConnected
        latency = stats.latency
        injected = stats.injected
        ackGaps = stats.gaps.sorted { $0.ms > $1.ms }
        pairs = stats.ackedPairs
    }

    /// Acknowledged (device_id, seq), in the order the acks came (empty when the run did not keep them).
    package var ackedPairs: [(String, Int64)] {
        pairs.map { (configuration.deviceID(Int($0.device)), $0.seq) }
    }

    /// p50, p90, p99 and max of the ack latency in ms, two decimals.
    package var latencyMs: [String: Double] {
        var out: [String: Double] = [:]
        for (name, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)] {
            if let v = latency.percentile(p) { out[name] = (v * 100).rounded() / 100 }
        }
        return out
    }

    /// The report as JSON. With `ackedPairsFile`, the pairs go there as `device_id,seq` CSV lines instead.
    package func json(ackedPairsFile: String? = nil) throws -> Data {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var kinds: [String: Int] = [:]
        for a in injected { kinds[a.kind.rawValue, default: 0] += 1 }
        var object: [String: Any] = [
            "devices": configuration.devices,
            "device_prefix": configuration.devicePrefix,
            "interval_s": configuration.interval / .seconds(1),
            "history": configuration.history,
            "jitter": configuration.jitter,
            "targets": configuration.targets.map(\.description),
            "anomaly_rate": configuration.anomalyRate,
            "seed": configuration.seed,
            "seq_start": configuration.seqStart,
            "metrics": DeviceModel.metricNames,
            "started_at": iso.string(from: startedAt),
            "finished_at": iso.string(from: finishedAt),
            "sent": sent, "acked": acked, "failed": failed, "retries": retries,
            "max_connected": maxConnected,
            "ack_latency_ms": latencyMs,
            "injected_by_kind": kinds,
            "ack_gaps": ackGaps.map {
                ["device_id": configuration.deviceID($0.device), "from_ms": $0.fromMs, "to_ms": $0.toMs, "ms": $0.ms] as [String: Any]
            },
            "injected_anomalies": injected.map {
                ["device_id": $0.deviceID, "seq": $0.seq, "metric": $0.metric, "kind": $0.kind.rawValue] as [String: Any]
            },
        ]
        if let duration = configuration.duration { object["duration_s"] = duration / .seconds(1) }
        if let file = ackedPairsFile {
            var csv = ""
            csv.reserveCapacity(pairs.count * 24)
            for p in pairs { csv += "\(configuration.deviceID(Int(p.device))),\(p.seq)\n" }
            try Data(csv.utf8).write(to: URL(fileURLWithPath: file))
            object["acked_pairs_file"] = file
        } else {
            object["acked_pairs"] = pairs.map { [configuration.deviceID(Int($0.device)), $0.seq] as [Any] }
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
