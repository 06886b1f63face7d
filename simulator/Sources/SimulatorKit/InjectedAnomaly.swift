/// One reading's metric that the simulator made abnormal on purpose: the
/// ground truth detection is scored against.
public struct InjectedAnomaly: Sendable, Hashable {
    /// How the signal was disturbed.
    public enum Kind: String, Sendable, CaseIterable {
        /// One reading far off the signal.
        case spike
        /// Several consecutive readings offset by the same amount (each one is an entry).
        case levelShift = "level_shift"
        /// Consecutive readings offset by a growing amount, up to a full offset (realistic signals only).
        case drift
        /// The sensor lost contact: the metric is missing from several readings. There
        /// is no value to flag, so scoring only checks that nothing is raised for it.
        case dropout

        /// Whether the value rule can be expected to flag it.
        public var isValueAnomaly: Bool { self != .dropout }
    }

    public var deviceID: String
    public var seq: Int64
    public var metric: String
    public var kind: Kind

    public init(deviceID: String, seq: Int64, metric: String, kind: Kind) {
        self.deviceID = deviceID
        self.seq = seq
        self.metric = metric
        self.kind = kind
    }
}
