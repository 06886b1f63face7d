/// One device as `/v1/devices` lists it.
public struct DeviceSummary: Sendable, Equatable {
    public var deviceID: String
    /// Readings stored (each `(device_id, seq)` once).
    public var readings: Int64
    /// Anomalies currently stored, one per (reading, metric).
    public var anomalies: Int64
    /// Incidents stored, and how many of them are open.
    public var incidents: Int64
    public var openIncidents: Int64
    /// When ingest accepted the device's newest stored reading (RFC 3339).
    public var lastSeen: String?
    /// The highest seq stored.
    public var lastSeq: Int64?

    public init(
        deviceID: String, readings: Int64, anomalies: Int64, incidents: Int64 = 0, openIncidents: Int64 = 0, lastSeen: String?,
        lastSeq: Int64?
    ) {
        self.deviceID = deviceID
        self.readings = readings
        self.anomalies = anomalies
        self.incidents = incidents
        self.openIncidents = openIncidents
        self.lastSeen = lastSeen
        self.lastSeq = lastSeq
    }
}
