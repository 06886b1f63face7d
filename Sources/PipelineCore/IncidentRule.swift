/// What turns per-reading evidence into incidents, the unit that pages a person.
///
/// A reading is evidence when it goes beyond everything the series showed over
/// the last `recordSpan` seqs (its record) while far from its window: its value,
/// with the anomaly rule's score beyond `minScore`, or the short mean of its last
/// `meanLength` readings (the `meanTrim` lowest and highest left out, so that one
/// spike does not move it), more than `meanScore` from the window's median in the
/// same units. The record is what makes this hold on real signals: heavy tails,
/// quantised values whose MAD collapses and a daily rhythm all widen it, because
/// what the series already did is not news; after a level shift the new level is
/// in the record within a few readings, so the series is re-baselined instead of
/// flagged for as long as its window takes to follow. The mean catches shifts
/// and drifts that stay inside the range single readings already reached.
/// An incident opens on evidence, is extended by further evidence, and closes
/// once `closeAfter` seqs passed without any. Defaults and their measured effect
/// on NAB's labelled series: docs/detection.md, "Incidents".
package struct IncidentRule: Sendable, Equatable {
    /// `|score|` a reading must exceed against its window to count as evidence.
    package var minScore: Double
    /// Readings in the short mean, the reading itself included.
    package var meanLength: Int
    /// Readings left out of the short mean at each end.
    package var meanTrim: Int
    /// How far (in the rule's score units) the short mean must be from the window's median.
    package var meanScore: Double
    /// Seqs of history the record covers, in whole blocks of `recordBlock` before the reading's own block.
    package var recordSpan: Int64
    /// Seqs per block of the record; at most the anomaly window plus one, so the
    /// window covers the part of the reading's own block that came before it.
    package var recordBlock: Int64
    /// Seqs without evidence after which an open incident closes.
    package var closeAfter: Int64

    package static let `default` = IncidentRule()

    package init(
        minScore: Double = 2.5, meanLength: Int = 12, meanTrim: Int = 2, meanScore: Double = 1.5,
        recordSpan: Int64 = 2500, recordBlock: Int64 = 100, closeAfter: Int64 = 200
    ) {
        precondition(minScore > 0 && meanLength >= 1 && meanTrim >= 0 && 2 * meanTrim < meanLength && meanScore > 0)
        precondition(recordBlock >= 1 && recordSpan >= recordBlock && closeAfter >= 1)
        self.minScore = minScore
        self.meanLength = meanLength
        self.meanTrim = meanTrim
        self.meanScore = meanScore
        self.recordSpan = recordSpan
        self.recordBlock = recordBlock
        self.closeAfter = closeAfter
    }

    /// The smallest anomaly window this rule works with: one that covers the part of a
    /// reading's own block before it, and the short means ending there.
    package var smallestWindow: Int { Int(recordBlock) + meanLength - 2 }

    /// Whether a reading's history is complete enough to be evidence: at most one in ten
    /// of the seqs its window spans (down to its oldest, `oldest`) is missing. Seqs count
    /// up by one per reading, so more missing means readings still on their way (another
    /// analyzer holds them): judged now, against a record without them, the reading could
    /// open an incident the complete series does not have. Once they are stored, the
    /// reading is judged again with them (a late reading re-judges the ones after it).
    package static func historyIsComplete(seq: Int64, oldest: Int64?, count: Int) -> Bool {
        guard let oldest, seq > oldest else { return true }
        return (seq - oldest - Int64(count)) * 10 <= Int64(count)
    }

    /// An empty record with this rule's block layout.
    package func newRecord() -> SeriesRecord { SeriesRecord(blockSize: recordBlock, blocks: recordSpan / recordBlock) }

    /// The short mean of `value` and the `meanLength − 1` values before it
    /// (`window`, newest first); nil while there are fewer.
    package func mean(value: Double, window: [Double]) -> Double? {
        guard window.count >= meanLength - 1 else { return nil }
        return trimmedMean([value] + window.prefix(meanLength - 1))
    }

    func trimmedMean(_ values: some Collection<Double>) -> Double {
        let kept = values.sorted().dropFirst(meanTrim).dropLast(meanTrim)
        return kept.reduce(0, +) / Double(kept.count)
    }

    /// Whether `value` at `seq` is evidence, given the rule's verdict on it, its
    /// window (the earlier values the verdict used, newest first), the short mean
    /// ending at it (`mean(value:window:)`) and the series' record. Nil when it is not.
    package func evidence(
        value: Double, seq: Int64, verdict: Verdict?, window: [Double], mean: Double?, record: SeriesRecord
    ) -> IncidentEvidence? {
        guard let verdict else { return nil }
        // Distances are measured in the window's MAD, but never in less than the
        // series' resolution: integer values whose MAD collapsed are not far apart.
        var scale: Double?
        func far(_ x: Double, _ limit: Double) -> Bool {
            guard Self.far(x, verdict.median, verdict.mad, limit) else { return false }
            if scale == nil { scale = max(verdict.mad, Self.resolution(window)) }
            return Self.far(x, verdict.median, scale!, limit)
        }
        if far(value, minScore) {
            var bounds = record.extremes(before: seq)
            for v in window { Self.include(v, in: &bounds) }
            if let e = Self.beyond(value, bounds, .value, verdict) { return e }
        }
        if let mean, far(mean, meanScore) {
            if let e = Self.beyond(mean, record.meanExtremes(through: seq), .mean, verdict) { return e }
        }
        return nil
    }

    /// Farther than `limit` from `median`, in the rule's score units for `scale`.
    static func far(_ x: Double, _ median: Double, _ scale: Double, _ limit: Double) -> Bool {
        let delta = x - median
        return scale == 0 ? delta != 0 : abs(0.6745 * delta / scale) > limit
    }

    /// The step of a quantised series: the smallest gap between two different
    /// values of `window`, when it holds at least three different values (with
    /// two, the gap is the size of whatever sets them apart, not a step); else 0.
    static func resolution(_ window: [Double]) -> Double {
        let sorted = window.sorted()
        var step = 0.0
        var levels = sorted.isEmpty ? 0 : 1
        for i in sorted.indices.dropFirst() where sorted[i] > sorted[i - 1] {
            levels += 1
            let gap = sorted[i] - sorted[i - 1]
            if step == 0 || gap < step { step = gap }
        }
        return levels >= 3 ? step : 0
    }

    static func include(_ v: Double, in bounds: inout SeriesRecord.Extremes?) {
        if bounds == nil { bounds = .init(low: v, high: v) } else { bounds!.include(v) }
    }

    static func beyond(_ x: Double, _ bounds: SeriesRecord.Extremes?, _ channel: IncidentEvidence.Channel, _ verdict: Verdict)
        -> IncidentEvidence?
    {
        guard let bounds else { return nil }
        if x > bounds.high {
            return IncidentEvidence(channel: channel, direction: .high, score: verdict.score, value: x, median: verdict.median, record: bounds.high)
        }
        if x < bounds.low {
            return IncidentEvidence(channel: channel, direction: .low, score: verdict.score, value: x, median: verdict.median, record: bounds.low)
        }
        return nil
    }
}

