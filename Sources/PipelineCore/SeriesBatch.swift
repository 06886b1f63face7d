/// One series' share of an analyzer batch, judged without I/O: its new readings in
/// seq order, then the stored readings after them whose windows they entered (a late
/// arrival re-judges those), each against the window the caller's `window` gives:
/// the up to `windowSize` values with the highest seqs below it, newest first, as
/// stored once this batch's readings are in. The analyzer's `Detector` fetches the
/// windows and stores what comes out; this is the logic between, tested on its own
/// with readings in every order.
package struct SeriesBatch: Sendable {
    package typealias Item = (seq: Int64, value: Double, ts: String)
    package typealias Window = [(seq: Int64, value: Double)]

    /// A verdict of the per-reading rule on one reading of the batch.
    package struct Judged: Sendable {
        package var seq: Int64
        package var value: Double
        package var ts: String
        package var verdict: Verdict
    }

    package let rule: AnomalyRule
    package let incidentRule: IncidentRule
    /// The series' record and incidents, as the batch leaves them.
    package private(set) var record: SeriesRecord
    package private(set) var ledger: IncidentLedger
    /// Readings the rule flags, new ones and re-judged ones.
    package private(set) var anomalies: [Judged] = []
    /// Re-judged readings the rule no longer flags: their stored anomaly, if any, goes.
    package private(set) var cleared: [Int64] = []
    /// Stored readings judged again because a new reading entered their window.
    package private(set) var revisited = 0
    /// The record's blocks this batch widened, with this batch's extremes in them.
    package private(set) var widened: [Int64: (values: SeriesRecord.Extremes, means: SeriesRecord.Extremes?)] = [:]

    package init(rule: AnomalyRule, incidentRule: IncidentRule, record: SeriesRecord, ledger: IncidentLedger) {
        self.rule = rule
        self.incidentRule = incidentRule
        self.record = record
        self.ledger = ledger
    }

    /// Judges `new` (this batch's readings, any order) and then `later` (stored readings above the
    /// lowest of them, seq order); `window(seq)` must already count the new readings as stored.
    package mutating func judge(new: [Item], later: [Item], window: (Int64) throws -> Window) rethrows {
        let newSeqs = Set(new.map(\.seq))
        for item in new.sorted(by: { $0.seq < $1.seq }) {
            let earlier = try window(item.seq)
            let w = earlier.map(\.value)
            let verdict = rule.evaluate(item.value, window: w)
            if let verdict, verdict.isAnomaly { anomalies.append(Judged(seq: item.seq, value: item.value, ts: item.ts, verdict: verdict)) }
            let mean = incidentRule.mean(value: item.value, window: w)
            let evidence =
                IncidentRule.historyIsComplete(seq: item.seq, oldest: earlier.last?.seq, count: earlier.count)
                ? incidentRule.evidence(value: item.value, seq: item.seq, verdict: verdict, window: w, mean: mean, record: record)
                : nil
            ledger.observe(seq: item.seq, ts: item.ts, isAnomaly: verdict?.isAnomaly ?? false, evidence: evidence)
            let b = SeriesRecord.block(of: item.seq, size: record.blockSize)
            let had = (record.extremes[b], record.meanExtremes[b])
            record.add(seq: item.seq, value: item.value, mean: mean)
            if had != (record.extremes[b], record.meanExtremes[b]) || widened[b] != nil {
                Self.widen(&widened[b], value: item.value, mean: mean)
            }
        }
        for item in later {
            let earlier = try window(item.seq)
            guard earlier.contains(where: { newSeqs.contains($0.seq) }) else { continue }
            revisited += 1
            let w = earlier.map(\.value)
            let verdict = rule.evaluate(item.value, window: w)
            if let verdict, verdict.isAnomaly {
                anomalies.append(Judged(seq: item.seq, value: item.value, ts: item.ts, verdict: verdict))
            } else {
                cleared.append(item.seq)
            }
            // Judged before with part of its history missing (too short a window, say): evidence
            // now joins or opens an incident as a late reading's would. Its anomaly was counted
            // then, if it was one; evidence that went away takes no incident back.
            guard IncidentRule.historyIsComplete(seq: item.seq, oldest: earlier.last?.seq, count: earlier.count) else { continue }
            let evidence = incidentRule.evidence(
                value: item.value, seq: item.seq, verdict: verdict, window: w, mean: incidentRule.mean(value: item.value, window: w),
                record: record)
            if evidence != nil { ledger.observe(seq: item.seq, ts: item.ts, isAnomaly: false, evidence: evidence) }
        }
    }

    /// Takes a value (and its mean) into a block's extremes of this batch.
    static func widen(_ e: inout (values: SeriesRecord.Extremes, means: SeriesRecord.Extremes?)?, value: Double, mean: Double?) {
        var values = e?.values ?? .init(low: value, high: value)
        values.include(value)
        var means = e?.means
        if let mean {
            if means == nil { means = .init(low: mean, high: mean) } else { means!.include(mean) }
        }
        e = (values, means)
    }
}
