package import SQL

/// The state of one device's credential.
package struct DeviceCredential: Sendable, Equatable {
    package var deviceID: String
    package var generation: Int64
    package var revoked: Bool

    package init(deviceID: String, generation: Int64, revoked: Bool) {
        self.deviceID = deviceID
        self.generation = generation
        self.revoked = revoked
    }
}

/// Statements behind `pipeline token` and ingest's credential cache.
package enum DeviceTokenStore {
    /// Starts a new generation for the device (invalidating its older tokens) and returns it.
    package static func issue(_ deviceID: String, on db: SQLConnection) throws -> Int64 {
        let rows = try db.execute(
            """
            INSERT INTO device_tokens (device_id, generation, revoked, updated_at) VALUES ($1, 1, false, now())
            ON CONFLICT (device_id) DO UPDATE
              SET generation = device_tokens.generation + 1, revoked = false, updated_at = now()
            RETURNING generation
            """, [deviceID])
        guard let g = try rows.first({ r throws(SQLError) in try r.int("generation") }) else {
            throw SQLError(sqlState: nil, message: "no generation returned", connectionLost: false)
        }
        return g
    }

    /// Invalidates every token of the device.
    package static func revoke(_ deviceID: String, on db: SQLConnection) throws {
        try db.execute(
            """
            INSERT INTO device_tokens (device_id, generation, revoked, updated_at) VALUES ($1, 1, true, now())
            ON CONFLICT (device_id) DO UPDATE
              SET generation = device_tokens.generation + 1, revoked = true, updated_at = now()
            """, [deviceID])
    }

    /// One device's credential, nil when it never had a token.
    package static func lookup(_ deviceID: String, on db: SQLConnection) throws -> DeviceCredential? {
        try db.execute("SELECT device_id, generation, revoked FROM device_tokens WHERE device_id = $1", [deviceID])
            .first(credential(from:))
    }

    /// Credentials changed since `since` (a database timestamp as text; nil for all), and
    /// the timestamp to pass next time.
    package static func changes(since: String?, on db: SQLConnection) throws -> ([DeviceCredential], String?) {
        let newest = try db.execute("SELECT max(updated_at)::TEXT AS newest FROM device_tokens")
            .first { r throws(SQLError) in try r.optionalText("newest") } ?? nil
        let rows: SQLRows
        if let since {
            // Overlap by a minute: a transaction may commit a little after its now().
            rows = try db.execute(
                """
                SELECT device_id, generation, revoked FROM device_tokens
                WHERE updated_at > $1::TIMESTAMPTZ - INTERVAL '1 minute'
                """, [since])
        } else {
            rows = try db.execute("SELECT device_id, generation, revoked FROM device_tokens")
        }
        return (try rows.map(credential(from:)), newest ?? since)
    }

    static func credential(from r: SQLRow) throws(SQLError) -> DeviceCredential {
        DeviceCredential(deviceID: try r.text("device_id"), generation: try r.int("generation"), revoked: try r.bool("revoked"))
    }
}
