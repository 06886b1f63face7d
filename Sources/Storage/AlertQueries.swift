import Foundation
package import PipelineCore
package import SQL

/// The read-only queries of the alerts API.
package enum AlertQueries {
    /// A newest-first feed: its table and the columns of its keyset (time, device, seq, metric).
    package enum Feed: Sendable {
        case anomalies, incidents

        var table: String { self == .anomalies ? "anomalies" : "incidents" }
        var time: String { self == .anomalies ? "detected_at" : "opened_at" }
        var seq: String { self == .anomalies ? "seq" : "opened_seq" }
        var columns: String {
            self == .anomalies
                ? "device_id, seq, metric, ts, value, score, median, mad, window_size, detected_at" : IncidentStore.columns
        }
    }

    /// One page of anomalies, newest first, and the cursor for the next page (nil on the last).
    package static func anomalies(_ f: FeedFilter, on db: SQLConnection) throws -> ([AnomalyRecord], FeedCursor?) {
        try page(.anomalies, f, on: db, read: anomaly(from:)) { FeedCursor(at: $0.detectedAt ?? "", deviceID: $0.deviceID, seq: $0.seq, metric: $0.metric) }
    }

    /// One page of incidents, newest first, and the cursor for the next page (nil on the last).
    package static func incidents(_ f: FeedFilter, on db: SQLConnection) throws -> ([IncidentRecord], FeedCursor?) {
        try page(.incidents, f, on: db, read: IncidentStore.incident(from:)) {
            FeedCursor(at: $0.openedAt ?? "", deviceID: $0.deviceID, seq: $0.incident.openedSeq, metric: $0.metric)
        }
    }

    static func page<Item>(
        _ feed: Feed, _ f: FeedFilter, on db: SQLConnection, read: (SQLRow) throws(SQLError) -> Item, cursor: (Item) -> FeedCursor
    ) throws -> ([Item], FeedCursor?) {
        let (sql, params) = statement(feed, f)
        var items = try db.execute(sql, params).map(read)
        var next: FeedCursor?
        if items.count > f.limit {
            items.removeLast()
            next = cursor(items[items.count - 1])
        }
        return (items, next)
    }

    /// The statement of one page (one row more than the limit, to know whether another page follows).
    package static func statement(_ feed: Feed, _ f: FeedFilter) -> (sql: String, params: [String?]) {
        var conditions: [String] = []
        var params: [String?] = []
        func param(_ value: String) -> String {
            params.append(value)
            return "$\(params.count)"
        }
        let (time, seq) = (feed.time, feed.seq)
        if let d = f.deviceID { conditions.append("device_id = \(param(d))") }
        if let c = scopeCondition(f.scope, column: "device_id", param: param) { conditions.append(c) }
        if let m = f.metric { conditions.append("metric = \(param(m))") }
        if let s = f.state, feed == .incidents { conditions.append("state = \(param(s.rawValue))") }
        if let s = f.since { conditions.append("\(time) >= \(param(s))::TIMESTAMPTZ") }
        if let u = f.until { conditions.append("\(time) < \(param(u))::TIMESTAMPTZ") }
        if let c = f.cursor {
            let at = "\(param(c.at))::TIMESTAMPTZ"
            switch f.deviceID {
            case nil:
                // In the order of the feed's `_recent` index: one range of it.
                conditions.append(
                    "(\(time), device_id, \(seq), metric) < (\(at), \(param(c.deviceID)), \(param(String(c.seq)))::INT8, \(param(c.metric)))")
            case let d? where d == c.deviceID:
                // The device is fixed: the same condition in the order of the `_device_recent` index.
                conditions.append("(\(time), \(seq), metric) < (\(at), \(param(String(c.seq)))::INT8, \(param(c.metric)))")
            case let d?:
                // A cursor of another device: its position still orders this device's items.
                conditions.append(d < c.deviceID ? "\(time) <= \(at)" : "\(time) < \(at)")
            }
        }
        var sql = "SELECT \(feed.columns) FROM \(feed.table)"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY \(time) DESC, device_id DESC, \(seq) DESC, metric DESC LIMIT \(param(String(f.limit + 1)))::INT8"
        return (sql, params)
    }

    /// The SQL condition of a scope (nil for all). A prefix is compared as a
    /// substring, not with LIKE, whose `_` would be a wildcard (device ids are
    /// ASCII, so its length in bytes is its length in characters).
    static func scopeCondition(_ scope: ReaderScope, column: String, param: (String) -> String) -> String? {
        guard case .prefix(let p) = scope else { return nil }
        return "substr(\(column), 1, \(p.utf8.count)) = \(param(p))"
    }

    /// The newest readings of one device (with seq below `before`, when given), newest first.
    package static func readings(deviceID: String, before: Int64? = nil, limit: Int, on db: SQLConnection) throws -> [StoredReading] {
        let rows = try db.execute(
            """
            SELECT device_id, seq, ts, metrics FROM readings WHERE device_id = $1 AND seq < $2::INT8
            ORDER BY seq DESC LIMIT $3::INT8
            """,
            [deviceID, String(before ?? Int64.max), String(limit)])
        return try rows.map { r throws(SQLError) in
            StoredReading(
                deviceID: try r.text("device_id"), seq: try r.int("seq"), ts: SQLTime.rfc3339(try r.text("ts")),
                metricsJSON: try r.text("metrics"))
        }
    }

    /// Devices in id order after `after`, `limit` of them.
    package static func devices(after: String?, limit: Int, scope: ReaderScope = .all, on db: SQLConnection) throws
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
    package static func device(_ id: String, on db: SQLConnection) throws -> DeviceSummary? {
        try summaries(where: "d.device_id = $1", [id], limit: 1, on: db).first
    }

    /// Counts come from the devices row; a row older than those columns is counted from the readings.
    static func summaries(where condition: String, _ params: [String?], limit: Int, on db: SQLConnection) throws
        -> [DeviceSummary]
    {
        let rows = try db.execute(
            """
            SELECT d.device_id,
                COALESCE(d.reading_count, (SELECT count(*) FROM readings AS r WHERE r.device_id = d.device_id)) AS readings,
                (SELECT count(*) FROM anomalies AS a WHERE a.device_id = d.device_id) AS anomalies,
                (SELECT count(*) FROM incidents AS i WHERE i.device_id = d.device_id) AS incidents,
                (SELECT count(*) FROM incidents AS i WHERE i.device_id = d.device_id AND i.state = 'open') AS open_incidents,
                COALESCE(d.last_seen,
                    (SELECT max(COALESCE(r.accepted_at, r.stored_at)) FROM readings AS r WHERE r.device_id = d.device_id))
                    AS last_seen,
                d.max_seq
            FROM devices AS d WHERE \(condition) ORDER BY d.device_id LIMIT \(limit)
            """, params)
        return try rows.map { r throws(SQLError) in
            DeviceSummary(
                deviceID: try r.text("device_id"), readings: try r.int("readings"), anomalies: try r.int("anomalies"),
                incidents: try r.int("incidents"), openIncidents: try r.int("open_incidents"),
                lastSeen: try r.optionalText("last_seen").map(SQLTime.rfc3339), lastSeq: try r.optionalInt("max_seq"))
        }
    }

    static func anomaly(from r: SQLRow) throws(SQLError) -> AnomalyRecord {
        AnomalyRecord(
            deviceID: try r.text("device_id"), seq: try r.int("seq"), metric: try r.text("metric"),
            ts: SQLTime.rfc3339(try r.text("ts")), value: try r.double("value"), score: try r.optionalDouble("score"),
            median: try r.double("median"), mad: try r.double("mad"), window: Int(try r.int("window_size")),
            detectedAt: SQLTime.rfc3339(try r.text("detected_at")))
    }
}
