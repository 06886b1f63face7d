import AMQPClient
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle
import ServiceSupport

/// Wires ingest: the publisher, the HTTP(S) and TCP listeners. The services
/// shut down in reverse order: listeners first, the publisher last, so every
/// request in flight still gets its confirm.
public struct IngestService {
    public let publisher: ConfirmPublisher
    public let tcp: TCPIngestServer
    public let http: any Service

    public init(configuration c: IngestConfiguration, logger: Logger) throws {
        publisher = ConfirmPublisher(configuration: c.amqp, confirmTimeout: c.confirmTimeout, logger: logger)
        let acceptor = ReadingAcceptor(publisher: publisher)
        var tls: TLSConfiguration?
        if let cert = c.tlsCertificatePath, let key = c.tlsKeyPath {
            tls = try TLSFiles.serverConfiguration(certificatePath: cert, keyPath: key)
        }
        tcp = try TCPIngestServer(host: c.host, port: c.tcpPort, tls: tls, acceptor: acceptor, logger: logger)

        let router = Router()
        let publisher = self.publisher
        OperationalRoutes.add(to: router, killEnabled: c.killEnabled) {
            let up = publisher.isConnected
            return Readiness(ready: up, checks: ["broker": up ? "ok" : "unreachable"])
        }
        HTTPIngest.addRoutes(to: router, acceptor: acceptor)
        let configuration = ApplicationConfiguration(
            address: .hostname(c.host, port: c.httpPort), serverName: "pipeline-ingest")
        if let tls {
            http = Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls),
                               configuration: configuration, logger: logger)
        } else {
            http = Application(router: router, configuration: configuration, logger: logger)
        }
    }

    /// In start order; a ServiceGroup stops them in reverse.
    public var services: [any Service] { [PublisherService(publisher: publisher), tcp, http] }
}
