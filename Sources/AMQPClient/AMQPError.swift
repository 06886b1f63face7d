/// Why a publish or a broker operation did not succeed. Every case means "not
/// confirmed": the caller must not acknowledge the reading to the device.
package enum AMQPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection to any broker node (down, refused, login failed).
    case unavailable(String)
    /// The broker refused the message (basic.nack).
    case nacked
    /// The broker could not route the message to the queue (basic.return).
    case returned
    /// No confirm arrived in time; the connection is reset.
    case timeout
    /// The publisher is shutting down.
    case shuttingDown
    /// A protocol or socket error on an open connection.
    case connection(String)
    /// The broker blocks publishers (a memory or disk alarm); the reason it gave.
    case blocked(String)

    package var description: String {
        switch self {
        case .unavailable(let why): return "broker unavailable: \(why)"
        case .nacked: return "broker rejected the message (nack)"
        case .returned: return "broker could not route the message to the queue"
        case .timeout: return "broker confirm timed out"
        case .shuttingDown: return "ingest is shutting down"
        case .connection(let why): return "broker connection lost: \(why)"
        case .blocked(let why): return "broker is refusing new readings for now (resource alarm: \(why))"
        }
    }

    /// The reason alone, for joining the failures of several nodes into one `.unavailable`.
    var reason: String {
        if case .unavailable(let why) = self { return why }
        return description
    }

    /// What a device is told: the same, without the hosts and library errors behind it
    /// (those are for the logs and the admin port's `/readyz`).
    package var publicDescription: String {
        switch self {
        case .unavailable: return "broker unavailable"
        case .connection: return "broker connection lost"
        default: return description
        }
    }

    /// Seconds a device should wait before it retries: an alarm lasts until the broker
    /// got rid of messages, anything else may be over at the next node.
    package var retryAfter: Int {
        if case .blocked = self { return 5 }
        return 1
    }
}
