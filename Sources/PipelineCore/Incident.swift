/// One episode of one device's metric: what pages a person, however many of its
/// readings are anomalies.
public struct Incident: Sendable, Equatable {
    public var openedSeq: Int64
    /// The opening reading's timestamp.
    public var openedTs: String
    /// The newest seq that was evidence.
    public var lastSeq: Int64
    /// Readings of the episode that the per-reading rule flagged.
    public var anomalies: Int
    /// The evidence's score of largest magnitude; nil when that reading's window had no spread.
    public var peakScore: Double?
    public var peakValue: Double
    /// Why it opened, in words (the opening evidence's `reason`).
    public var reason: String

    public init(
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
}
