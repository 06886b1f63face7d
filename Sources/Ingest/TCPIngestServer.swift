package import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
package import NIOSSL
import PipelineCore
import ServiceLifecycle
import ServiceSupport

/// The raw TCP listener (optionally TLS) for devices that keep a connection open.
package final class TCPIngestServer: Service, Sendable {
    /// Sent through each connection's pipeline on graceful shutdown.
    struct Drain {}

    private let host: String
    private let port: Int
    private let tls: NIOSSLContext?
    private let acceptor: ReadingAcceptor
    private let admission: Admission
    private let idleTimeout: Duration
    private let authTimeout: Duration
    private let limiter: ConnectionLimiter
    private let logger: Logger
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    private let bound = NIOLockedValueBox<Int?>(nil)

    package init(
        host: String, port: Int, tls: TLSConfiguration?, acceptor: ReadingAcceptor, admission: Admission,
        limiter: ConnectionLimiter, idleTimeout: Duration, authTimeout: Duration, logger: Logger
    ) throws {
        self.limiter = limiter
        self.authTimeout = authTimeout
        self.host = host
        self.port = port
        self.tls = try tls.map { try NIOSSLContext(configuration: $0) }
        self.acceptor = acceptor
        self.admission = admission
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    /// The port actually bound (useful with port 0), once running.
    package var boundPort: Int? { bound.withLockedValue { $0 } }

    package func run() async throws {
        let tls = self.tls
        let acceptor = self.acceptor
        let admission = self.admission
        let idle = TimeAmount(idleTimeout)
        let authTimeout = TimeAmount(self.authTimeout)
        let limiter = self.limiter
        let connections = self.connections
        let openGauge = Gauge(label: "ingest_tcp_connections")
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let gate = try ConnectionGate.install(on: channel, limiter: limiter, tls: tls != nil) else { return }
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                    // With authentication on, the first line is an auth line: 1 KiB at most.
                    let first = admission.authenticator == nil ? nil : ReadingLimits.maxAuthLineBytes
                    try sync.addHandler(
                        ByteToMessageHandler(LineFrameDecoder(maxLength: ReadingLimits.maxLineBytes, firstLineMax: first)))
                    try sync.addHandler(
                        ReadingLineHandler(
                            acceptor: acceptor, admission: admission, gate: gate, authTimeout: authTimeout,
                            idleTimeout: idle))
                    let id = ObjectIdentifier(channel)
                    openGauge.record(connections.withLockedValue { $0[id] = channel; return $0.count })
                    channel.closeFuture.whenComplete { _ in
                        openGauge.record(connections.withLockedValue { $0.removeValue(forKey: id); return $0.count })
                    }
                }
            }
        let server: any Channel
        do {
            server = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw ListenerError(description: "cannot serve TCP\(tls == nil ? "" : "+TLS") on \(host):\(port): \(error)")
        }
        bound.withLockedValue { $0 = server.localAddress?.port }
        logger.info("TCP ingest listening", metadata: ["address": "\(host):\(server.localAddress?.port ?? port)", "tls": "\(tls != nil)"])

        // Cancellation (another service of the group failed) stops the listener too,
        // which waiting on the close future alone would not.
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await server.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            server.close(promise: nil)
        }
        // Let open connections finish the replies they owe, then close them; when
        // cancelled, close them at once.
        let open = connections.withLockedValue { Array($0.values) }
        if Task.isCancelled {
            for channel in open { channel.close(promise: nil) }
        } else {
            for channel in open { channel.pipeline.fireUserInboundEventTriggered(Drain()) }
        }
        for channel in open { try? await channel.closeFuture.get() }
        logger.info("TCP ingest stopped")
    }
}
