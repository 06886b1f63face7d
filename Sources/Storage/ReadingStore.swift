import Foundation
package import PipelineCore
package import SQL

/// A reading as the analyzer stores it, with ingest's acceptance time.
package struct IncomingReading: Sendable {
    package var reading: Reading
    package var acceptedAtMs: Int64?

    package init(reading: Reading, acceptedAtMs: Int64?) {
        self.reading = reading
        self.acceptedAtMs = acceptedAtMs
    }
}

/// An anomaly to store or serve.
package struct AnomalyRecord: Sendable, Equatable {
    package var deviceID: String
    package var seq: Int64
    package var metric: String
    package var ts: String
    package var value: Double
    package var score: Double?
    package var median: Double
    package var mad: Double
    package var window: Int
    package var detectedAt: String?

    package init(
        deviceID: String, seq: Int64, metric: String, ts: String, value: Double, score: Double?, median: Double,
        mad: Double, window: Int, detectedAt: String? = nil
    ) {
        self.deviceID = deviceID
        self.seq = seq
        self.metric = metric
        self.ts = ts
        self.value = value
        self.score = score
        self.median = median
        self.mad = mad
        self.window = window
        self.detectedAt = detectedAt
    }
}

/// Identifies a reading: the idempotency key.
package struct ReadingKey: Hashable, Sendable {
    package var deviceID: String
    package var seq: Int64

    package init(deviceID: String, seq: Int64) {
        self.deviceID = deviceID
        self.seq = seq
    }
}

