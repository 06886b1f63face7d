/// One injected fault as the report shows it: what was done, the evidence that it
/// took effect, and what the devices saw while it lasted (until the next fault).
package struct FaultRecord: Sendable, Codable {
    package var fault: ChaosFault
    /// What was hit: `ingest-1`, `rabbit node 2 (leader)`, `postgresql`.
    package var target: String
    /// Seconds since the devices started.
    package var at: Double
    /// Seconds since the devices started when the fault was over (the process ready, the node rejoined).
    package var recoveredAt: Double?
    /// Observations that show the fault happened, in order.
    package var evidence: [String]
    /// False when an observation the fault needs did not hold (the run then fails).
    package var tookEffect: Bool
    /// Retries and failed readings of the devices from this fault to the next.
    package var retries: Int
    package var failed: Int
    /// The longest silence between two acks of one device that overlaps this fault's window (from
    /// this fault to the next; a silence spanning two windows counts in both);
    /// nil when no device waited longer than the gap threshold.
    package var longestGapMs: Int64?
    package var longestGapDevice: String?
    /// Devices that saw a gap over the threshold in this window.
    package var devicesWithGaps: Int

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
