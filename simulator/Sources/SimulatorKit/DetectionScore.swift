package import Foundation

/// How well the pipeline found what the simulator injected. A reading's metric
/// is scored only when the device had at least `minHistory` earlier acknowledged
/// readings of that metric in the run (before that the rule cannot judge it).
/// Precision counts every false alarm against every kind, so it never flatters.
package struct DetectionScore: Sendable {
    /// An anomaly as the alerts API serves it.
    package struct Flagged: Sendable {
        package var deviceID: String
        package var seq: Int64
        package var metric: String
        package var ts: Date
        package var detectedAt: Date

        package init(deviceID: String, seq: Int64, metric: String, ts: Date, detectedAt: Date) {
            self.deviceID = deviceID
            self.seq = seq
            self.metric = metric
            self.ts = ts
            self.detectedAt = detectedAt
        }
    }

    package struct Figures: Sendable {
        package var injected = 0
        package var detected = 0
        package var falseAlarms = 0
        package var missed: Int { injected - detected }
        package var precision: Double? { ratio(detected, detected + falseAlarms) }
        package var recall: Double? { ratio(detected, injected) }
        package var f1: Double? {
            guard let p = precision, let r = recall, p + r > 0 else { return nil }
            return 2 * p * r / (p + r)
        }

        package init() {}

        private func ratio(_ a: Int, _ b: Int) -> Double? { b == 0 ? nil : Double(a) / Double(b) }
    }

    package let minHistory: Int
    /// Spikes and level shifts, and both together.
    package private(set) var byKind: [InjectedAnomaly.Kind: Figures] = [:]
    package private(set) var overall = Figures()
    /// Flagged (reading, metric) pairs of this run that carried no injected anomaly.
    package private(set) var falseAlarms = 0
    /// Injected value anomalies in a device's first `minHistory` readings.
    package private(set) var notScored = 0
    /// Readings that went without a metric (sensor dropout), and flags raised on them (must be 0).
    package private(set) var dropoutReadings = 0
    package private(set) var flaggedOnDropouts = 0
    /// Flags on readings this run did not get acknowledged, or in a device's warm-up: not judged.
    package private(set) var flaggedNotJudged = 0
    /// Reading time to detection, for scored detections of readings measured after the start.
    package private(set) var delaysMs: [Double] = []

    private struct Key: Hashable {
        var device: String
        var seq: Int64
        var metric: String
    }

    private struct Series: Hashable {
        var device: String
        var metric: String
    }

    package init(record: RunRecord, flagged: [Flagged], minHistory: Int) {
        self.minHistory = minHistory
        var ackedSeqs: [String: [Int64]] = [:]
        for (device, seq) in record.acked { ackedSeqs[device, default: []].append(seq) }
        for k in ackedSeqs.keys { ackedSeqs[k]!.sort() }
        func isAcked(_ device: String, _ seq: Int64) -> Bool {
            guard let seqs = ackedSeqs[device] else { return false }
            let i = Self.lowerBound(seqs, seq)
            return i < seqs.count && seqs[i] == seq
        }

        var truth: [Key: InjectedAnomaly.Kind] = [:]
        var dropouts: [Series: [Int64]] = [:]
        var dropoutKeys = Set<Key>()
        for a in record.injected where isAcked(a.deviceID, a.seq) {
            if a.kind.isValueAnomaly {
                truth[Key(device: a.deviceID, seq: a.seq, metric: a.metric)] = a.kind
            } else {
                dropouts[Series(device: a.deviceID, metric: a.metric), default: []].append(a.seq)
                dropoutKeys.insert(Key(device: a.deviceID, seq: a.seq, metric: a.metric))
            }
        }
        for k in dropouts.keys { dropouts[k]!.sort() }
        dropoutReadings = dropoutKeys.count

        /// Earlier acknowledged readings of the device that carried the metric.
        func history(_ key: Key) -> Int {
            let earlier = Self.lowerBound(ackedSeqs[key.device] ?? [], key.seq)
            let missing = Self.lowerBound(dropouts[Series(device: key.device, metric: key.metric)] ?? [], key.seq)
            return earlier - missing
        }

        var flaggedKeys: [Key: Flagged] = [:]
        for f in flagged { flaggedKeys[Key(device: f.deviceID, seq: f.seq, metric: f.metric)] = f }

        for (key, kind) in truth {
            guard history(key) >= minHistory else {
                notScored += 1
                continue
            }
            byKind[kind, default: Figures()].injected += 1
            if let f = flaggedKeys[key] {
                byKind[kind]!.detected += 1
                if f.ts >= record.startedAt { delaysMs.append(f.detectedAt.timeIntervalSince(f.ts) * 1000) }
            }
        }
        for (key, _) in flaggedKeys where truth[key] == nil {
            if dropoutKeys.contains(key) {
                flaggedOnDropouts += 1
            } else if isAcked(key.device, key.seq), history(key) >= minHistory {
                falseAlarms += 1
            } else {
                flaggedNotJudged += 1
            }
        }
        falseAlarms += flaggedOnDropouts
        for kind in byKind.keys {
            byKind[kind]!.falseAlarms = falseAlarms
            overall.injected += byKind[kind]!.injected
            overall.detected += byKind[kind]!.detected
        }
        overall.falseAlarms = falseAlarms
        delaysMs.sort()
    }

    /// The delay below which a share `p` of the scored detections came, in ms.
    package func delayPercentile(_ p: Double) -> Double? {
        guard !delaysMs.isEmpty else { return nil }
        let rank = max(1, Int((p * Double(delaysMs.count)).rounded(.up)))
        return delaysMs[min(rank, delaysMs.count) - 1]
    }

    static func lowerBound(_ sorted: [Int64], _ value: Int64) -> Int {
        var lo = 0
        var hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
