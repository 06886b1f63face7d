package import PipelineCore

/// A stored reading as the alerts API serves it.
package struct StoredReading: Sendable {
    package var deviceID: String
    package var seq: Int64
    package var ts: String
    /// The metrics object as JSON text, straight from the database.
    package var metricsJSON: String
    /// Per metric, the band the reading was judged against (when asked for).
    package var bands: [String: AnomalyBand] = [:]
}
