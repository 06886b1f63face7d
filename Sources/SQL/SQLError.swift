/// A database failure, classified so callers know whether to retry the
/// transaction, reconnect, or give up on the input.
public struct SQLError: Error, Sendable, CustomStringConvertible {
    /// Five-character SQLSTATE, when the server sent one.
    public var sqlState: String?
    public var message: String
    /// True when the connection is unusable and must be reopened.
    public var connectionLost: Bool

    public init(sqlState: String?, message: String, connectionLost: Bool) {
        self.sqlState = sqlState
        self.message = message
        self.connectionLost = connectionLost
    }

    /// Serialization failure or deadlock: the transaction may simply be run again
    /// (CockroachDB reports contention as 40001 and expects exactly that).
    public var isRetryableTransaction: Bool {
        sqlState == "40001" || sqlState == "40P01"
    }

    /// The error is about the server or the link, not about the statement or its data.
    public var isTransient: Bool {
        connectionLost || isRetryableTransaction
            || sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57P") || $0 == "53300" || $0 == "55P03" } ?? false
    }

    public var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }
}
