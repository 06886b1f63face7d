/// One injected fault as the report shows it: what was done, the evidence that it
/// took effect, and what the devices saw while it lasted (until the next fault).
public struct FaultRecord: Sendable, Codable {
    public var fault: ChaosFault
    /// What was hit: `ingest-1`, `rabbit node 2 (leader)`, `postgresql`.
    public var target: String
    /// Seconds since the devices started.
    public var at: Double
    /// Seconds since the devices started when the fault was over (the process ready, the node rejoined).
    public var recoveredAt: Double?
    /// Observations that show the fault happened, in order.
    public var evidence: [String]
    /// False when an observation the fault needs did not hold (the run then fails).
    public var tookEffect: Bool
    /// Retries and failed readings of the devices from this fault to the next.
    public var retries: Int
    public var failed: Int
    /// The longest silence between two acks of one device that overlaps this fault's window (from
    /// this fault to the next; a silence spanning two windows counts in both);
    /// nil when no device waited longer than the gap threshold.
    public var longestGapMs: Int64?
    public var longestGapDevice: String?
    /// Devices that saw a gap over the threshold in this window.
    public var devicesWithGaps: Int

    init(fault: ChaosFault, target: String, at: Double) {
        self.fault = fault
        self.target = target
        self.at = at
        evidence = []
        tookEffect = true
        retries = 0
        failed = 0
        devicesWithGaps = 0
    }

    /// Records an observation; `holds: false` marks the fault as not having taken effect.
    mutating func observe(_ text: String, holds: Bool = true) {
        evidence.append(holds ? text : "NOT SEEN: \(text)")
        if !holds { tookEffect = false }
    }
}
