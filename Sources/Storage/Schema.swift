package import SQL

/// The database schema, as idempotent statements that run on every start.
///
/// Every statement is accepted by both PostgreSQL 15 and CockroachDB; where the
/// two behave differently the note beside the statement says how.
package enum Schema {
    package static let statements: [String] = [
        // One row per reading: (device_id, seq) is the idempotency key.
        // INT8/FLOAT8/TEXT/JSONB/TIMESTAMPTZ mean the same in both databases; no SERIAL.
        """
        CREATE TABLE IF NOT EXISTS readings (
            device_id   TEXT        NOT NULL,
            seq         INT8        NOT NULL,
            ts          TIMESTAMPTZ NOT NULL,
            metrics     JSONB       NOT NULL,
            accepted_at TIMESTAMPTZ,
            stored_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (device_id, seq)
        )
        """,
        // One row per device: each batch locks the rows of its devices (SELECT … FOR
        // UPDATE, in both databases), so two analyzers never judge the same device's
        // readings against each other's uncommitted data.
        """
        CREATE TABLE IF NOT EXISTS devices (
            device_id  TEXT        NOT NULL PRIMARY KEY,
            first_seen TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """,
        // The highest seq stored per device: a batch whose readings are all above it
        // arrived in order, and needs no look at later readings.
        "ALTER TABLE devices ADD COLUMN IF NOT EXISTS max_seq INT8",
        // Bumped by every batch that stores readings of the device: an analyzer's cached
        // windows of a device are current only while its version is the one they saw.
        "ALTER TABLE devices ADD COLUMN IF NOT EXISTS version INT8 NOT NULL DEFAULT 0",
        // The values of each metric, keyed so that a window (the newest values of
        // one device and metric below a seq) is one index range scan.
        """
        CREATE TABLE IF NOT EXISTS metric_values (
            device_id TEXT   NOT NULL,
            metric    TEXT   NOT NULL,
            seq       INT8   NOT NULL,
            value     FLOAT8 NOT NULL,
            PRIMARY KEY (device_id, metric, seq)
        )
        """,
        // One row per anomalous (reading, metric). score is NULL when the window
        // had no spread at all (see the anomaly rule).
        """
        CREATE TABLE IF NOT EXISTS anomalies (
            device_id   TEXT        NOT NULL,
            seq         INT8        NOT NULL,
            metric      TEXT        NOT NULL,
            ts          TIMESTAMPTZ NOT NULL,
            value       FLOAT8      NOT NULL,
            score       FLOAT8,
            median      FLOAT8      NOT NULL,
            mad         FLOAT8      NOT NULL,
            window_size INT4        NOT NULL,
            detected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (device_id, seq, metric)
        )
        """,
        // The current token generation of each device: a token of an older
        // generation, or of a revoked device, is refused by ingest.
        """
        CREATE TABLE IF NOT EXISTS device_tokens (
            device_id  TEXT        NOT NULL PRIMARY KEY,
            generation INT8        NOT NULL,
            revoked    BOOL        NOT NULL DEFAULT false,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX IF NOT EXISTS device_tokens_updated ON device_tokens (updated_at)",
        // What /v1/devices serves without counting: kept by the analyzer in the
        // transaction that stores the readings (NULL on rows older than these columns,
        // which are then filled from the readings).
        "ALTER TABLE devices ADD COLUMN IF NOT EXISTS reading_count INT8",
        "ALTER TABLE devices ADD COLUMN IF NOT EXISTS last_seen TIMESTAMPTZ",
        // Newest-first listing with a keyset cursor on (detected_at, device_id, seq, metric):
        // every column DESC so that the ORDER BY and the cursor's row comparison are one
        // index range scan (both databases), with no sort. These replace the first
        // indexes, whose mixed directions forced a sort.
        "DROP INDEX IF EXISTS anomalies_newest",
        "DROP INDEX IF EXISTS anomalies_by_device",
        "CREATE INDEX IF NOT EXISTS anomalies_recent ON anomalies (detected_at DESC, device_id DESC, seq DESC, metric DESC)",
        "CREATE INDEX IF NOT EXISTS anomalies_device_recent ON anomalies (device_id, detected_at DESC, seq DESC, metric DESC)",
        // Reader keys of the alerts API: only the SHA-256 of each key is stored. A
        // revoked key keeps its row (revoked_at set) so `pipeline reader list` shows it.
        """
        CREATE TABLE IF NOT EXISTS reader_keys (
            name       TEXT        NOT NULL PRIMARY KEY,
            key_hash   TEXT        NOT NULL,
            scope      TEXT        NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            revoked_at TIMESTAMPTZ
        )
        """,
        "CREATE UNIQUE INDEX IF NOT EXISTS reader_keys_hash ON reader_keys (key_hash)",
        // When each key was last used: the one table the alerts service writes (its
        // role has SELECT on everything else), apart so reader_keys stays read-only to it.
        """
        CREATE TABLE IF NOT EXISTS reader_key_usage (
            name         TEXT        NOT NULL PRIMARY KEY,
            last_used_at TIMESTAMPTZ NOT NULL
        )
        """,
        // One row per incident: an episode of one device's metric (IncidentLedger). Keyed by the
        // seq that opened it, which never changes, so a redelivered batch writes the same row.
        // opened_at is when the analyzer opened it. Never removed by a later reading.
        """
        CREATE TABLE IF NOT EXISTS incidents (
            device_id  TEXT        NOT NULL,
            metric     TEXT        NOT NULL,
            opened_seq INT8        NOT NULL,
            opened_ts  TIMESTAMPTZ NOT NULL,
            opened_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            state      TEXT        NOT NULL CHECK (state IN ('open', 'closed')),
            last_seq   INT8        NOT NULL,
            closed_at  TIMESTAMPTZ,
            anomalies  INT8        NOT NULL,
            peak_score FLOAT8,
            peak_value FLOAT8      NOT NULL,
            reason     TEXT        NOT NULL,
            PRIMARY KEY (device_id, metric, opened_seq)
        )
        """,
        // Newest-first listing with a keyset cursor, as for anomalies: every column DESC.
        "CREATE INDEX IF NOT EXISTS incidents_recent ON incidents (opened_at DESC, device_id DESC, opened_seq DESC, metric DESC)",
        "CREATE INDEX IF NOT EXISTS incidents_device_recent ON incidents (device_id, opened_at DESC, opened_seq DESC, metric DESC)",
        // Each series' record (SeriesRecord): the extremes of its values, and of the short means
        // ending at them, per block of seqs. Only ever widened (LEAST/GREATEST), so order-independent
        // for the values; a block is read back only while it is within the record's span.
        """
        CREATE TABLE IF NOT EXISTS series_blocks (
            device_id TEXT   NOT NULL,
            metric    TEXT   NOT NULL,
            block     INT8   NOT NULL,
            low       FLOAT8 NOT NULL,
            high      FLOAT8 NOT NULL,
            mean_low  FLOAT8,
            mean_high FLOAT8,
            PRIMARY KEY (device_id, metric, block)
        )
        """,
    ]

    /// The schema's version: statements are only ever appended, so their count.
    package static var version: Int { statements.count }

    /// Why a service will not work on this database yet.
    package struct NotMigrated: Error, CustomStringConvertible {
        package var found: Int?
        package var description: String {
            "the database schema is \(found.map { "at version \($0)" } ?? "missing"); this version needs \(Schema.version): "
                + "run `pipeline migrate` (as the database owner)"
        }
    }

    /// Throws unless `pipeline migrate` brought the database to this version or a newer
    /// one (statements are only appended, so an older service runs on a newer schema).
    /// The services call this instead of migrating: their roles may not change the schema.
    package static func requireCurrent(_ connection: SQLConnection) throws {
        var rows: SQLRows?
        do {
            rows = try connection.execute("SELECT version FROM schema_version WHERE id = 1")
        } catch {
            guard error.sqlState == "42P01" else { throw error }
        }
        let found = try rows?.first { r throws(SQLError) in Int(try r.int("version")) }
        if (found ?? 0) < version { throw NotMigrated(found: found) }
    }

    /// Grants `role` what the service needs and nothing more (on top of what the
    /// database gives every role: PostgreSQL 15 and CockroachDB give no table
    /// privilege and no CREATE by default). Run by the owner, in `pipeline migrate`.
    package static func grant(_ service: ServiceRole, to role: String, on connection: SQLConnection) throws {
        guard role.utf8.count <= 63, let first = role.first, first.isLetter || first == "_",
            role.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else { throw SQLError(sqlState: nil, message: "invalid role name '\(role)'", connectionLost: false) }
        for (privileges, tables) in service.privileges {
            try connection.execute("GRANT \(privileges) ON TABLE \(tables.joined(separator: ", ")) TO \"\(role)\"")
        }
    }

    /// Applies the schema unless the database already records this version (so a
    /// service connecting with a role that may only read and write rows, or to a
    /// database that refuses writes, gets past it); `force` applies it anyway
    /// (`pipeline migrate`). Safe to run twice, and from several processes at once:
    /// PostgreSQL can report a concurrent CREATE ... IF NOT EXISTS as a unique
    /// violation (23505) or duplicate object (42P07), which is retried.
    package static func migrate(_ connection: SQLConnection, force: Bool = false) throws {
        if !force, let v = try? connection.execute("SELECT version FROM schema_version WHERE id = 1").first({
            r throws(SQLError) in try r.int("version")
        }), v >= version {
            return
        }
        for statement in statements + [
            "CREATE TABLE IF NOT EXISTS schema_version (id INT8 NOT NULL PRIMARY KEY, version INT8 NOT NULL)",
            "INSERT INTO schema_version (id, version) VALUES (1, \(version)) ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        ] {
            var attempt = 0
            while true {
                do {
                    try connection.execute(statement)
                    break
                } catch {
                    let raced = ["23505", "42P07", "42710", "40001"].contains(error.sqlState ?? "")
                    guard raced, attempt < 5 else { throw error }
                    attempt += 1
                }
            }
        }
    }
}

/// The services that connect to the database, each as a role of its own.
package enum ServiceRole: String, CaseIterable, Sendable {
    case analyzer, alerts, ingest

    /// (privileges, tables): what `Schema.grant` gives the service's role.
    var privileges: [(String, [String])] {
        switch self {
        case .analyzer:
            // Rows of the tables it stores into (FOR UPDATE needs UPDATE; revised verdicts DELETE anomalies).
            [
                ("SELECT, INSERT, UPDATE, DELETE", ["readings", "devices", "metric_values", "anomalies", "incidents", "series_blocks"]),
                ("SELECT", ["schema_version"]),
            ]
        case .alerts:
            // Reads everything it serves; writes only when a reader key was last used.
            [
                ("SELECT", ["readings", "devices", "metric_values", "anomalies", "incidents", "reader_keys", "schema_version"]),
                ("SELECT, INSERT, UPDATE", ["reader_key_usage"]),
            ]
        case .ingest:
            // Device token generations, nothing of the readings.
            [("SELECT", ["device_tokens", "schema_version"])]
        }
    }
}
