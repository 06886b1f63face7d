import CRabbitMQ
import Foundation
import PipelineCore

/// One message taken from the queue, not yet acknowledged.
package struct Delivery: Sendable {
    package var tag: UInt64
    package var body: [UInt8]
    package var messageID: String?
    package var redelivered: Bool
    /// Ingest's acceptance time (`x-ingested-at-ms` header), when present.
    package var acceptedAtMs: Int64?
    /// On the dead-letter queue, why it is there: the analyzer's reason (`x-pipeline-error`),
    /// or the broker's (`x-first-death-reason`, e.g. `delivery_limit`).
    package var deadLetterReason: String?
    /// The body's format (`x-pipeline-format`, see `ReadingMessage`); nil for one JSON reading.
    package var format: String?
}

/// A blocking consumer with manual acks and a prefetch. Like every rabbitmq-c
/// connection it is confined to one thread: the caller's.
package final class AMQPConsumer {
    private let configuration: AMQPConfiguration
    private let prefetch: Int
    private var connection: AMQPConnection?
    private var consumerTag: String?
    private var nodeIndex = 0

    private let consumesDeadLetters: Bool

    /// With `deadLetters`, consumes the dead-letter queue instead of the main one (for inspection and tests).
    package init(configuration: AMQPConfiguration, prefetch: Int, deadLetters: Bool = false) {
        self.configuration = configuration
        self.prefetch = prefetch
        self.consumesDeadLetters = deadLetters
    }

    package var isConnected: Bool { connection != nil }
    package var endpoint: String? { connection?.endpoint }

    /// Connects to the first reachable node (rotating), declares the topology and starts consuming.
    package func connect() throws(AMQPError) {
        disconnect()
        let tag = "analyzer-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let queue = consumesDeadLetters ? configuration.deadLetterQueue : configuration.queue
        do {
            (connection, nodeIndex) = try AMQPConnection.first(of: configuration, from: nodeIndex) { [configuration, prefetch] c throws(AMQPError) in
                try c.declareTopology(configuration)
                amqp_basic_qos(c.state, c.channel, 0, UInt16(clamping: prefetch), 0)
                try c.check("basic.qos")
                pipeline_basic_consume(c.state, c.channel, queue, tag)
                try c.check("basic.consume")
            }
            consumerTag = tag
        } catch {
            nodeIndex += 1
            throw error
        }
    }

    /// Waits up to `timeout` for the next delivery; nil on timeout.
    package func next(timeout: Duration) throws(AMQPError) -> Delivery? {
        guard let c = connection else { throw .unavailable("not connected") }
        var envelope = amqp_envelope_t()
        var status: Int32 = 0
        let ms = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let rc = pipeline_consume(c.state, &envelope, ms, &status)
        if rc == 0 { return nil }
        if rc < 0 {
            c.abandon()
            connection = nil
            throw .connection(AMQPConnection.statusString(status))
        }
        defer { amqp_destroy_envelope(&envelope) }
        let body: [UInt8]
        if envelope.message.body.len > 0, let bytes = envelope.message.body.bytes {
            body = Array(UnsafeRawBufferPointer(start: bytes, count: envelope.message.body.len))
        } else {
            body = []
        }
        var idBuffer = [CChar](repeating: 0, count: 256)
        let idLength = pipeline_message_id(&envelope.message.properties, &idBuffer, idBuffer.count)
        var acceptedAt: Int64 = 0
        let hasAcceptedAt = pipeline_header_i64(&envelope.message.properties, "x-ingested-at-ms", &acceptedAt) != 0
        var reasonBuffer = [CChar](repeating: 0, count: 1024)
        var reasonLength = pipeline_header_string(&envelope.message.properties, "x-pipeline-error", &reasonBuffer, reasonBuffer.count)
        if reasonLength < 0 {
            // Dead-lettered by the broker itself (its delivery limit, say): RabbitMQ's reason.
            reasonLength = pipeline_header_string(
                &envelope.message.properties, "x-first-death-reason", &reasonBuffer, reasonBuffer.count)
        }
        var formatBuffer = [CChar](repeating: 0, count: 128)
        let formatLength = pipeline_header_string(
            &envelope.message.properties, ReadingMessage.formatHeader, &formatBuffer, formatBuffer.count)
        return Delivery(
            tag: envelope.delivery_tag, body: body, messageID: idLength > 0 ? String(nulTerminated: idBuffer) : nil,
            redelivered: envelope.redelivered != 0, acceptedAtMs: hasAcceptedAt ? acceptedAt : nil,
            deadLetterReason: reasonLength >= 0 ? String(nulTerminated: reasonBuffer) : nil,
            format: formatLength > 0 ? String(nulTerminated: formatBuffer) : nil)
    }

    /// Acknowledges `tag`, and with `multiple` every earlier unacknowledged delivery too.
    package func ack(_ tag: UInt64, multiple: Bool) throws(AMQPError) {
        guard let c = connection else { throw .unavailable("not connected") }
        let rc = amqp_basic_ack(c.state, c.channel, tag, multiple ? 1 : 0)
        if rc != 0 { drop(); throw .connection("ack: \(AMQPConnection.statusString(rc))") }
    }

    /// Rejects one delivery; without requeue the broker dead-letters it.
    package func reject(_ tag: UInt64, requeue: Bool) throws(AMQPError) {
        guard let c = connection else { throw .unavailable("not connected") }
        let rc = amqp_basic_reject(c.state, c.channel, tag, requeue ? 1 : 0)
        if rc != 0 { drop(); throw .connection("reject: \(AMQPConnection.statusString(rc))") }
    }

    /// Cancels the consumer with a round trip (so acks sent before are settled
    /// by the broker), then closes. Unacknowledged deliveries return to the queue.
    package func disconnect() {
        guard let c = connection else { return }
        if let tag = consumerTag {
            pipeline_basic_cancel(c.state, c.channel, tag)
        }
        c.close()
        connection = nil
        consumerTag = nil
    }

    private func drop() {
        connection?.abandon()
        connection = nil
    }
}
