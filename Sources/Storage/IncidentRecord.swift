package import PipelineCore

/// A stored incident, as the analyzer keeps it and the alerts API serves it.
package struct IncidentRecord: Sendable, Equatable {
    package var deviceID: String
    package var metric: String
    package var incident: Incident
    package var isOpen: Bool
    /// When the analyzer opened it, and closed it (RFC 3339; nil before it is stored, or while open).
    package var openedAt: String?
    package var closedAt: String?

    package init(
        deviceID: String, metric: String, incident: Incident, isOpen: Bool, openedAt: String? = nil, closedAt: String? = nil
    ) {
        self.deviceID = deviceID
        self.metric = metric
        self.incident = incident
        self.isOpen = isOpen
        self.openedAt = openedAt
        self.closedAt = closedAt
    }

    /// Stable and unique: device ids hold no `/`, metric names neither.
    package var id: String { "\(deviceID)/\(metric)/\(incident.openedSeq)" }

    package var key: ReadingStore.SeriesKey { .init(deviceID: deviceID, metric: metric) }
}
