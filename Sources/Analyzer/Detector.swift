import PipelineCore
import SQL
import Storage

/// Applies the anomaly rule to newly stored readings, reading each window from
/// the database (the source of truth) inside the batch's transaction.
struct Detector {
    let rule: AnomalyRule

    /// The anomalies among `readings`, which are already inserted in this transaction.
    func anomalies(in readings: [Reading], on db: SQLConnection) throws -> [AnomalyRecord] {
        var groups: [GroupKey: [(seq: Int64, value: Double, ts: String)]] = [:]
        for r in readings {
            for (metric, value) in r.metrics {
                groups[GroupKey(deviceID: r.deviceID, metric: metric), default: []].append((r.seq, value, r.ts))
            }
        }
        var found: [AnomalyRecord] = []
        for (key, items) in groups {
            let sorted = items.sorted { $0.seq < $1.seq }
            let maxSeq = sorted[sorted.count - 1].seq
            // One query covers every reading of the group in the common case; rows are newest first.
            let limit = rule.windowSize + sorted.count
            let rows = try ReadingStore.window(
                deviceID: key.deviceID, metric: key.metric, belowSeq: maxSeq + 1, limit: limit, on: db)
            for item in sorted {
                var window = Array(rows.lazy.filter { $0.seq < item.seq }.prefix(rule.windowSize).map(\.value))
                if window.count < rule.windowSize && rows.count == limit {
                    // The shared query may have stopped short of this reading's window: ask for it alone.
                    window = try ReadingStore.window(
                        deviceID: key.deviceID, metric: key.metric, belowSeq: item.seq, limit: rule.windowSize, on: db
                    ).map(\.value)
                }
                guard let verdict = rule.evaluate(item.value, window: window), verdict.isAnomaly else { continue }
                found.append(
                    AnomalyRecord(
                        deviceID: key.deviceID, seq: item.seq, metric: key.metric, ts: item.ts, value: item.value,
                        score: verdict.score, median: verdict.median, mad: verdict.mad, window: verdict.window))
            }
        }
        return found
    }

    struct GroupKey: Hashable {
        var deviceID: String
        var metric: String
    }
}
