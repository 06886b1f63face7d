import PipelineCore
import SQL
import Storage

/// Applies the anomaly rule to newly stored readings, reading every window
/// from the database (the source of truth) inside the batch's transaction.
struct Detector {
    let rule: AnomalyRule

    /// The anomalies among `readings`, which are already inserted in this transaction.
    func anomalies(in readings: [Reading], on db: SQLConnection) throws -> [AnomalyRecord] {
        typealias Key = ReadingStore.SeriesKey
        var groups: [Key: [(seq: Int64, value: Double, ts: String)]] = [:]
        for r in readings {
            for (metric, value) in r.metrics {
                groups[Key(deviceID: r.deviceID, metric: metric), default: []].append((r.seq, value, r.ts))
            }
        }
        guard !groups.isEmpty else { return [] }
        // One statement for the whole batch: for each series, the newest values below its
        // highest new seq, enough to cover the window of each of its new readings.
        let perSeries = groups.values.map(\.count).max()!
        let limit = rule.windowSize + perSeries
        let windows = try ReadingStore.windows(groups.mapValues { $0.map(\.seq).max()! + 1 }, limit: limit, on: db)
        var found: [AnomalyRecord] = []
        for (key, items) in groups {
            let rows = windows[key] ?? []
            for item in items {
                var window = Array(rows.lazy.filter { $0.seq < item.seq }.prefix(rule.windowSize).map(\.value))
                if window.count < rule.windowSize && rows.count == limit {
                    // Older readings stored between this batch's seqs used up the shared limit: ask for this window alone.
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
}
