import SQL
import ServiceLifecycle

/// Keeps a connection pool for the life of the service group and closes it
/// once the services started after it (which use it) have stopped.
public struct PoolService: Service {
    let pool: SQLPool

    public init(pool: SQLPool) { self.pool = pool }

    public func run() async throws {
        try? await gracefulShutdown()
        await pool.shutdown()
    }
}
