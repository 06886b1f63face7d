import PipelineCore
import SQL
import Storage

/// Applies the anomaly rule inside the batch's transaction, with every window
/// read from the database (the source of truth), after the batch's readings
/// were inserted and its devices locked.
///
/// A reading that arrives late (a lower seq than readings already stored)
/// enters the windows of up to `windowSize` later readings of its device; their
/// verdicts are computed again and their anomalies added, updated or removed,
/// so the stored anomalies always equal the rule applied to the stored
/// readings, whatever the order of arrival and however many analyzers run.
///
/// Windows of readings that arrive in order come from a cache of each series'
/// newest values when the cache is provably current: the device's version
/// (read under its row lock, bumped by every batch that stores readings of it)
/// is the one the cache saw, so no other analyzer stored anything for it since. Otherwise, and
/// for late readings, the database answers. The cache changes only after the
/// batch's commit; the tests compare the stored anomalies with the rule
/// applied directly, with two analyzers sharing the devices.
final class Detector {
    let rule: AnomalyRule
    private let cache: WindowCache

    init(rule: AnomalyRule, cachedDevices: Int = 50_000) {
        self.rule = rule
        self.cache = WindowCache(capacity: rule.windowSize, maxDevices: cachedDevices)
    }

    struct Outcome {
        var anomalies: [AnomalyRecord] = []
        /// Anomalies of earlier-judged readings that a late reading made normal.
        var cleared: [(deviceID: String, seq: Int64, metric: String)] = []
        /// Earlier-judged readings whose verdict was computed again.
        var revisited = 0
        /// Windows answered by the cache, and by the database.
        var cacheHits = 0
        var cacheMisses = 0
        /// To apply to the cache once the transaction committed.
        fileprivate var update = WindowCache.Update()
    }

    /// Makes the cache reflect a committed batch.
    func committed(_ outcome: Outcome) { cache.apply(outcome.update) }

    typealias Key = ReadingStore.SeriesKey
    typealias Item = (seq: Int64, value: Double, ts: String)

    /// Judges `readings` (just inserted in this transaction) and the stored readings whose windows they
    /// enter. `devices` is each device's state before this batch: a series whose new readings are
    /// all above its highest stored seq arrived in order, and has no later readings to look at.
    func judge(_ readings: [Reading], devices: [String: ReadingStore.DeviceState], on db: SQLConnection) throws -> Outcome {
        var fresh: [Key: [Item]] = [:]
        for r in readings {
            for (metric, value) in r.metrics {
                fresh[Key(deviceID: r.deviceID, metric: metric), default: []].append((r.seq, value, r.ts))
            }
        }
        guard !fresh.isEmpty else { return Outcome() }
        let lowest = fresh.mapValues { $0.map(\.seq).min()! }
        let highest = fresh.mapValues { $0.map(\.seq).max()! }

        // A late series (stored readings above its lowest new one): the stored readings whose
        // windows the new ones enter. A stored reading's window holds a new one only if fewer
        // than `windowSize` stored readings lie between them, so these are, after each new
        // reading, the first `windowSize` stored ones before the next new reading: bounded by
        // the window, whatever the device's history. In order, there are none.
        let late = fresh.keys.filter { key in
            guard let stored = devices[key.deviceID]?.maxSeq else { return false }
            return stored > lowest[key]!
        }
        var later: [Key: [Item]] = [:]
        if !late.isEmpty {
            var ranges: [(key: Key, lower: Int64, upper: Int64)] = []
            for key in late {
                let seqs = Set(fresh[key]!.map(\.seq)).sorted()
                for (j, seq) in seqs.enumerated() {
                    let upper = j + 1 < seqs.count ? seqs[j + 1] - 1 : Int64.max
                    if upper > seq { ranges.append((key, seq, upper)) }
                }
            }
            later = try ReadingStore.later(ranges, limit: rule.windowSize, on: db)
        }

        var outcome = Outcome()
        let lateSet = Set(late)
        for key in late { outcome.update.invalidate.insert(key.deviceID) }

        // In-order series whose device the cache knows to be current: windows from memory.
        var cached: [Key: [(seq: Int64, value: Double)]] = [:]
        for key in fresh.keys where !lateSet.contains(key) {
            if let state = devices[key.deviceID], let values = cache.values(key, version: state.version) {
                // Newest first, with this batch's values, as the database would return them.
                cached[key] = (values + fresh[key]!.map { ($0.seq, $0.value) }).sorted { $0.seq > $1.seq }
            }
        }
        outcome.cacheHits = cached.count
        outcome.cacheMisses = fresh.count - cached.count

        // Every other window, in one statement: the values below the highest reading to judge.
        var top: [Key: Int64] = [:]
        var span = 0
        for (key, items) in fresh where cached[key] == nil {
            top[key] = max(later[key]?.last?.seq ?? highest[key]!, highest[key]!) + 1
            span = max(span, items.count + (later[key]?.count ?? 0) + 1)
        }
        let limit = rule.windowSize + span
        let windows = try ReadingStore.windows(top, limit: limit, on: db)

        for (key, newItems) in fresh {
            let newSeqs = Set(newItems.map(\.seq))
            let stored = later[key] ?? []
            let fromCache = cached[key] != nil
            let rows = cached[key] ?? windows[key] ?? []
            if !lateSet.contains(key) {
                // In order, the first `windowSize` rows are the series' newest values: what the
                // cache keeps after the commit.
                outcome.update.series[key] = Array(rows.prefix(rule.windowSize).reversed())
                outcome.update.version[key.deviceID] = (devices[key.deviceID]?.version ?? 0) + 1
            } else {
                outcome.update.invalidate.insert(key.deviceID)
            }
            func window(below seq: Int64) throws -> [(seq: Int64, value: Double)] {
                // rows is newest first: binary search for the first row below seq.
                var lo = 0
                var hi = rows.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if rows[mid].seq < seq { hi = mid } else { lo = mid + 1 }
                }
                let w = Array(rows[lo..<min(lo + rule.windowSize, rows.count)])
                if !fromCache && w.count < rule.windowSize && rows.count == limit {
                    // The shared fetch may stop short of this window: ask for it alone.
                    return try ReadingStore.window(
                        deviceID: key.deviceID, metric: key.metric, belowSeq: seq, limit: rule.windowSize, on: db)
                }
                return w
            }
            for item in newItems {
                if let a = try anomaly(key, item, window(below: item.seq).map(\.value)) { outcome.anomalies.append(a) }
            }
            for item in stored {
                let w = try window(below: item.seq)
                guard w.contains(where: { newSeqs.contains($0.seq) }) else { continue }
                outcome.revisited += 1
                if let a = try anomaly(key, item, w.map(\.value)) {
                    outcome.anomalies.append(a)
                } else {
                    outcome.cleared.append((key.deviceID, item.seq, key.metric))
                }
            }
        }
        return outcome
    }

    private func anomaly(_ key: Key, _ item: Item, _ window: [Double]) throws -> AnomalyRecord? {
        guard let verdict = rule.evaluate(item.value, window: window), verdict.isAnomaly else { return nil }
        return AnomalyRecord(
            deviceID: key.deviceID, seq: item.seq, metric: key.metric, ts: item.ts, value: item.value,
            score: verdict.score, median: verdict.median, mad: verdict.mad, window: verdict.window)
    }
}
