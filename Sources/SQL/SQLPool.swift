import Foundation
import NIOPosix

/// A small pool of connections whose blocking calls run on a dedicated
/// thread pool, never on the event loops or Swift's cooperative threads.
package final class SQLPool: @unchecked Sendable {
    private let conninfo: String
    private let applicationName: String
    private let threads: NIOThreadPool
    private let lock = NSLock()
    private var idle: [SQLConnection] = []
    private let statementTimeoutMs: Int
    private let readOnly: Bool

    /// `size` connections at most, one per worker thread. With `readOnly` every
    /// transaction of the pool's connections is read-only: a service that only
    /// reads cannot write by mistake.
    package init(
        conninfo: String, size: Int = 4, statementTimeoutMs: Int = 5000, readOnly: Bool = false,
        applicationName: String = "pipeline"
    ) {
        self.conninfo = conninfo
        self.applicationName = applicationName
        self.statementTimeoutMs = statementTimeoutMs
        self.readOnly = readOnly
        threads = NIOThreadPool(numberOfThreads: max(1, size))
        threads.start()
    }

    /// Runs `body` with a connection on a pool thread. A connection that broke is discarded.
    package func withConnection<T: Sendable>(_ body: @escaping @Sendable (SQLConnection) throws -> T) async throws -> T {
        try await threads.runIfActive { [self] in
            let connection = try checkout()
            defer { checkin(connection) }
            return try body(connection)
        }
    }

    /// Closes idle connections and stops the worker threads.
    package func shutdown() async {
        lock.withLock { idle.removeAll() }
        try? await threads.shutdownGracefully()
    }

    private func checkout() throws -> SQLConnection {
        lock.lock()
        let c = idle.popLast()
        lock.unlock()
        if let c { return c }
        let connection = try SQLConnection(conninfo, applicationName: applicationName)
        if statementTimeoutMs > 0 {
            try connection.execute("SET statement_timeout = \(statementTimeoutMs)")
        }
        if readOnly {
            try connection.execute("SET default_transaction_read_only = on")
        }
        return connection
    }

    private func checkin(_ c: SQLConnection) {
        guard !c.broken else { return }
        lock.lock()
        idle.append(c)
        lock.unlock()
    }
}
