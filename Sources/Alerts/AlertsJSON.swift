import PipelineCore
import Storage

/// JSON bodies of the alerts API.
enum AlertsJSON {
    static func number(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "null" }
        return ReadingCodec.jsonNumber(v)
    }

    static func anomaly(_ a: AnomalyRecord) -> String {
        "{\"device_id\":\(jsonString(a.deviceID)),\"seq\":\(a.seq),\"ts\":\(jsonString(a.ts)),"
            + "\"metric\":\(jsonString(a.metric)),\"value\":\(number(a.value)),\"score\":\(number(a.score)),"
            + "\"median\":\(number(a.median)),\"mad\":\(number(a.mad)),\"window\":\(a.window),"
            + "\"detected_at\":\(a.detectedAt.map(jsonString) ?? "null")}"
    }

    static func anomalyPage(_ items: [AnomalyRecord], next: AnomalyCursor?) -> String {
        "{\"items\":[" + items.map(anomaly).joined(separator: ",") + "],\"next_cursor\":"
            + (next.map { jsonString($0.token) } ?? "null") + "}"
    }

    static func readings(_ items: [StoredReading]) -> String {
        "{\"items\":["
            + items.map {
                "{\"device_id\":\(jsonString($0.deviceID)),\"seq\":\($0.seq),\"ts\":\(jsonString($0.ts)),\"metrics\":\($0.metricsJSON)}"
            }.joined(separator: ",") + "]}"
    }
}
