package import SQL
import ServiceLifecycle

/// Keeps a connection pool for the life of the service group and closes it
/// once the services started after it (which use it) have stopped.
package struct PoolService: Service {
    let pool: SQLPool

    package init(pool: SQLPool) { self.pool = pool }

    package func run() async throws {
        try? await gracefulShutdown()
        await pool.shutdown()
    }
}
