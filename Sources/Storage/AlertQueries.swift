import Foundation
import PipelineCore
import SQL

/// Filters of `GET /v1/anomalies`.
public struct AnomalyFilter: Sendable, Equatable {
    public var deviceID: String?
    public var metric: String?
    /// RFC 3339 bounds on `detected_at` (since inclusive, until exclusive).
    public var since: String?
    public var until: String?
    public var limit: Int
    public var cursor: AnomalyCursor?

    public init(
        deviceID: String? = nil, metric: String? = nil, since: String? = nil, until: String? = nil, limit: Int = 100,
        cursor: AnomalyCursor? = nil
    ) {
        self.deviceID = deviceID
        self.metric = metric
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
    }
}

/// Position after the last item of a page, in newest-first order: the key of
/// the `anomalies_newest` index, so the next page is one index range scan and
/// neither skips nor repeats items.
public struct AnomalyCursor: Sendable, Equatable {
    public var detectedAt: String
    public var deviceID: String
    public var seq: Int64
    public var metric: String

    public init(detectedAt: String, deviceID: String, seq: Int64, metric: String) {
        self.detectedAt = detectedAt
        self.deviceID = deviceID
        self.seq = seq
        self.metric = metric
    }

    /// Opaque, URL-safe form.
    public var token: String {
        let raw = [detectedAt, deviceID, String(seq), metric].joined(separator: "\n")
        return Data(raw.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init?(token: String) {
        var b64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let raw = String(data: data, encoding: .utf8) else { return nil }
        let parts = raw.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, Timestamp.parse(parts[0]) != nil, Validation.isValidDeviceID(parts[1]),
            let seq = Int64(parts[2]), Validation.isValidMetricName(parts[3])
        else { return nil }
        self.init(detectedAt: parts[0], deviceID: parts[1], seq: seq, metric: parts[3])
    }
}

/// A stored reading as the alerts API serves it.
public struct StoredReading: Sendable {
    public var deviceID: String
    public var seq: Int64
    public var ts: String
    /// The metrics object as JSON text, straight from the database.
    public var metricsJSON: String
}

/// The read-only queries of the alerts API.
public enum AlertQueries {
    /// One page of anomalies, newest first, and the cursor for the next page (nil on the last).
    public static func anomalies(_ f: AnomalyFilter, on db: SQLConnection) throws -> ([AnomalyRecord], AnomalyCursor?) {
        var conditions: [String] = []
        var params: [String?] = []
        func param(_ value: String) -> String {
            params.append(value)
            return "$\(params.count)"
        }
        if let d = f.deviceID { conditions.append("device_id = \(param(d))") }
        if let m = f.metric { conditions.append("metric = \(param(m))") }
        if let s = f.since { conditions.append("detected_at >= \(param(s))::TIMESTAMPTZ") }
        if let u = f.until { conditions.append("detected_at < \(param(u))::TIMESTAMPTZ") }
        if let c = f.cursor {
            conditions.append(
                "(detected_at, device_id, seq, metric) < (\(param(c.detectedAt))::TIMESTAMPTZ, \(param(c.deviceID)), \(param(String(c.seq)))::INT8, \(param(c.metric)))"
            )
        }
        var sql = "SELECT device_id, seq, metric, ts, value, score, median, mad, window_size, detected_at FROM anomalies"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY detected_at DESC, device_id DESC, seq DESC, metric DESC LIMIT \(param(String(f.limit + 1)))::INT8"
        let rows = try db.execute(sql, params)
        var items = rows.rows.map(anomaly(from:))
        var next: AnomalyCursor?
        if items.count > f.limit {
            items.removeLast()
            let last = items[items.count - 1]
            next = AnomalyCursor(detectedAt: last.detectedAt ?? "", deviceID: last.deviceID, seq: last.seq, metric: last.metric)
        }
        return (items, next)
    }

    /// The newest readings of one device, newest first.
    public static func readings(deviceID: String, limit: Int, on db: SQLConnection) throws -> [StoredReading] {
        let rows = try db.execute(
            "SELECT device_id, seq, ts, metrics FROM readings WHERE device_id = $1 ORDER BY seq DESC LIMIT $2::INT8",
            [deviceID, String(limit)])
        return rows.rows.map { r in
            StoredReading(
                deviceID: r[0] ?? "", seq: Int64(r[1] ?? "") ?? 0, ts: SQLTime.rfc3339(r[2] ?? ""), metricsJSON: r[3] ?? "{}")
        }
    }

    static func anomaly(from r: [String?]) -> AnomalyRecord {
        AnomalyRecord(
            deviceID: r[0] ?? "", seq: Int64(r[1] ?? "") ?? 0, metric: r[2] ?? "", ts: SQLTime.rfc3339(r[3] ?? ""),
            value: Double(r[4] ?? "") ?? .nan, score: r[5].flatMap(Double.init), median: Double(r[6] ?? "") ?? .nan,
            mad: Double(r[7] ?? "") ?? .nan, window: Int(r[8] ?? "") ?? 0, detectedAt: r[9].map(SQLTime.rfc3339))
    }
}
