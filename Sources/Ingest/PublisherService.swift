package import AMQPClient
import ServiceLifecycle

/// Runs the confirm publisher for the lifetime of the service group; on
/// graceful shutdown it finishes what is queued and in flight, then closes.
package struct PublisherService: Service {
    package let publisher: ConfirmPublisher

    package init(publisher: ConfirmPublisher) {
        self.publisher = publisher
    }

    package func run() async throws {
        publisher.start()
        try? await gracefulShutdown()
        await publisher.shutdown()
    }
}
