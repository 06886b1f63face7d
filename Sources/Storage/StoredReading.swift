import PipelineCore

/// A stored reading as the alerts API serves it.
public struct StoredReading: Sendable {
    public var deviceID: String
    public var seq: Int64
    public var ts: String
    /// The metrics object as JSON text, straight from the database.
    public var metricsJSON: String
    /// Per metric, the band the reading was judged against (when asked for).
    public var bands: [String: AnomalyBand] = [:]
}
