/// What turns per-reading evidence into incidents, the unit that pages a person.
///
/// A reading is evidence when it is both far from its window (the anomaly rule's
/// score beyond `minScore`) and beyond every value the series showed over the last
/// `recordSpan` seqs (its record). The record is what makes this hold on real
/// signals: heavy tails, quantised values whose MAD collapses and a daily rhythm
/// all widen it, because what the series already did is not news; after a level
/// shift the new level is in the record within one reading, so the series is
/// re-baselined instead of flagged for as long as its window takes to follow.
/// An incident opens on evidence, is extended by further evidence, and closes
/// once `closeAfter` seqs passed without any. Defaults and their measured effect
/// on NAB's labelled series: README, "Incidents".
public struct IncidentRule: Sendable, Equatable {
    /// `|score|` a reading must exceed against its window to count as evidence.
    public var minScore: Double
    /// Seqs of history the record covers, in whole blocks of `recordBlock` before the reading's own block.
    public var recordSpan: Int64
    /// Seqs per block of the record; at most the anomaly window plus one, so the
    /// window covers the part of the reading's own block that came before it.
    public var recordBlock: Int64
    /// Seqs without evidence after which an open incident closes.
    public var closeAfter: Int64

    public static let `default` = IncidentRule(minScore: 2.5, recordSpan: 3000, recordBlock: 100, closeAfter: 200)

    public init(minScore: Double = 2.5, recordSpan: Int64 = 3000, recordBlock: Int64 = 100, closeAfter: Int64 = 200) {
        precondition(minScore > 0 && recordBlock >= 1 && recordSpan >= recordBlock && closeAfter >= 1)
        self.minScore = minScore
        self.recordSpan = recordSpan
        self.recordBlock = recordBlock
        self.closeAfter = closeAfter
    }

    /// An empty record with this rule's block layout.
    public func newRecord() -> SeriesRecord { SeriesRecord(blockSize: recordBlock, blocks: recordSpan / recordBlock) }

    /// Whether `value` at `seq` is evidence, given the rule's verdict on it, its window
    /// (the earlier values the verdict used) and the series' record. Nil when it is not.
    public func evidence(
        value: Double, seq: Int64, verdict: Verdict?, window: some Sequence<Double>, record: SeriesRecord
    ) -> IncidentEvidence? {
        guard let verdict else { return nil }
        if let score = verdict.score {
            guard abs(score) > minScore else { return nil }
        } else if value == verdict.median {
            return nil
        }
        var bounds = record.extremes(before: seq)
        for v in window {
            if bounds == nil { bounds = .init(low: v, high: v) } else { bounds!.include(v) }
        }
        guard let bounds else { return nil }
        if value > bounds.high {
            return IncidentEvidence(direction: .high, score: verdict.score, value: value, median: verdict.median, record: bounds.high)
        }
        if value < bounds.low {
            return IncidentEvidence(direction: .low, score: verdict.score, value: value, median: verdict.median, record: bounds.low)
        }
        return nil
    }
}

/// Why a reading counts towards an incident: the explanation an incident keeps from the reading that opened it.
public struct IncidentEvidence: Sendable, Equatable {
    public enum Direction: String, Sendable, Equatable {
        case high
        case low
    }

    public var direction: Direction
    /// The anomaly rule's score; nil when its window had no spread at all.
    public var score: Double?
    public var value: Double
    /// The window's median.
    public var median: Double
    /// The series' highest (or lowest) value before, which `value` went beyond.
    public var record: Double

    public init(direction: Direction, score: Double?, value: Double, median: Double, record: Double) {
        self.direction = direction
        self.score = score
        self.value = value
        self.median = median
        self.record = record
    }

    /// One line for a person: what the value did, against what.
    public var reason: String {
        let beyond = direction == .high ? "above the highest" : "below the lowest"
        let scoreText = score.map { "score \(Self.short($0))" } ?? "no spread in its window"
        return "\(Self.short(value)) is \(beyond) value of the series' record (\(Self.short(record))) "
            + "and far from its window (median \(Self.short(median)), \(scoreText))"
    }

    static func short(_ x: Double) -> String {
        let r = (x * 1000).rounded() / 1000
        return r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r)
    }
}
