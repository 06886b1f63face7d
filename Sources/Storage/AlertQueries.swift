import Foundation
import PipelineCore
import SQL

/// The read-only queries of the alerts API.
public enum AlertQueries {
    /// One page of anomalies, newest first, and the cursor for the next page (nil on the last).
    public static func anomalies(_ f: AnomalyFilter, on db: SQLConnection) throws -> ([AnomalyRecord], AnomalyCursor?) {
        let (sql, params) = anomaliesStatement(f)
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

    /// The statement of one page (one row more than the limit, to know whether another page follows).
    public static func anomaliesStatement(_ f: AnomalyFilter) -> (sql: String, params: [String?]) {
        var conditions: [String] = []
        var params: [String?] = []
        func param(_ value: String) -> String {
            params.append(value)
            return "$\(params.count)"
        }
        if let d = f.deviceID { conditions.append("device_id = \(param(d))") }
        if let c = scopeCondition(f.scope, column: "device_id", param: param) { conditions.append(c) }
        if let m = f.metric { conditions.append("metric = \(param(m))") }
        if let s = f.since { conditions.append("detected_at >= \(param(s))::TIMESTAMPTZ") }
        if let u = f.until { conditions.append("detected_at < \(param(u))::TIMESTAMPTZ") }
        if let c = f.cursor {
            let at = "\(param(c.detectedAt))::TIMESTAMPTZ"
            switch f.deviceID {
            case nil:
                // In the order of anomalies_recent: one range of it.
                conditions.append(
                    "(detected_at, device_id, seq, metric) < (\(at), \(param(c.deviceID)), \(param(String(c.seq)))::INT8, \(param(c.metric)))")
            case let d? where d == c.deviceID:
                // The device is fixed: the same condition in the order of anomalies_device_recent.
                conditions.append("(detected_at, seq, metric) < (\(at), \(param(String(c.seq)))::INT8, \(param(c.metric)))")
            case let d?:
                // A cursor of another device: its position still orders this device's anomalies.
                conditions.append(d < c.deviceID ? "detected_at <= \(at)" : "detected_at < \(at)")
            }
        }
        var sql = "SELECT device_id, seq, metric, ts, value, score, median, mad, window_size, detected_at FROM anomalies"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY detected_at DESC, device_id DESC, seq DESC, metric DESC LIMIT \(param(String(f.limit + 1)))::INT8"
        return (sql, params)
    }

    /// The SQL condition of a scope (nil for all). A prefix is compared as a
    /// substring, not with LIKE, whose `_` would be a wildcard (device ids are
    /// ASCII, so its length in bytes is its length in characters).
    static func scopeCondition(_ scope: ReaderScope, column: String, param: (String) -> String) -> String? {
        guard case .prefix(let p) = scope else { return nil }
        return "substr(\(column), 1, \(p.utf8.count)) = \(param(p))"
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

    /// The values of one device's metric with seq below `below`, newest first.
    public static func history(
        deviceID: String, metric: String, below: Int64, limit: Int, on db: SQLConnection
    ) throws -> [(seq: Int64, value: Double)] {
        let rows = try db.execute(
            """
            SELECT seq, value FROM metric_values WHERE device_id = $1 AND metric = $2 AND seq < $3::INT8
            ORDER BY seq DESC LIMIT $4::INT8
            """, [deviceID, metric, String(below), String(limit)])
        return rows.rows.compactMap { r in
            guard let s = r[0].flatMap({ Int64($0) }), let v = r[1].flatMap({ Double($0) }) else { return nil }
            return (s, v)
        }
    }

    /// Devices in id order after `after`, `limit` of them.
    public static func devices(after: String?, limit: Int, scope: ReaderScope = .all, on db: SQLConnection) throws
        -> [DeviceSummary]
    {
        var params: [String?] = [after ?? ""]
        var condition = "d.device_id > $1"
        if let c = scopeCondition(scope, column: "d.device_id", param: { params.append($0); return "$\(params.count)" }) {
            condition += " AND " + c
        }
        return try summaries(where: condition, params, limit: limit, on: db)
    }

    /// One device, or nil when it has stored no reading.
    public static func device(_ id: String, on db: SQLConnection) throws -> DeviceSummary? {
        try summaries(where: "d.device_id = $1", [id], limit: 1, on: db).first
    }

    /// Counts come from the devices row; a row older than those columns is counted from the readings.
    static func summaries(where condition: String, _ params: [String?], limit: Int, on db: SQLConnection) throws
        -> [DeviceSummary]
    {
        let rows = try db.execute(
            """
            SELECT d.device_id,
                COALESCE(d.reading_count, (SELECT count(*) FROM readings AS r WHERE r.device_id = d.device_id)),
                (SELECT count(*) FROM anomalies AS a WHERE a.device_id = d.device_id),
                COALESCE(d.last_seen,
                    (SELECT max(COALESCE(r.accepted_at, r.stored_at)) FROM readings AS r WHERE r.device_id = d.device_id)),
                d.max_seq
            FROM devices AS d WHERE \(condition) ORDER BY d.device_id LIMIT \(limit)
            """, params)
        return rows.rows.map { r in
            DeviceSummary(
                deviceID: r[0] ?? "", readings: Int64(r[1] ?? "") ?? 0, anomalies: Int64(r[2] ?? "") ?? 0,
                lastSeen: r[3].map(SQLTime.rfc3339), lastSeq: r[4].flatMap { Int64($0) })
        }
    }

    static func anomaly(from r: [String?]) -> AnomalyRecord {
        AnomalyRecord(
            deviceID: r[0] ?? "", seq: Int64(r[1] ?? "") ?? 0, metric: r[2] ?? "", ts: SQLTime.rfc3339(r[3] ?? ""),
            value: Double(r[4] ?? "") ?? .nan, score: r[5].flatMap(Double.init), median: Double(r[6] ?? "") ?? .nan,
            mad: Double(r[7] ?? "") ?? .nan, window: Int(r[8] ?? "") ?? 0, detectedAt: r[9].map(SQLTime.rfc3339))
    }
}
