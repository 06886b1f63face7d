import PipelineCore

/// A stored incident, as the analyzer keeps it and the alerts API serves it.
public struct IncidentRecord: Sendable, Equatable {
    public var deviceID: String
    public var metric: String
    public var incident: Incident
    public var isOpen: Bool
    /// When the analyzer opened it, and closed it (RFC 3339; nil before it is stored, or while open).
    public var openedAt: String?
    public var closedAt: String?

    public init(
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
    public var id: String { "\(deviceID)/\(metric)/\(incident.openedSeq)" }

    public var key: ReadingStore.SeriesKey { .init(deviceID: deviceID, metric: metric) }
}
