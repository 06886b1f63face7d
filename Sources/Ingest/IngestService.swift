package import AMQPClient
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
package import Logging
import NIOCore
import NIOSSL
package import ServiceLifecycle
import SQL
package import ServiceSupport

/// Wires ingest: the publisher, the HTTP(S) and TCP listeners. The services
/// shut down in reverse order: listeners first, the publisher last, so every
/// request in flight still gets its confirm.
package struct IngestService {
    package let publisher: ConfirmPublisher
    package let tcp: TCPIngestServer
    package let http: any Service
    /// `/healthz`, `/readyz` with its checks, `/metrics` and `/kill`, for the cluster network only.
    package let admin: any Service
    package let authenticator: DeviceAuthenticator?
    /// The TLS certificate both listeners serve, read again when its files change.
    package let certificate: ReloadingCertificate?
    /// Admits the device connections of both listeners.
    package let limiter: ConnectionLimiter
    let pool: SQLPool?

    package init(configuration c: IngestConfiguration, logger: Logger) throws {
        publisher = ConfirmPublisher(
            configuration: c.amqp, confirmTimeout: c.confirmTimeout, packing: c.packing, logger: logger)
        let acceptor = ReadingAcceptor(publisher: publisher)
        if let auth = c.auth {
            let pool = SQLPool(conninfo: auth.databaseURL, size: 2, statementTimeoutMs: 2000, applicationName: "pipeline-ingest")
            self.pool = pool
            authenticator = DeviceAuthenticator(
                secret: auth.secret, pool: pool, refreshInterval: auth.refreshInterval, logger: logger)
        } else {
            pool = nil
            authenticator = nil
        }
        let admission = Admission(
            authenticator: authenticator, limiter: c.rateLimit.map { RateLimiter(rate: $0.rate, burst: $0.burst) })
        if let cert = c.tlsCertificatePath, let key = c.tlsKeyPath {
            certificate = try ReloadingCertificate(
                certificatePath: cert, keyPath: key, interval: c.tlsReloadInterval, logger: logger)
        } else {
            certificate = nil
        }
        let tls = certificate?.serverConfiguration
        // One limit for both listeners: together they stay below the open-file limit.
        let limiter = ConnectionLimiter(limits: c.guards.connections)
        self.limiter = limiter
        tcp = try TCPIngestServer(
            host: c.host, port: c.tcpPort, tls: tls, acceptor: acceptor, admission: admission, limiter: limiter,
            idleTimeout: c.idleTimeout, authTimeout: c.guards.authTimeout, logger: logger)

        let publisher = self.publisher
        let authenticator = self.authenticator
        let readiness: @Sendable () async -> Readiness = {
            let up = publisher.isConnected
            let blocked = publisher.blocked
            var checks = ["broker": !up ? "unreachable" : blocked.map { "blocked by a resource alarm (\($0))" } ?? "ok"]
            var ready = up && blocked == nil
            if let authenticator {
                // Until the credentials were loaded once, no token can be checked.
                let (loaded, detail) = authenticator.status
                checks["credentials"] = loaded ? "ok (\(detail))" : detail
                ready = ready && loaded
            }
            return Readiness(ready: ready, checks: checks)
        }
        admin = AdminServer.make(
            host: c.host, port: c.adminPort, serverName: "pipeline-ingest-admin", killEnabled: c.killEnabled, logger: logger,
            readiness: readiness)
        let router = Router()
        router.add(middleware: HTTPMetricsMiddleware())
        let routes = RouteTable()
        router.add(middleware: JSONErrorMiddleware(routes: routes))
        OperationalRoutes.addPublic(to: router, readiness: readiness)
        HTTPIngest.addRoutes(to: router, acceptor: acceptor, admission: admission, bodies: BodyBudget(total: c.guards.httpBodyBudget))
        routes.record(router)
        let configuration = ApplicationConfiguration(
            address: .hostname(c.host, port: c.httpPort), serverName: "pipeline-ingest")
        let bodyTimeout = TimeAmount(c.guards.httpBodyTimeout)
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [HTTPConnectionGuard(limiter: limiter, bodyTimeout: bodyTimeout)],
                idleTimeout: TimeAmount(c.guards.httpIdleTimeout)))
        let what = "\(tls == nil ? "HTTP" : "HTTPS") on \(c.host):\(c.httpPort)"
        if let tls {
            http = Listener(
                what,
                Application(
                    router: router, server: try .tls(http1, tlsConfiguration: tls), configuration: configuration,
                    logger: logger))
        } else {
            http = Listener(what, Application(router: router, server: http1, configuration: configuration, logger: logger))
        }
    }

    /// In start order; a ServiceGroup stops them in reverse: the device listeners first,
    /// then the publisher (after its last confirm), then the credential cache, and the
    /// admin listener last, so /metrics and /readyz stay up while the rest drains.
    package var services: [any Service] {
        var list: [any Service] = [admin]
        if let pool { list.append(PoolService(pool: pool)) }
        if let authenticator { list.append(authenticator) }
        if let certificate { list.append(certificate) }
        return list + [PublisherService(publisher: publisher), tcp, http]
    }
}
