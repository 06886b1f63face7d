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
///
/// The same pass feeds each series' readings, in seq order, to its incident
/// ledger with the evidence of the incident rule, against the series' record
/// (stored per block, widened as readings come) and its open incident, both read
/// under the device's lock or taken from the cache on the same condition.
final class Detector {
    let rule: AnomalyRule
    let incidentRule: IncidentRule
    private let cache: WindowCache

    init(rule: AnomalyRule, incidentRule: IncidentRule = .default, cachedDevices: Int = 50_000) {
        precondition(rule.windowSize >= incidentRule.smallestWindow, "the window must cover a block and the means ending in it")
        self.rule = rule
        self.incidentRule = incidentRule
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
        /// Incidents this batch opened, extended or closed, as they are now.
        var incidents: [IncidentRecord] = []
        var incidentsOpened = 0
        var incidentsClosed = 0
        /// Record blocks the batch widened, with the batch's own extremes in them.
        var blocks: [IncidentStore.Block] = []
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

        // Each series' record and incidents: from the cache on the same condition, else stored.
        var tracked: [Key: WindowCache.Tracked] = [:]
        for key in fresh.keys where !lateSet.contains(key) {
            if let state = devices[key.deviceID], let t = cache.tracked(key, version: state.version) { tracked[key] = t }
        }
        let untracked = fresh.keys.filter { tracked[$0] == nil }
        let layout = incidentRule.newRecord()
        let records = try IncidentStore.records(
            Dictionary(uniqueKeysWithValues: untracked.map { key in
                (key, SeriesRecord.block(of: lowest[key]!, size: layout.blockSize) - layout.blocks)
            }),
            layout: layout, on: db)
        var stored: [Key: [IncidentRecord]] = [:]
        for r in try IncidentStore.newest(untracked, on: db) { stored[r.key, default: []].append(r.value) }
        let near = late.map { ($0, lowest[$0]! - incidentRule.closeAfter, highest[$0]! + incidentRule.closeAfter) }
        for r in try IncidentStore.overlapping(near, on: db) { stored[r.key, default: []].append(r) }

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
            let entries =
                tracked[key].map { t in t.open.map { [IncidentLedger.Entry(incident: $0, isOpen: true)] } ?? [] }
                ?? (stored[key] ?? []).map { IncidentLedger.Entry(incident: $0.incident, isOpen: $0.isOpen) }
            var batch = SeriesBatch(
                rule: rule, incidentRule: incidentRule, record: tracked[key]?.record ?? records[key] ?? layout,
                ledger: IncidentLedger(rule: incidentRule, entries: entries, newestSeq: devices[key.deviceID]?.maxSeq))
            try batch.judge(new: newItems, later: later[key] ?? [], window: window(below:))
            outcome.revisited += batch.revisited
            for j in batch.anomalies {
                outcome.anomalies.append(
                    AnomalyRecord(
                        deviceID: key.deviceID, seq: j.seq, metric: key.metric, ts: j.ts, value: j.value, score: j.verdict.score,
                        median: j.verdict.median, mad: j.verdict.mad, window: j.verdict.window))
            }
            for seq in batch.cleared { outcome.cleared.append((key.deviceID, seq, key.metric)) }
            for (b, e) in batch.widened { outcome.blocks.append(.init(key: key, block: b, values: e.values, means: e.means)) }
            for e in batch.ledger.entries where e.changed {
                outcome.incidents.append(IncidentRecord(deviceID: key.deviceID, metric: key.metric, incident: e.incident, isOpen: e.isOpen))
            }
            outcome.incidentsOpened += batch.ledger.opened
            outcome.incidentsClosed += batch.ledger.closed
            if !lateSet.contains(key) { outcome.update.tracked[key] = .init(record: batch.record, open: batch.ledger.open) }
        }
        return outcome
    }
}
