package import DeviceAuth
package import Logging
import NIOConcurrencyHelpers
package import SQL
import ServiceLifecycle
import Storage

/// Checks device tokens. The signature needs only the secret; whether the
/// token's generation is still current comes from an in-memory copy of the
/// `device_tokens` table, refreshed in the background, so devices already
/// known keep working while the database is away. Only a device the cache
/// has never seen needs the database (and gets "unavailable", never a false
/// "unauthorized", when it is down).
package final class DeviceAuthenticator: Service, Sendable {
    package enum Verdict: Sendable, Equatable {
        case authorized(deviceID: String)
        case unauthorized(String)
        case unavailable(String)
    }

    struct State {
        var credentials: [String: DeviceCredential] = [:]
        var unknown: [String: ContinuousClock.Instant] = [:]
        var since: String?
        var loaded = false
        var lastError = "not loaded yet"
    }

    let secret: DeviceTokenSecret
    let pool: SQLPool
    let refreshInterval: Duration
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    package init(secret: DeviceTokenSecret, pool: SQLPool, refreshInterval: Duration = .seconds(5), logger: Logger) {
        self.secret = secret
        self.pool = pool
        self.refreshInterval = refreshInterval
        self.logger = logger
    }

    /// True once the credentials were loaded at least once; the reason otherwise.
    package var status: (loaded: Bool, detail: String) {
        state.withLockedValue { s in (s.loaded, s.loaded ? "\(s.credentials.count) devices" : s.lastError) }
    }

    package func verify(_ token: String) async -> Verdict {
        guard let t = DeviceToken.verify(token, secret: secret) else { return .unauthorized("invalid token") }
        enum Cached { case hit(DeviceCredential), recentlyUnknown, miss }
        let cached: Cached = state.withLockedValue { s in
            if let c = s.credentials[t.deviceID] { return .hit(c) }
            if let at = s.unknown[t.deviceID], ContinuousClock.now - at < refreshInterval { return .recentlyUnknown }
            return .miss
        }
        switch cached {
        case .hit(let c): return Self.check(t, c)
        case .recentlyUnknown: return .unauthorized("no token was issued for device '\(t.deviceID)'")
        case .miss: break
        }
        do {
            let id = t.deviceID
            let found = try await pool.withConnection { try DeviceTokenStore.lookup(id, on: $0) }
            state.withLockedValue { s in
                if let found { s.credentials[id] = found } else { s.unknown[id] = .now }
            }
            guard let found else { return .unauthorized("no token was issued for device '\(id)'") }
            return Self.check(t, found)
        } catch {
            return .unavailable("cannot verify the token now (credential store unavailable)")
        }
    }

    static func check(_ t: DeviceToken, _ c: DeviceCredential) -> Verdict {
        if c.revoked { return .unauthorized("token revoked") }
        if c.generation != t.generation { return .unauthorized("token superseded by a newer one") }
        return .authorized(deviceID: t.deviceID)
    }

    /// Refreshes the credentials until graceful shutdown.
    package func run() async throws {
        var checked = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let since = state.withLockedValue { $0.since }
                let needsCheck = !checked
                let (changes, newest) = try await pool.withConnection { db in
                    if needsCheck { try Schema.requireCurrent(db) }
                    return try DeviceTokenStore.changes(since: since, on: db)
                }
                checked = true
                let wasLoaded = state.withLockedValue { s in
                    defer {
                        for c in changes { s.credentials[c.deviceID] = c }
                        s.unknown.removeAll()
                        s.since = newest
                        s.loaded = true
                    }
                    return s.loaded
                }
                if !wasLoaded { logger.info("device credentials loaded", metadata: ["devices": "\(changes.count)"]) }
            } catch {
                let message = "\(error)"
                let changed = state.withLockedValue { s in
                    defer { s.lastError = message }
                    return s.lastError != message
                }
                if changed { logger.warning("cannot refresh device credentials", metadata: ["error": "\(message)"]) }
            }
            let interval = refreshInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
