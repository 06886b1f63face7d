package import PipelineCore

/// Filters of the newest-first feeds, `GET /v1/anomalies` and `GET /v1/incidents`.
package struct FeedFilter: Sendable, Equatable {
    package var deviceID: String?
    package var metric: String?
    /// Incidents only: open or closed ones.
    package var state: IncidentState?
    /// RFC 3339 bounds on the feed's time, `detected_at` or `opened_at` (since inclusive, until exclusive).
    package var since: String?
    package var until: String?
    package var limit: Int
    package var cursor: FeedCursor?
    /// The devices the reader may see; applied inside the query, so pages stay full.
    package var scope: ReaderScope

    package init(
        deviceID: String? = nil, metric: String? = nil, state: IncidentState? = nil, since: String? = nil,
        until: String? = nil, limit: Int = 100, cursor: FeedCursor? = nil, scope: ReaderScope = .all
    ) {
        self.deviceID = deviceID
        self.metric = metric
        self.state = state
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
        self.scope = scope
    }
}

/// Whether an incident is still going on.
package enum IncidentState: String, Sendable, Equatable, CaseIterable {
    case open, closed
}
