package import SQL

/// Compares the readings devices saw acknowledged with what the database holds,
/// by loading the acknowledged keys into a table beside `readings` and joining:
/// the one loss check of `make chaos`, `make demo` (`pipeline verify`) and the tests.
package struct LossCheck {
    let db: SQLConnection
    let table: String

    /// Creates the table of acknowledged keys (`table`, dropped first if it exists).
    package init(db: SQLConnection, table: String = "chaos_acked") throws {
        self.db = db
        self.table = table
        try db.execute("DROP TABLE IF EXISTS \(table)")
        try db.execute("CREATE TABLE \(table) (device_id TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (device_id, seq))")
    }

    /// Adds acknowledged (device_id, seq) pairs, 5,000 to a statement.
    package func load(_ pairs: [(String, Int64)]) throws {
        for start in stride(from: 0, to: pairs.count, by: 5000) {
            let chunk = pairs[start..<min(start + 5000, pairs.count)]
            try db.execute(
                "INSERT INTO \(table) SELECT * FROM unnest($1::TEXT[], $2::BIGINT[]) ON CONFLICT DO NOTHING",
                [SQLArray.text(chunk.map(\.0)), SQLArray.int(chunk.map(\.1))])
        }
    }

    package func acknowledged() throws -> Int { try count("SELECT count(*) FROM \(table)") }

    /// Acknowledged readings that are not in `readings`.
    package func missing() throws -> Int {
        try count("SELECT count(*) FROM \(table) a WHERE NOT EXISTS \(Self.stored("a"))")
    }

    /// A few missing keys as `device_id:seq`, for the report.
    package func missingExamples(limit: Int = 5) throws -> [String] {
        try db.execute(
            "SELECT a.device_id || ':' || a.seq AS key FROM \(table) a WHERE NOT EXISTS \(Self.stored("a")) ORDER BY 1 LIMIT \(limit)"
        ).map { r throws(SQLError) in try r.text("key") }
    }

    /// Rows beyond the first of one key, in readings, metric values and anomalies. The keys are
    /// primary keys, so this finds nothing unless the schema lost them: it is checked all the same.
    package func duplicates() throws -> Int {
        try count(
            """
            SELECT (SELECT count(*) - count(DISTINCT (device_id, seq)) FROM readings)
                 + (SELECT count(*) - count(DISTINCT (device_id, metric, seq)) FROM metric_values)
                 + (SELECT count(*) - count(DISTINCT (device_id, seq, metric)) FROM anomalies)
            """)
    }

    /// Readings stored that no device saw acknowledged (the ack was lost with a fault; the device
    /// retried or gave up): allowed, and the reason storage must be idempotent.
    package func storedNotAcknowledged() throws -> Int {
        try count(
            "SELECT count(*) FROM readings r WHERE NOT EXISTS (SELECT 1 FROM \(table) a WHERE a.device_id = r.device_id AND a.seq = r.seq)")
    }

    /// Anomalies flagged on acknowledged readings.
    package func anomalies() throws -> Int {
        try count("SELECT count(*) FROM anomalies n WHERE EXISTS (SELECT 1 FROM \(table) a WHERE a.device_id = n.device_id AND a.seq = n.seq)")
    }

    /// Drops the table of acknowledged keys.
    package func drop() throws { try db.execute("DROP TABLE IF EXISTS \(table)") }

    static func stored(_ alias: String) -> String {
        "(SELECT 1 FROM readings r WHERE r.device_id = \(alias).device_id AND r.seq = \(alias).seq)"
    }

    /// The one number `sql` selects; anything else is an error, never a count of 0.
    func count(_ sql: String) throws -> Int {
        let rows = try db.execute(sql)
        guard rows.count == 1, rows.columns.count == 1, let text = rows.rows[0][0], let n = Int(text) else {
            throw SQLError(sqlState: nil, message: "the loss check's query returned no single count: \(rows.columns) \(rows.rows.prefix(2))", connectionLost: false)
        }
        return n
    }
}
