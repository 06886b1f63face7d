/// One episode of one device's metric: what pages a person, however many of its
/// readings are anomalies.
package struct Incident: Sendable, Equatable {
    package var openedSeq: Int64
    /// The opening reading's timestamp.
    package var openedTs: String
    /// The newest seq that was evidence.
    package var lastSeq: Int64
    /// Readings of the episode that the per-reading rule flagged.
    package var anomalies: Int
    /// The evidence's score of largest magnitude; nil when that reading's window had no spread.
    package var peakScore: Double?
    package var peakValue: Double
    /// Why it opened, in words (the opening evidence's `reason`).
    package var reason: String

    package init(
        openedSeq: Int64, openedTs: String, lastSeq: Int64, anomalies: Int, peakScore: Double?, peakValue: Double,
        reason: String
    ) {
        self.openedSeq = openedSeq
        self.openedTs = openedTs
        self.lastSeq = lastSeq
        self.anomalies = anomalies
        self.peakScore = peakScore
        self.peakValue = peakValue
        self.reason = reason
    }

    /// The incident `evidence` at `seq` opens.
    package init(opening seq: Int64, ts: String, isAnomaly: Bool, evidence: IncidentEvidence) {
        self.init(
            openedSeq: seq, openedTs: ts, lastSeq: seq, anomalies: isAnomaly ? 1 : 0, peakScore: evidence.score,
            peakValue: evidence.value, reason: evidence.reason)
    }

    /// Takes in one more reading of the episode: counts it when the rule flagged it, and
    /// when it is evidence, extends the episode to it and keeps the larger peak.
    package mutating func absorb(seq: Int64, isAnomaly: Bool, evidence: IncidentEvidence?) {
        if isAnomaly { anomalies += 1 }
        guard let evidence else { return }
        lastSeq = max(lastSeq, seq)
        if Self.magnitude(evidence.score) > Self.magnitude(peakScore) {
            peakScore = evidence.score
            peakValue = evidence.value
        }
    }

    /// A score's magnitude, with no spread at all counting as the largest.
    static func magnitude(_ score: Double?) -> Double { score.map(abs) ?? .infinity }
}