/// Why a reading counts towards an incident: the explanation an incident keeps from the reading that opened it.
package struct IncidentEvidence: Sendable, Equatable {
    package enum Direction: String, Sendable, Equatable {
        case high
        case low
    }

    /// What went beyond the record: the reading's value, or the short mean ending at it.
    package enum Channel: String, Sendable, Equatable {
        case value
        case mean
    }

    package var channel: Channel
    package var direction: Direction
    /// The anomaly rule's score of the reading; nil when its window had no spread at all.
    package var score: Double?
    /// The value or mean that went beyond the record.
    package var value: Double
    /// The window's median.
    package var median: Double
    /// The series' highest (or lowest) value before, which `value` went beyond.
    package var record: Double

    package init(channel: Channel = .value, direction: Direction, score: Double?, value: Double, median: Double, record: Double) {
        self.channel = channel
        self.direction = direction
        self.score = score
        self.value = value
        self.median = median
        self.record = record
    }

    /// One line for a person: what the value did, against what.
    package var reason: String {
        let beyond = direction == .high ? "above the highest" : "below the lowest"
        switch channel {
        case .value:
            let scoreText = score.map { "score \(Self.short($0))" } ?? "no spread in its window"
            return "value \(Self.short(value)) is \(beyond) value of the series' record (\(Self.short(record))) "
                + "and far from its window (median \(Self.short(median)), \(scoreText))"
        case .mean:
            return "the short mean of the last readings, \(Self.short(value)), is \(beyond) such mean of the series' record "
                + "(\(Self.short(record))) and far from its window (median \(Self.short(median)))"
        }
    }

    static func short(_ x: Double) -> String {
        let r = (x * 1000).rounded() / 1000
        return r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r)
    }
}
