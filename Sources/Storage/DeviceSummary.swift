/// One device as `/v1/devices` lists it.
package struct DeviceSummary: Sendable, Equatable {
    package var deviceID: String
    /// Readings stored (each `(device_id, seq)` once).
    package var readings: Int64
    /// Anomalies currently stored, one per (reading, metric).
    package var anomalies: Int64
    /// Incidents stored, and how many of them are open.
    package var incidents: Int64
    package var openIncidents: Int64
    /// When ingest accepted the device's newest stored reading (RFC 3339).
    package var lastSeen: String?
    /// The highest seq stored.
    package var lastSeq: Int64?

    package init(
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
