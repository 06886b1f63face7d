import Foundation

/// What an operator does with the dead-letter queue: look at it, and once the
/// cause is fixed put its readings back for processing. Blocking, like every
/// rabbitmq-c connection; confined to the caller's thread.
package struct DeadLetterQueue {
    let configuration: AMQPConfiguration

    package init(configuration: AMQPConfiguration) {
        self.configuration = configuration
    }

    /// Up to `limit` dead letters, oldest first. They stay in the queue: nothing
    /// is acknowledged, and closing the channel returns them.
    package func list(limit: Int) throws(AMQPError) -> (total: Int, items: [Delivery]) {
        let sender = DeadLetterPublisher(configuration: configuration)
        defer { sender.close() }
        let total = try sender.depth()
        let consumer = AMQPConsumer(configuration: configuration, prefetch: min(max(limit, 1), 10_000), deadLetters: true)
        try consumer.connect()
        defer { consumer.disconnect() }
        var items: [Delivery] = []
        while items.count < min(limit, total), let d = try consumer.next(timeout: .seconds(2)) {
            items.append(d)
        }
        return (total, items)
    }

    /// Moves up to `limit` dead letters (at most as many as the queue held when the
    /// replay started, so a reading that fails again is not replayed twice) back into
    /// the readings queue. Each is acknowledged on the dead-letter queue only after
    /// the broker confirmed its copy into the readings queue: a failure in between
    /// leaves it in both, and the analyzer stores it once. Returns how many moved.
    package func replay(limit: Int) throws(AMQPError) -> Int {
        let sender = DeadLetterPublisher(configuration: configuration)
        defer { sender.close() }
        let budget = min(limit, try sender.depth())
        guard budget > 0 else { return 0 }
        let consumer = AMQPConsumer(configuration: configuration, prefetch: min(budget, 1000), deadLetters: true)
        try consumer.connect()
        defer { consumer.disconnect() }
        var moved = 0
        while moved < budget, let d = try consumer.next(timeout: .seconds(2)) {
            try sender.replay(d)
            try consumer.ack(d.tag, multiple: false)
            moved += 1
        }
        return moved
    }
}