/// The analyzer's statements. Each runs inside the caller's transaction.
package enum ReadingStore {
    /// Rows per statement at most (they go as array parameters, `SQLArray`: this bounds one statement's size).
    static let rowsPerStatement = 5000

    /// What `insert` did with each reading of a batch (indices into it).
    package struct InsertOutcome: Sendable, Equatable {
        /// Newly stored, each key once: the readings to judge.
        package var stored: [Int] = []
        /// Their key is already stored (or earlier in the batch) with other content:
        /// a device that reused a seq. Nothing of them is stored.
        package var conflicting: [Int] = []
        /// Exact copies of a stored reading (redeliveries, device retries): a no-op.
        package var duplicates = 0
    }

    /// Inserts the readings that are not stored yet and their metric values. A key
    /// already present is left as it is, together with the anomalies committed with
    /// it; the copy is a duplicate when its content (time and metrics) is the same,
    /// a conflict otherwise.
    package static func insert(_ batch: [IncomingReading], on db: SQLConnection) throws -> InsertOutcome {
        var outcome = InsertOutcome()
        var first: [ReadingKey: Int] = [:]
        var unique: [Int] = []
        for (i, item) in batch.enumerated() {
            let key = ReadingKey(deviceID: item.reading.deviceID, seq: item.reading.seq)
            if let j = first[key] {
                let a = batch[j].reading
                if a.ts == item.reading.ts && a.metrics == item.reading.metrics {
                    outcome.duplicates += 1
                } else {
                    outcome.conflicting.append(i)
                }
            } else {
                first[key] = i
                unique.append(i)
            }
        }
        var inserted = Set<ReadingKey>()
        for chunk in unique.chunked(rowsPerStatement) {
            let readings = chunk.map { batch[$0].reading }
            let rows = try db.execute(
                """
                INSERT INTO readings (device_id, seq, ts, metrics, accepted_at)
                SELECT u.d, u.s, u.t::TIMESTAMPTZ, u.m::JSONB, to_timestamp(u.a::FLOAT8 / 1000.0)
                FROM unnest($1::TEXT[], $2::INT8[], $3::TEXT[], $4::TEXT[], $5::INT8[]) AS u (d, s, t, m, a)
                ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq
                """,
                [
                    SQLArray.text(readings.map(\.deviceID)), SQLArray.int(readings.map(\.seq)), SQLArray.text(readings.map(\.ts)),
                    SQLArray.text(readings.map { metricsJSON($0.metrics) }), SQLArray.int(chunk.map { batch[$0].acceptedAtMs }),
                ])
            inserted.formUnion(try rows.map { r throws(SQLError) in ReadingKey(deviceID: try r.text("device_id"), seq: try r.int("seq")) })
        }
        var present: [Int] = []
        for i in unique {
            if inserted.contains(ReadingKey(deviceID: batch[i].reading.deviceID, seq: batch[i].reading.seq)) {
                outcome.stored.append(i)
            } else {
                present.append(i)
            }
        }
        let differing = try storedWithOtherContent(present.map { batch[$0].reading }, on: db)
        for i in present {
            if differing.contains(ReadingKey(deviceID: batch[i].reading.deviceID, seq: batch[i].reading.seq)) {
                outcome.conflicting.append(i)
            } else {
                outcome.duplicates += 1
            }
        }
        outcome.conflicting.sort()

        let values = outcome.stored.flatMap { i in
            batch[i].reading.metrics.map { (batch[i].reading.deviceID, $0.key, batch[i].reading.seq, $0.value) }
        }
        for chunk in values.chunked(rowsPerStatement) {
            try db.execute(
                """
                INSERT INTO metric_values (device_id, metric, seq, value)
                SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::INT8[], $4::FLOAT8[])
                ON CONFLICT (device_id, metric, seq) DO NOTHING
                """,
                [
                    SQLArray.text(chunk.map(\.0)), SQLArray.text(chunk.map(\.1)), SQLArray.int(chunk.map(\.2)),
                    SQLArray.number(chunk.map(\.3)),
                ])
        }
        return outcome
    }

    /// The keys of `readings` whose stored reading has another time or other metrics
    /// (compared as TIMESTAMPTZ and JSONB, so `70` and `70.0` are the same value).
    static func storedWithOtherContent(_ readings: [Reading], on db: SQLConnection) throws -> Set<ReadingKey> {
        var result = Set<ReadingKey>()
        for chunk in readings.chunked(rowsPerStatement) {
            let rows = try db.execute(
                """
                SELECT r.device_id, r.seq
                FROM unnest($1::TEXT[], $2::INT8[], $3::TEXT[], $4::TEXT[]) AS u (d, s, t, m)
                JOIN readings AS r ON r.device_id = u.d AND r.seq = u.s
                WHERE r.ts <> u.t::TIMESTAMPTZ OR r.metrics <> u.m::JSONB
                """,
                [
                    SQLArray.text(chunk.map(\.deviceID)), SQLArray.int(chunk.map(\.seq)),
                    SQLArray.text(chunk.map(\.ts)), SQLArray.text(chunk.map { metricsJSON($0.metrics) }),
                ])
            result.formUnion(try rows.map { r throws(SQLError) in ReadingKey(deviceID: try r.text("device_id"), seq: try r.int("seq")) })
        }
        return result
    }

    /// The newest `limit` values of one device and metric with seq below `belowSeq`, newest first.
    package static func window(
        deviceID: String, metric: String, belowSeq: Int64, limit: Int, on db: SQLConnection
    ) throws -> [(seq: Int64, value: Double)] {
        let rows = try db.execute(
            """
            SELECT seq, value FROM metric_values
            WHERE device_id = $1 AND metric = $2 AND seq < $3::INT8
            ORDER BY seq DESC LIMIT $4::INT8
            """, [deviceID, metric, String(belowSeq), String(limit)])
        return try rows.map { r throws(SQLError) in (seq: try r.int("seq"), value: try r.double("value")) }
    }

    /// What a batch learns about a device under its lock.
    package struct DeviceState: Sendable, Equatable {
        /// The highest stored seq; nil when none is stored.
        package var maxSeq: Int64?
        /// Bumped by every batch that stored readings of the device.
        package var version: Int64
    }

    /// Locks the devices' rows for the rest of the transaction (creating them if new),
    /// in device order so that two batches cannot deadlock on each other, and returns
    /// each device's state as of the lock.
    @discardableResult
    package static func lockDevices(_ deviceIDs: Set<String>, on db: SQLConnection) throws -> [String: DeviceState] {
        guard !deviceIDs.isEmpty else { return [:] }
        let ids = SQLArray.text(deviceIDs.sorted())
        try db.execute(
            "INSERT INTO devices (device_id) SELECT unnest($1::TEXT[]) ON CONFLICT (device_id) DO NOTHING", [ids])
        let rows = try db.execute(
            """
            SELECT device_id, max_seq, version, max_seq IS NULL OR reading_count IS NULL AS incomplete FROM devices
            WHERE device_id = ANY($1::TEXT[]) ORDER BY device_id FOR UPDATE
            """, [ids])
        // A device row without max_seq or counts is new, or older than those columns: take them
        // from its readings (under the lock just taken; rare, so the common batch skips it).
        let locked = try rows.map { r throws(SQLError) in
            (deviceID: try r.text("device_id"), maxSeq: try r.optionalInt("max_seq"), version: try r.int("version"),
             incomplete: try r.bool("incomplete"))
        }
        let incomplete = locked.filter { $0.incomplete }.map { $0.deviceID }
        var filled: [String: Int64] = [:]
        if !incomplete.isEmpty {
            let updated = try db.execute(
                """
                UPDATE devices SET
                    max_seq = COALESCE(max_seq, (SELECT max(r.seq) FROM readings AS r WHERE r.device_id = devices.device_id)),
                    reading_count = COALESCE(
                        reading_count, (SELECT count(*) FROM readings AS r WHERE r.device_id = devices.device_id)),
                    last_seen = COALESCE(
                        last_seen,
                        (SELECT max(COALESCE(r.accepted_at, r.stored_at)) FROM readings AS r WHERE r.device_id = devices.device_id))
                WHERE device_id = ANY($1::TEXT[])
                RETURNING device_id, max_seq
                """, [SQLArray.text(incomplete)])
            for (d, m) in try updated.map({ r throws(SQLError) in (try r.text("device_id"), try r.optionalInt("max_seq")) }) {
                if let m { filled[d] = m }
            }
        }
        var result: [String: DeviceState] = [:]
        for d in locked { result[d.deviceID] = DeviceState(maxSeq: d.maxSeq ?? filled[d.deviceID], version: d.version) }
        return result
    }

    /// Records the readings a batch stored, per device: raises its highest stored seq,
    /// adds to its reading count, moves its last-seen time forward and bumps its version
    /// (inside the transaction that holds the devices' locks).
    package static func recordStored(_ readings: [IncomingReading], on db: SQLConnection) throws {
        var stats: [String: (maxSeq: Int64, count: Int, lastMs: Int64?)] = [:]
        for r in readings {
            let id = r.reading.deviceID
            var s = stats[id] ?? (r.reading.seq, 0, nil)
            s.maxSeq = max(s.maxSeq, r.reading.seq)
            s.count += 1
            if let ms = r.acceptedAtMs { s.lastMs = max(s.lastMs ?? ms, ms) }
            stats[id] = s
        }
        guard !stats.isEmpty else { return }
        let keys = Array(stats.keys)
        // last_seen is when ingest accepted the newest reading (the broker header), so a
        // backlog drained late does not make a silent device look alive; now() without it.
        try db.execute(
            """
            UPDATE devices SET max_seq = GREATEST(COALESCE(devices.max_seq, -1), v.m), version = devices.version + 1,
                reading_count = COALESCE(devices.reading_count, 0) + v.n,
                last_seen = GREATEST(COALESCE(devices.last_seen, v.t), v.t)
            FROM (
                SELECT d, m, n, COALESCE(to_timestamp(ms::FLOAT8 / 1000.0), now()) AS t
                FROM unnest($1::TEXT[], $2::INT8[], $3::INT8[], $4::INT8[]) AS u (d, m, n, ms)
            ) AS v WHERE devices.device_id = v.d
            """,
            [
                SQLArray.text(keys), SQLArray.int(keys.map { stats[$0]!.maxSeq }), SQLArray.int(keys.map { Int64(stats[$0]!.count) }),
                SQLArray.int(keys.map { stats[$0]!.lastMs }),
            ])
    }

    /// For each range, the oldest `limit` values of its series with seq in (lower, upper],
    /// oldest first, with their readings' timestamps: the readings whose windows a late
    /// (lower-seq) reading enters. Ranges of one series must not overlap.
    package static func later(
        _ ranges: [(key: SeriesKey, lower: Int64, upper: Int64)], limit: Int, on db: SQLConnection
    ) throws -> [SeriesKey: [(seq: Int64, value: Double, ts: String)]] {
        guard !ranges.isEmpty else { return [:] }
        let rows = try db.execute(
            """
            SELECT k.d, k.m, v.seq, v.value, v.ts
            FROM unnest($1::TEXT[], $2::TEXT[], $3::INT8[], $4::INT8[]) AS k (d, m, lower, upper)
            CROSS JOIN LATERAL (
                SELECT mv.seq, mv.value, r.ts FROM metric_values AS mv
                JOIN readings AS r ON r.device_id = mv.device_id AND r.seq = mv.seq
                WHERE mv.device_id = k.d AND mv.metric = k.m AND mv.seq > k.lower AND mv.seq <= k.upper
                ORDER BY mv.seq ASC LIMIT $5::INT8
            ) AS v
            """,
            [
                SQLArray.text(ranges.map(\.key.deviceID)), SQLArray.text(ranges.map(\.key.metric)),
                SQLArray.int(ranges.map(\.lower)), SQLArray.int(ranges.map(\.upper)), String(limit),
            ])
        var result: [SeriesKey: [(seq: Int64, value: Double, ts: String)]] = [:]
        for (key, value) in try rows.map({ r throws(SQLError) in
            (SeriesKey(deviceID: try r.text("d"), metric: try r.text("m")),
             (seq: try r.int("seq"), value: try r.double("value"), ts: SQLTime.rfc3339(try r.text("ts"))))
        }) {
            result[key, default: []].append(value)
        }
        for key in result.keys { result[key]!.sort { $0.seq < $1.seq } }
        return result
    }

    /// Removes the anomalies of readings that a late reading made normal.
    package static func deleteAnomalies(_ keys: [(deviceID: String, seq: Int64, metric: String)], on db: SQLConnection) throws {
        for chunk in keys.chunked(rowsPerStatement) {
            try db.execute(
                """
                DELETE FROM anomalies WHERE (device_id, seq, metric) IN
                  (SELECT * FROM unnest($1::TEXT[], $2::INT8[], $3::TEXT[]))
                """,
                [
                    SQLArray.text(chunk.map(\.deviceID)), SQLArray.int(chunk.map(\.seq)),
                    SQLArray.text(chunk.map(\.metric)),
                ])
        }
    }

    /// Identifies the values of one metric of one device.
    package struct SeriesKey: Hashable, Sendable {
        package var deviceID: String
        package var metric: String

        package init(deviceID: String, metric: String) {
            self.deviceID = deviceID
            self.metric = metric
        }
    }

    /// For each series, its newest `limit` values with seq below the given one, newest first:
    /// every window a batch needs, in one statement. Each series is one index range scan
    /// of `metric_values`' primary key (a LATERAL join over the keys; both PostgreSQL and
    /// CockroachDB plan it that way).
    /// The statement of `windows`: device ids, metrics, seqs below which (arrays), and the limit.
    package static let windowsSQL = """
        SELECT k.d, k.m, v.seq, v.value
        FROM unnest($1::TEXT[], $2::TEXT[], $3::INT8[]) AS k (d, m, below)
        CROSS JOIN LATERAL (
            SELECT seq, value FROM metric_values
            WHERE device_id = k.d AND metric = k.m AND seq < k.below
            ORDER BY seq DESC LIMIT $4::INT8
        ) AS v
        """

    package static func windows(
        _ below: [SeriesKey: Int64], limit: Int, on db: SQLConnection
    ) throws -> [SeriesKey: [(seq: Int64, value: Double)]] {
        guard !below.isEmpty else { return [:] }
        let keys = Array(below.keys)
        let rows = try db.execute(
            windowsSQL,
            [
                SQLArray.text(keys.map(\.deviceID)), SQLArray.text(keys.map(\.metric)),
                SQLArray.int(keys.map { below[$0]! }), String(limit),
            ])
        var result: [SeriesKey: [(seq: Int64, value: Double)]] = [:]
        for (key, value) in try rows.map({ r throws(SQLError) in
            (SeriesKey(deviceID: try r.text("d"), metric: try r.text("m")), (seq: try r.int("seq"), value: try r.double("value")))
        }) {
            result[key, default: []].append(value)
        }
        for key in result.keys { result[key]!.sort { $0.seq > $1.seq } }
        return result
    }

    /// Stores anomalies, replacing the verdict already stored for the same (device, seq, metric).
    package static func insertAnomalies(_ anomalies: [AnomalyRecord], on db: SQLConnection) throws {
        for chunk in anomalies.chunked(rowsPerStatement) {
            // A verdict revised by a late reading replaces the stored one; a redelivered batch
            // writes the same values again.
            try db.execute(
                """
                INSERT INTO anomalies (device_id, seq, metric, ts, value, score, median, mad, window_size)
                SELECT u.d, u.s, u.m, u.t::TIMESTAMPTZ, u.v, u.sc, u.md, u.mad, u.w::INT4
                FROM unnest($1::TEXT[], $2::INT8[], $3::TEXT[], $4::TEXT[], $5::FLOAT8[], $6::FLOAT8[], $7::FLOAT8[],
                    $8::FLOAT8[], $9::INT8[]) AS u (d, s, m, t, v, sc, md, mad, w)
                ON CONFLICT (device_id, seq, metric) DO UPDATE SET value = excluded.value, score = excluded.score,
                    median = excluded.median, mad = excluded.mad, window_size = excluded.window_size
                """,
                [
                    SQLArray.text(chunk.map(\.deviceID)), SQLArray.int(chunk.map(\.seq)), SQLArray.text(chunk.map(\.metric)),
                    SQLArray.text(chunk.map(\.ts)), SQLArray.number(chunk.map(\.value)), SQLArray.number(chunk.map(\.score)),
                    SQLArray.number(chunk.map(\.median)), SQLArray.number(chunk.map(\.mad)), SQLArray.int(chunk.map { Int64($0.window) }),
                ])
        }
    }

    static func metricsJSON(_ metrics: [String: Double]) -> String {
        "{" + metrics.keys.sorted().map { "\"\($0)\":\(ReadingCodec.jsonNumber(metrics[$0]!))" }.joined(separator: ",") + "}"
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
