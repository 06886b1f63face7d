/// The faults a chaos run can inject, in the order the schedule lists them.
package enum ChaosFault: String, Sendable, Codable, CaseIterable {
    /// An ingest process ends itself through `POST /kill`; it is started again.
    case ingestKill = "ingest-kill"
    /// An analyzer gets SIGKILL while it holds unacknowledged deliveries; it is started again.
    case analyzerKill = "analyzer-kill"
    /// The RabbitMQ node that leads the quorum queue gets SIGKILL; it is started again and rejoins.
    case leaderKill = "leader-kill"
    /// A RabbitMQ node that follows gets SIGKILL; it is started again and rejoins.
    case followerKill = "follower-kill"
    /// PostgreSQL shuts down immediately, as in a crash (SIGQUIT to the postmaster), for the outage, then starts.
    case databaseStop = "database-stop"
    /// The database refuses every write (`default_transaction_read_only`, as a standby or a
    /// disk-full guard would) for the outage; the analyzers must hold their batches, not dead-letter them.
    case databaseReadOnly = "database-read-only"
    /// The leading RabbitMQ node is frozen with SIGSTOP (alive, sockets open, silent: what a network
    /// partition looks like to its peers and clients) for the pause, then thawed with SIGCONT.
    case nodePause = "node-pause"

    /// Parses `ingest-kill,leader-kill,…`.
    package static func list(_ text: String) throws -> [ChaosFault] {
        try text.split(separator: ",").map { name in
            guard let fault = ChaosFault(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ChaosError("unknown fault '\(name)'; known: \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return fault
        }
    }
}
