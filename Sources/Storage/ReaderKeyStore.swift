package import PipelineCore
package import SQL

/// One reader key as `pipeline reader list` shows it (never the key).
package struct ReaderKeyRecord: Sendable, Equatable {
    package var name: String
    package var scope: String
    package var createdAt: String
    package var revokedAt: String?
    package var lastUsedAt: String?
}

/// A key the alerts service accepts: its name (for logs and last use) and scope.
package struct ReaderGrant: Sendable, Equatable {
    package var name: String
    package var scope: ReaderScope

    package init(name: String, scope: ReaderScope) {
        self.name = name
        self.scope = scope
    }
}

/// Statements behind `pipeline reader` and the alerts service's key cache.
package enum ReaderKeyStore {
    /// What `pipeline reader` refuses to do, said to the operator.
    package enum Refusal: Error, CustomStringConvertible {
        case exists(String)
        case noActiveKey(String)

        package var description: String {
            switch self {
            case .exists(let name): "reader '\(name)' already has a key: revoke it first, or pass --replace"
            case .noActiveKey(let name): "reader '\(name)' has no active key (`pipeline reader list` shows them)"
            }
        }
    }

    /// Stores the hash of a new key for `name`; an active key of that name is
    /// replaced only when `replace` (a revoked one always is).
    package static func issue(name: String, keyHash: String, scope: ReaderScope, replace: Bool, on db: SQLConnection) throws {
        try db.transaction { db in
            let active = try db.execute("SELECT revoked_at IS NULL AS active FROM reader_keys WHERE name = $1 FOR UPDATE", [name])
                .first { r throws(SQLError) in try r.bool("active") }
            if active == true, !replace { throw Refusal.exists(name) }
            try db.execute(
                """
                INSERT INTO reader_keys (name, key_hash, scope, created_at, revoked_at) VALUES ($1, $2, $3, now(), NULL)
                ON CONFLICT (name) DO UPDATE
                  SET key_hash = excluded.key_hash, scope = excluded.scope, created_at = now(), revoked_at = NULL
                """, [name, keyHash, scope.description])
            try db.execute("DELETE FROM reader_key_usage WHERE name = $1", [name])
        }
    }

    /// Ends the key of `name`; false when there is no active key of that name.
    package static func revoke(name: String, on db: SQLConnection) throws -> Bool {
        try db.execute(
            "UPDATE reader_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING name", [name]
        ).rows.count == 1
    }

    /// Every key, active and revoked, by name.
    package static func list(on db: SQLConnection) throws -> [ReaderKeyRecord] {
        try db.execute(
            """
            SELECT k.name, k.scope, k.created_at, k.revoked_at, u.last_used_at
            FROM reader_keys AS k LEFT JOIN reader_key_usage AS u ON u.name = k.name ORDER BY k.name
            """
        ).map { r throws(SQLError) in
            ReaderKeyRecord(
                name: try r.text("name"), scope: try r.text("scope"), createdAt: SQLTime.rfc3339(try r.text("created_at")),
                revokedAt: try r.optionalText("revoked_at").map(SQLTime.rfc3339), lastUsedAt: try r.optionalText("last_used_at").map(SQLTime.rfc3339))
        }
    }

    /// The active keys, by hash.
    package static func active(on db: SQLConnection) throws -> [String: ReaderGrant] {
        var result: [String: ReaderGrant] = [:]
        for (hash, grant) in try db.execute("SELECT key_hash, name, scope FROM reader_keys WHERE revoked_at IS NULL").map({
            r throws(SQLError) in (try r.text("key_hash"), try grant(from: r))
        }) {
            result[hash] = grant
        }
        return result
    }

    /// The active key with this hash, nil when none.
    package static func lookup(hash: String, on db: SQLConnection) throws -> ReaderGrant? {
        try db.execute("SELECT name, scope FROM reader_keys WHERE key_hash = $1 AND revoked_at IS NULL", [hash])
            .first(grant(from:)) ?? nil
    }

    /// A row's `name` and `scope`; nil for a scope this version does not know (one a newer version
    /// wrote, during a rolling upgrade): such a key grants nothing here rather than everything.
    static func grant(from r: SQLRow) throws(SQLError) -> ReaderGrant? {
        let name = try r.text("name")
        return ReaderScope(try r.text("scope")).map { ReaderGrant(name: name, scope: $0) }
    }

    /// Records that the keys of `names` were used now. Runs in its own read-write
    /// transaction, so it works on the alerts service's read-only sessions.
    package static func recordUse(_ names: Set<String>, on db: SQLConnection) throws {
        guard !names.isEmpty else { return }
        let sorted = names.sorted()
        let values = sorted.indices.map { "($\($0 + 1), now())" }.joined(separator: ", ")
        try db.execute("BEGIN READ WRITE")
        do {
            try db.execute(
                """
                INSERT INTO reader_key_usage (name, last_used_at) VALUES \(values)
                ON CONFLICT (name) DO UPDATE SET last_used_at = excluded.last_used_at
                """, sorted)
            try db.execute("COMMIT")
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }
}
