package import PipelineCore
package import SQL

/// The analyzer's statements for incidents and series records. Each runs inside
/// the caller's transaction, under the locks of the batch's devices.
package enum IncidentStore {
    package typealias SeriesKey = ReadingStore.SeriesKey

    /// One block of a series' record, as stored.
    package struct Block: Sendable, Equatable {
        package var key: SeriesKey
        package var block: Int64
        package var values: SeriesRecord.Extremes
        package var means: SeriesRecord.Extremes?

        package init(key: SeriesKey, block: Int64, values: SeriesRecord.Extremes, means: SeriesRecord.Extremes?) {
            self.key = key
            self.block = block
            self.values = values
            self.means = means
        }
    }

    /// Each series' record from its stored blocks at `fromBlock` and after, laid out as `layout`.
    package static func records(
        _ fromBlock: [SeriesKey: Int64], layout: SeriesRecord, on db: SQLConnection
    ) throws(SQLError) -> [SeriesKey: SeriesRecord] {
        guard !fromBlock.isEmpty else { return [:] }
        let keys = Array(fromBlock.keys)
        let rows = try db.execute(
            """
            SELECT k.d AS device_id, k.m AS metric, b.block, b.low, b.high, b.mean_low, b.mean_high
            FROM unnest($1::TEXT[], $2::TEXT[], $3::INT8[]) AS k (d, m, first)
            CROSS JOIN LATERAL (
                SELECT block, low, high, mean_low, mean_high FROM series_blocks
                WHERE device_id = k.d AND metric = k.m AND block >= k.first
            ) AS b
            """,
            [SQLArray.text(keys.map(\.deviceID)), SQLArray.text(keys.map(\.metric)), SQLArray.int(keys.map { fromBlock[$0]! })])
        var result: [SeriesKey: SeriesRecord] = [:]
        for key in keys { result[key] = layout }
        for block in try rows.map(block(from:)) {
            result[block.key]?.set(block: block.block, values: block.values, means: block.means)
        }
        return result
    }

    static func block(from row: SQLRow) throws(SQLError) -> Block {
        let meanLow = try row.optionalDouble("mean_low")
        let meanHigh = try row.optionalDouble("mean_high")
        var means: SeriesRecord.Extremes?
        if let meanLow, let meanHigh { means = .init(low: meanLow, high: meanHigh) }
        return Block(
            key: SeriesKey(deviceID: try row.text("device_id"), metric: try row.text("metric")), block: try row.int("block"),
            values: .init(low: try row.double("low"), high: try row.double("high")), means: means)
    }

    /// Widens the stored blocks to include the given extremes (a block not stored yet is
    /// inserted): storing the same blocks twice changes nothing.
    package static func widen(_ blocks: [Block], on db: SQLConnection) throws(SQLError) {
        for chunk in blocks.chunked(ReadingStore.rowsPerStatement) {
            // COALESCE around each side: LEAST and GREATEST of a NULL differ between PostgreSQL and CockroachDB.
            try db.execute(
                """
                INSERT INTO series_blocks (device_id, metric, block, low, high, mean_low, mean_high)
                SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::INT8[], $4::FLOAT8[], $5::FLOAT8[], $6::FLOAT8[], $7::FLOAT8[])
                ON CONFLICT (device_id, metric, block) DO UPDATE SET
                    low = LEAST(series_blocks.low, excluded.low), high = GREATEST(series_blocks.high, excluded.high),
                    mean_low = LEAST(COALESCE(series_blocks.mean_low, excluded.mean_low), COALESCE(excluded.mean_low, series_blocks.mean_low)),
                    mean_high = GREATEST(
                        COALESCE(series_blocks.mean_high, excluded.mean_high), COALESCE(excluded.mean_high, series_blocks.mean_high))
                """,
                [
                    SQLArray.text(chunk.map(\.key.deviceID)), SQLArray.text(chunk.map(\.key.metric)), SQLArray.int(chunk.map(\.block)),
                    SQLArray.number(chunk.map(\.values.low)), SQLArray.number(chunk.map(\.values.high)),
                    SQLArray.number(chunk.map(\.means?.low)), SQLArray.number(chunk.map(\.means?.high)),
                ])
        }
    }

    static let columns = """
        device_id, metric, opened_seq, opened_ts, opened_at, state, last_seq, closed_at, anomalies, peak_score, peak_value, reason
        """

    /// Each series' incident with the highest opening seq (the only one that can be open).
    package static func newest(_ keys: [SeriesKey], on db: SQLConnection) throws(SQLError) -> [SeriesKey: IncidentRecord] {
        guard !keys.isEmpty else { return [:] }
        let rows = try db.execute(
            """
            SELECT i.* FROM unnest($1::TEXT[], $2::TEXT[]) AS k (d, m)
            CROSS JOIN LATERAL (
                SELECT \(columns) FROM incidents WHERE device_id = k.d AND metric = k.m ORDER BY opened_seq DESC LIMIT 1
            ) AS i
            """, [SQLArray.text(keys.map(\.deviceID)), SQLArray.text(keys.map(\.metric))])
        var result: [SeriesKey: IncidentRecord] = [:]
        for r in try rows.map(incident(from:)) { result[r.key] = r }
        return result
    }

    /// The incidents of each series that opened at or before `upper` and had evidence at or after `lower`.
    package static func overlapping(
        _ ranges: [(key: SeriesKey, lower: Int64, upper: Int64)], on db: SQLConnection
    ) throws(SQLError) -> [IncidentRecord] {
        guard !ranges.isEmpty else { return [] }
        let rows = try db.execute(
            """
            SELECT i.* FROM unnest($1::TEXT[], $2::TEXT[], $3::INT8[], $4::INT8[]) AS k (d, m, lower, upper)
            CROSS JOIN LATERAL (
                SELECT \(columns) FROM incidents
                WHERE device_id = k.d AND metric = k.m AND opened_seq <= k.upper AND last_seq >= k.lower
            ) AS i
            """,
            [
                SQLArray.text(ranges.map(\.key.deviceID)), SQLArray.text(ranges.map(\.key.metric)),
                SQLArray.int(ranges.map(\.lower)), SQLArray.int(ranges.map(\.upper)),
            ])
        return try rows.map(incident(from:))
    }

    static func incident(from row: SQLRow) throws(SQLError) -> IncidentRecord {
        let state = try row.text("state")
        let incident = Incident(
            openedSeq: try row.int("opened_seq"), openedTs: SQLTime.rfc3339(try row.text("opened_ts")),
            lastSeq: try row.int("last_seq"), anomalies: Int(try row.int("anomalies")), peakScore: try row.optionalDouble("peak_score"),
            peakValue: try row.double("peak_value"), reason: try row.text("reason"))
        return IncidentRecord(
            deviceID: try row.text("device_id"), metric: try row.text("metric"), incident: incident, isOpen: state == "open",
            openedAt: SQLTime.rfc3339(try row.text("opened_at")), closedAt: try row.optionalText("closed_at").map(SQLTime.rfc3339))
    }

    /// Stores incidents as they are now: a new one is inserted (opened now), a known one
    /// updated (closed now, when it just closed). Storing the same state twice changes nothing.
    package static func save(_ incidents: [IncidentRecord], on db: SQLConnection) throws(SQLError) {
        for chunk in incidents.chunked(ReadingStore.rowsPerStatement) {
            try db.execute(
                """
                INSERT INTO incidents (device_id, metric, opened_seq, opened_ts, state, last_seq, closed_at, anomalies,
                    peak_score, peak_value, reason)
                SELECT u.d, u.m, u.s, u.t::TIMESTAMPTZ, u.st, u.l, CASE WHEN u.st = 'closed' THEN now() END, u.a, u.ps, u.pv, u.r
                FROM unnest($1::TEXT[], $2::TEXT[], $3::INT8[], $4::TEXT[], $5::TEXT[], $6::INT8[], $7::INT8[], $8::FLOAT8[],
                    $9::FLOAT8[], $10::TEXT[]) AS u (d, m, s, t, st, l, a, ps, pv, r)
                ON CONFLICT (device_id, metric, opened_seq) DO UPDATE SET state = excluded.state, last_seq = excluded.last_seq,
                    closed_at = CASE WHEN excluded.state = 'closed' THEN COALESCE(incidents.closed_at, now()) END,
                    anomalies = excluded.anomalies, peak_score = excluded.peak_score, peak_value = excluded.peak_value
                """,
                [
                    SQLArray.text(chunk.map(\.deviceID)), SQLArray.text(chunk.map(\.metric)),
                    SQLArray.int(chunk.map(\.incident.openedSeq)), SQLArray.text(chunk.map(\.incident.openedTs)),
                    SQLArray.text(chunk.map { $0.isOpen ? "open" : "closed" }), SQLArray.int(chunk.map(\.incident.lastSeq)),
                    SQLArray.int(chunk.map { Int64($0.incident.anomalies) }), SQLArray.number(chunk.map(\.incident.peakScore)),
                    SQLArray.number(chunk.map(\.incident.peakValue)), SQLArray.text(chunk.map(\.incident.reason)),
                ])
        }
    }
}
