/// What ingest hands readings to: something that calls back only once the broker
/// confirmed (or refused) each message. `ConfirmPublisher` in every running
/// service; a protocol so that ingest's connection handling can be unit-tested
/// against confirms that come in an order the test chooses.
package protocol ConfirmingPublisher: AnyObject, Sendable {
    /// Publishes one message; `completion` runs once it is confirmed or failed.
    func publish(_ message: OutgoingMessage, completion: @escaping ConfirmPublisher.Completion)
    /// Publishes all messages; returns once every one is confirmed.
    func publish(_ messages: [OutgoingMessage]) async throws(AMQPError)
}

extension ConfirmPublisher: ConfirmingPublisher {}
