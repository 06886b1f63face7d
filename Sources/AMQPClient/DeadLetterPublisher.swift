import CRabbitMQ
import Foundation

/// Sends messages that cannot be processed to the dead-letter exchange with
/// the reason in the `x-pipeline-error` header (and replays dead letters into
/// the readings queue), waiting for the broker's confirm of each. Blocking and
/// confined to its caller's thread (the analyzer's worker, or `pipeline
/// dead-letters`), on a connection of its own opened on first use: poison
/// messages are rare, and the consuming channel must not mix confirms with
/// deliveries.
package final class DeadLetterPublisher {
    private let configuration: AMQPConfiguration
    private var connection: AMQPConnection?

    package init(configuration: AMQPConfiguration) {
        self.configuration = configuration
    }

    /// Returns once the broker confirmed the dead letter; throws otherwise (then the
    /// caller must not acknowledge the original message).
    /// `format` is the body's `x-pipeline-format` (nil: one JSON reading, or whatever came without one).
    package func send(
        body: [UInt8], messageID: String?, format: String?, reason: String, timeout: Duration = .seconds(5)
    ) throws(AMQPError) {
        let c = try open()
        let rc = body.withUnsafeBytes { b in
            pipeline_publish_dead(
                c.state, c.channel, configuration.deadLetterExchange, b.baseAddress, b.count, messageID ?? "",
                String(reason.prefix(1000)), format ?? "")
        }
        try awaitConfirm(rc, on: c, timeout: timeout)
    }

    /// Publishes a dead letter back into the readings queue as ingest would (its
    /// message id, format and acceptance time kept) and returns once the broker confirmed it.
    package func replay(_ d: Delivery, timeout: Duration = .seconds(5)) throws(AMQPError) {
        let c = try open()
        let acceptedAt = d.acceptedAtMs ?? Int64(Date().timeIntervalSince1970 * 1000)
        let rc = d.body.withUnsafeBytes { b in
            pipeline_publish(
                c.state, c.channel, configuration.queue, b.baseAddress, b.count, d.messageID ?? "", acceptedAt, d.format ?? "")
        }
        try awaitConfirm(rc, on: c, timeout: timeout)
    }

    /// Messages waiting in the dead-letter queue.
    package func depth() throws(AMQPError) -> Int {
        let c = try open()
        do {
            return try c.depth(of: configuration.deadLetterQueue)
        } catch {
            throw drop(error.description)
        }
    }

    private func awaitConfirm(_ publishStatus: Int32, on c: AMQPConnection, timeout: Duration) throws(AMQPError) {
        guard publishStatus == AMQP_STATUS_OK.rawValue else {
            throw drop("publish: \(AMQPConnection.statusString(publishStatus))")
        }
        let tag = c.nextDeliveryTag
        c.nextDeliveryTag += 1
        let deadline = ContinuousClock.now + timeout
        var ackTag: UInt64 = 0
        var multiple: Int32 = 0
        var status: Int32 = 0
        var returned = [CChar](repeating: 0, count: 64)
        var wasReturned = false
        while ContinuousClock.now < deadline {
            switch pipeline_wait_confirm(c.state, c.channel, 100, &ackTag, &multiple, &returned, returned.count, &status) {
            case PIPELINE_FRAME_ACK where ackTag >= tag:
                if wasReturned { throw .returned }
                return
            case PIPELINE_FRAME_NACK where ackTag >= tag:
                throw .nacked
            case PIPELINE_FRAME_RETURN:
                wasReturned = true
            case PIPELINE_FRAME_ERROR, PIPELINE_FRAME_CLOSED:
                throw drop("connection lost while waiting for the confirm")
            default:
                continue
            }
        }
        throw drop("no confirm within \(timeout)")
    }

    package func close() {
        connection?.close()
        connection = nil
    }

    private func open() throws(AMQPError) -> AMQPConnection {
        if let connection { return connection }
        let (c, _) = try AMQPConnection.first(of: configuration) { [configuration] c throws(AMQPError) in
            try c.declareTopology(configuration)
            try c.confirmSelect()
        }
        connection = c
        return c
    }

    private func drop(_ why: String) -> AMQPError {
        connection?.abandon()
        connection = nil
        return .connection(why)
    }
}
