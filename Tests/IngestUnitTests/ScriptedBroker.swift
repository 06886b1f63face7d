import AMQPClient
import NIOConcurrencyHelpers

/// A broker whose confirms the test gives, one message at a time, in the order
/// it chooses: what the real broker does under load (confirms in bursts, a nack,
/// a confirm that never comes), made repeatable.
final class ScriptedBroker: ConfirmingPublisher, @unchecked Sendable {
    private let lock = NIOLock()
    private var messages: [(id: String, completion: ConfirmPublisher.Completion)] = []

    func publish(_ message: OutgoingMessage, completion: @escaping ConfirmPublisher.Completion) {
        lock.withLock { messages.append((message.messageID, completion)) }
    }

    func publish(_ messages: [OutgoingMessage]) async throws(AMQPError) {
        throw .unavailable("the line handler publishes one message at a time")
    }

    /// Message ids, in the order they were published.
    var published: [String] { lock.withLock { messages.map(\.id) } }

    /// Confirms (or fails) the message published as `id`.
    func answer(_ id: String, _ result: Result<Void, AMQPError> = .success(())) {
        let completion = lock.withLock { messages.first { $0.id == id }?.completion }
        completion?(result)
    }
}
