extension AMQPConnection {
    /// Opens a connection to the first configured node that accepts one and passes
    /// `setUp` (topology, confirm mode, consume), trying each node once from `start`
    /// round the list. The node used comes back with it, so that a caller which lost
    /// that node can start at the next one. Every node's failure is in the error.
    static func first(
        of configuration: AMQPConfiguration, from start: Int = 0, setUp: (AMQPConnection) throws(AMQPError) -> Void
    ) throws(AMQPError) -> (connection: AMQPConnection, node: Int) {
        let urls = configuration.urls
        guard !urls.isEmpty else { throw .unavailable("AMQP_URL is empty") }
        var errors: [String] = []
        for k in 0..<urls.count {
            let node = (start + k) % urls.count
            do {
                let c = try AMQPConnection(url: urls[node], configuration: configuration)
                try setUp(c)  // on failure, deinit closes what was opened
                return (c, node)
            } catch {
                errors.append(error.reason)
            }
        }
        throw .unavailable(errors.joined(separator: "; "))
    }
}
