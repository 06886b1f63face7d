/// One reading's metric that the simulator made abnormal on purpose: the
/// ground truth detection is scored against.
package struct InjectedAnomaly: Sendable, Hashable {
    /// How the signal was disturbed.
    package enum Kind: String, Sendable, CaseIterable {
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
        package var isValueAnomaly: Bool { self != .dropout }
    }

    package var deviceID: String
    package var seq: Int64
    package var metric: String
    package var kind: Kind

    package init(deviceID: String, seq: Int64, metric: String, kind: Kind) {
        self.deviceID = deviceID
        self.seq = seq
        self.metric = metric
        self.kind = kind
    }
}
