import AMQPClient
import ServiceLifecycle

/// Runs the confirm publisher for the lifetime of the service group; on
/// graceful shutdown it finishes what is queued and in flight, then closes.
public struct PublisherService: Service {
    public let publisher: ConfirmPublisher

    public init(publisher: ConfirmPublisher) {
        self.publisher = publisher
    }

    public func run() async throws {
        publisher.start()
        try? await gracefulShutdown()
        await publisher.shutdown()
    }
}
