/// The broker's side of `pipeline migrate`: exchanges and queues are declared by
/// a user that may (the deployment's), so that ingest's and the analyzer's users
/// need no configure permission, which would also let them delete the queue.
package enum AMQPTopology {
    /// Declares the topology on the first node that answers; returns what that broker says it is
    /// ("RabbitMQ 4.0.5"), for the log.
    @discardableResult
    package static func declare(_ configuration: AMQPConfiguration) throws(AMQPError) -> String {
        var errors: [String] = []
        for url in configuration.urls {
            do {
                let c = try AMQPConnection(url: url, configuration: configuration)
                try c.declareTopology(configuration)
                return "\(c.serverProperty("product") ?? "broker") \(c.serverProperty("version") ?? "of unknown version")"
            } catch {
                errors.append(error.reason)
            }
        }
        throw .unavailable(errors.isEmpty ? "AMQP_URL is empty" : errors.joined(separator: "; "))
    }
}
