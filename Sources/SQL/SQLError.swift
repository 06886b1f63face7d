/// A database failure, classified so callers know whether to retry the
/// transaction, reconnect, or give up on the input.
package struct SQLError: Error, Sendable, CustomStringConvertible {
    /// Five-character SQLSTATE, when the server sent one.
    package var sqlState: String?
    package var message: String
    /// True when the connection is unusable and must be reopened.
    package var connectionLost: Bool

    package init(sqlState: String?, message: String, connectionLost: Bool) {
        self.sqlState = sqlState
        self.message = message
        self.connectionLost = connectionLost
    }

    /// Serialization failure or deadlock: the transaction may simply be run again
    /// (CockroachDB reports contention as 40001 and expects exactly that).
    package var isRetryableTransaction: Bool {
        sqlState == "40001" || sqlState == "40P01"
    }

    /// The database refused the data itself (SQLSTATE class 22, data exception, or
    /// 23, integrity constraint violation): running the same input again fails the
    /// same way, whatever the state of the server. Every other error, including an
    /// unknown one, says nothing against the input and is treated as an outage.
    package var isAboutData: Bool {
        guard !connectionLost, let sqlState else { return false }
        return sqlState.hasPrefix("22") || sqlState.hasPrefix("23")
    }

    package var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }
}
