import PipelineCore

/// Position after the last item of a page of a newest-first feed (anomalies,
/// incidents): the key of the feed's index (`anomalies_recent`: detected_at,
/// device_id, seq, metric; `incidents_recent`: opened_at, device_id, opened_seq,
/// metric), so the next page is one index range scan. A walk neither skips nor
/// repeats: the key is a total order, and a stored item's key never changes (a
/// revised verdict keeps its `detected_at`, an incident its opening). Items stored
/// during the walk are newer than its start and so are not in it, except those
/// whose transaction began before a page was read and committed after: they may
/// appear once, further down.
package struct FeedCursor: Sendable, Equatable {
    /// The feed's time: when the anomaly was detected, or the incident opened.
    package var at: String
    package var deviceID: String
    package var seq: Int64
    package var metric: String

    package init(at: String, deviceID: String, seq: Int64, metric: String) {
        self.at = at
        self.deviceID = deviceID
        self.seq = seq
        self.metric = metric
    }

    /// Opaque, URL-safe form.
    package var token: String {
        Base64URL.encode([at, deviceID, String(seq), metric].joined(separator: "\n"))
    }

    package init?(token: String) {
        guard let raw = Base64URL.decode(token) else { return nil }
        let parts = raw.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, Timestamp.parse(parts[0]) != nil, Validation.isValidDeviceID(parts[1]),
            let seq = Int64(parts[2]), Validation.isValidMetricName(parts[3])
        else { return nil }
        self.init(at: parts[0], deviceID: parts[1], seq: seq, metric: parts[3])
    }
}
