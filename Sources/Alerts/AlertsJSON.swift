import PipelineCore
package import Storage

/// JSON bodies of the alerts API (the shapes `OpenAPIDocument` describes): the one
/// encoder of its responses. Written out rather than through `JSONEncoder`, which
/// `make bench` (`BENCH_ONLY=alerts_json`) measures beside it on the same page.
package enum AlertsJSON {
    static func number(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "null" }
        return ReadingCodec.jsonNumber(v)
    }

    static func string(_ s: String?) -> String { s.map(jsonString) ?? "null" }

    static func anomaly(_ a: AnomalyRecord) -> String {
        "{\"device_id\":\(jsonString(a.deviceID)),\"seq\":\(a.seq),\"ts\":\(jsonString(a.ts)),"
            + "\"metric\":\(jsonString(a.metric)),\"value\":\(number(a.value)),\"score\":\(number(a.score)),"
            + "\"median\":\(number(a.median)),\"mad\":\(number(a.mad)),\"window\":\(a.window),"
            + "\"detected_at\":\(string(a.detectedAt))}"
    }

    package static func anomalyPage(_ items: [AnomalyRecord], next: FeedCursor?) -> String {
        "{\"items\":[" + items.map(anomaly).joined(separator: ",") + "],\"next_cursor\":" + string(next?.token) + "}"
    }

    static func incident(_ r: IncidentRecord) -> String {
        let i = r.incident
        return "{\"id\":\(jsonString(r.id)),\"device_id\":\(jsonString(r.deviceID)),\"metric\":\(jsonString(r.metric)),"
            + "\"state\":\"\(r.isOpen ? "open" : "closed")\",\"opened_at\":\(string(r.openedAt)),\"opened_seq\":\(i.openedSeq),"
            + "\"opened_ts\":\(jsonString(i.openedTs)),\"last_seq\":\(i.lastSeq),\"closed_at\":\(string(r.closedAt)),"
            + "\"anomalies\":\(i.anomalies),\"peak_score\":\(number(i.peakScore)),\"peak_value\":\(number(i.peakValue)),"
            + "\"reason\":\(jsonString(i.reason))}"
    }

    static func incidentPage(_ items: [IncidentRecord], next: FeedCursor?) -> String {
        "{\"items\":[" + items.map(incident).joined(separator: ",") + "],\"next_cursor\":" + string(next?.token) + "}"
    }

    static func device(_ d: DeviceSummary) -> String {
        "{\"device_id\":\(jsonString(d.deviceID)),\"readings\":\(d.readings),\"anomalies\":\(d.anomalies),"
            + "\"incidents\":\(d.incidents),\"open_incidents\":\(d.openIncidents),"
            + "\"last_seen\":\(string(d.lastSeen)),\"last_seq\":\(d.lastSeq.map(String.init) ?? "null")}"
    }

    static func devicePage(_ items: [DeviceSummary], next: String?) -> String {
        "{\"items\":[" + items.map(device).joined(separator: ",") + "],\"next_cursor\":"
            + string(next.map(DeviceCursor.encode)) + "}"
    }

    static func band(_ b: AnomalyBand) -> String {
        "{\"median\":\(number(b.median)),\"mad\":\(number(b.dispersion)),\"low\":\(number(b.low)),"
            + "\"high\":\(number(b.high)),\"window\":\(b.window)}"
    }

    static func readings(_ items: [StoredReading], withBands: Bool) -> String {
        "{\"items\":["
            + items.map { r in
                var s = "{\"device_id\":\(jsonString(r.deviceID)),\"seq\":\(r.seq),\"ts\":\(jsonString(r.ts)),"
                s += "\"metrics\":\(r.metricsJSON)"
                if withBands {
                    s += ",\"bands\":{"
                    s += r.bands.keys.sorted().map { "\(jsonString($0)):\(band(r.bands[$0]!))" }.joined(separator: ",")
                    s += "}"
                }
                return s + "}"
            }.joined(separator: ",") + "]}"
    }
}
