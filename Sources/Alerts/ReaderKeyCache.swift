import DeviceAuth
import Foundation
package import Logging
import NIOConcurrencyHelpers
import PipelineCore
package import SQL
import ServiceLifecycle
package import Storage

/// Checks reader keys against an in-memory copy of the active keys, reloaded
/// every `refreshInterval` (so a revoked key stops within one reload, and keys
/// already loaded keep working while the database is away). A key not in the
/// copy (issued since the last reload) is looked up once; those lookups are
/// rate-limited, so a client guessing keys cannot turn each guess into a query.
/// Last use is recorded in memory and written on each reload.
package final class ReaderKeyCache: Service, Sendable {
    package enum Verdict: Sendable, Equatable {
        case granted(ReaderGrant)
        /// No key, or not a current one: 401.
        case refused(String)
        /// The key is not in the copy and the database cannot say: 503.
        case unavailable
    }

    struct State {
        var keys: [String: ReaderGrant] = [:]
        var unknown: Set<String> = []
        var used: Set<String> = []
        var lookups: TokenBucket
        var loaded = false
        var lastError = "not loaded yet"
    }

    let pool: SQLPool
    let refreshInterval: Duration
    let logger: Logger
    private let state: NIOLockedValueBox<State>
    /// Database lookups of unknown keys, per second (and burst).
    static let lookupRate = 5.0

    package init(pool: SQLPool, refreshInterval: Duration = .seconds(2), logger: Logger) {
        self.pool = pool
        self.refreshInterval = refreshInterval
        self.logger = logger
        state = NIOLockedValueBox(State(lookups: TokenBucket(burst: Self.lookupRate, now: Self.now)))
    }

    static var now: Double { Date().timeIntervalSince1970 }

    /// Whether the keys were loaded at least once, and how many are active (or the last error).
    package var status: (loaded: Bool, detail: String) {
        state.withLockedValue { s in (s.loaded, s.loaded ? "\(s.keys.count) active keys" : s.lastError) }
    }

    /// Judges an `Authorization` header value.
    package func verify(authorization: String?) async -> Verdict {
        guard let authorization, !authorization.isEmpty else { return .refused("a reader key is required") }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .refused("send the reader key as `Authorization: Bearer <key>`")
        }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        guard ReaderKey.isWellFormed(key) else { return .refused("invalid reader key") }
        let hash = ReaderKey.hash(key)
        enum Cached { case hit(ReaderGrant), known, lookUp, tooMany }
        let cached: Cached = state.withLockedValue { s in
            if let g = s.keys[hash] {
                s.used.insert(g.name)
                return .hit(g)
            }
            if s.unknown.contains(hash) { return .known }
            return s.lookups.take(1, rate: Self.lookupRate, burst: Self.lookupRate, now: Self.now) == nil ? .lookUp : .tooMany
        }
        switch cached {
        case .hit(let g): return .granted(g)
        case .known, .tooMany: return .refused("invalid reader key")
        case .lookUp: break
        }
        do {
            let found = try await pool.withConnection { try ReaderKeyStore.lookup(hash: hash, on: $0) }
            state.withLockedValue { s in
                if let found {
                    s.keys[hash] = found
                    s.used.insert(found.name)
                } else if s.unknown.count < 10_000 {
                    s.unknown.insert(hash)
                }
            }
            return found.map(Verdict.granted) ?? .refused("invalid reader key")
        } catch {
            return .unavailable
        }
    }

    /// Reloads the keys and writes last use until graceful shutdown.
    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let used = state.withLockedValue { s in
                defer { s.used.removeAll() }
                return s.used
            }
            do {
                let keys = try await pool.withConnection { db in
                    try ReaderKeyStore.recordUse(used, on: db)
                    return try ReaderKeyStore.active(on: db)
                }
                let wasLoaded = state.withLockedValue { s in
                    defer {
                        s.keys = keys
                        s.unknown.removeAll()
                        s.loaded = true
                    }
                    return s.loaded
                }
                if !wasLoaded { logger.info("reader keys loaded", metadata: ["active": "\(keys.count)"]) }
            } catch {
                // Keep the keys loaded before, and the uses to write next time.
                let message = "\(error)"
                let changed = state.withLockedValue { s in
                    defer {
                        s.lastError = message
                        s.used.formUnion(used)
                    }
                    return s.lastError != message
                }
                if changed { logger.warning("cannot reload reader keys", metadata: ["error": "\(message)"]) }
            }
            let interval = refreshInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
