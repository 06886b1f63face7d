import PipelineCore

/// Filters of `GET /v1/anomalies`.
public struct AnomalyFilter: Sendable, Equatable {
    public var deviceID: String?
    public var metric: String?
    /// RFC 3339 bounds on `detected_at` (since inclusive, until exclusive).
    public var since: String?
    public var until: String?
    public var limit: Int
    public var cursor: AnomalyCursor?
    /// The devices the reader may see; applied inside the query, so pages stay full.
    public var scope: ReaderScope

    public init(
        deviceID: String? = nil, metric: String? = nil, since: String? = nil, until: String? = nil, limit: Int = 100,
        cursor: AnomalyCursor? = nil, scope: ReaderScope = .all
    ) {
        self.deviceID = deviceID
        self.metric = metric
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
        self.scope = scope
    }
}
