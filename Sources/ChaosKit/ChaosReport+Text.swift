import Foundation

extension ChaosReport {
    /// The report for a terminal or docs/reliability.md.
    package var text: String {
        var out = "chaos run: \(devices) devices every \(Self.seconds(Double(intervalMs) / 1000)) over \(targets.joined(separator: ", "))\n"
        if !broker.isEmpty {
            let settings = brokerSettings.isEmpty ? "the defaults" : brokerSettings.joined(separator: ", ")
            out += "  broker: 3 nodes of \(broker), with \(settings)\n"
        }
        out += "  \(faults.count) faults in \(Self.seconds(seconds)); gaps counted above \(Self.seconds(Double(gapThresholdMs) / 1000))\n\n"
        for (i, f) in faults.enumerated() {
            let recovered = f.recoveredAt.map { ", over at \(Self.clock($0))" } ?? ""
            out += "\(i + 1). \(f.fault.rawValue) → \(f.target) at \(Self.clock(f.at))\(recovered): \(f.tookEffect ? "took effect" : "DID NOT TAKE EFFECT")\n"
            for e in f.evidence { out += "     - \(e)\n" }
            let gap = f.longestGapMs.map { "longest ack gap \(Self.seconds(Double($0) / 1000)) (\(f.longestGapDevice ?? "?"), \(f.devicesWithGaps) devices over the threshold)" }
                ?? "no device waited longer than the threshold"
            out += "     devices: \(gap); \(f.retries) retries, \(f.failed) failed\n"
        }
        out += "\nreadings: \(sent) sent, \(acked) acknowledged, \(failed) failed to devices, \(retries) retries"
        if let p50 = ackP50Ms, let p99 = ackP99Ms { out += String(format: "; ack p50 %.1f ms, p99 %.1f ms", p50, p99) }
        out += "\n"
        let drained = drainSeconds.map { " (all in \(Self.seconds($0)) after the devices stopped)" } ?? ""
        out += "database: \(ackedStored) of \(acked) acknowledged readings stored\(drained)\n"
        out += "  acknowledged but missing: \(missing)\(missingExamples.isEmpty ? "" : " (e.g. \(missingExamples.joined(separator: ", ")))")\n"
        out += "  duplicate rows: \(duplicates)\n"
        out += "  stored but never acknowledged to the device: \(storedNotAcked)\n"
        out += "  dead-lettered: \(deadLettered)\n"
        if !leftRunning.isEmpty { out += "still running after the stop: \(leftRunning.joined(separator: ", "))\n" }
        out += passed ? "\nPASS: no acknowledged reading lost or duplicated; every fault took effect.\n" : "\nFAIL:\n"
        for p in problems { out += "  - \(p)\n" }
        return out
    }

    static func seconds(_ s: Double) -> String {
        s >= 60 ? String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) : String(format: s < 10 ? "%.2f s" : "%.1f s", s)
    }

    static func clock(_ s: Double) -> String { String(format: "%d:%04.1f", Int(s) / 60, s.truncatingRemainder(dividingBy: 60)) }
}
