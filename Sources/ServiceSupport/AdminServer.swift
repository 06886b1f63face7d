import Hummingbird
package import Logging
package import ServiceLifecycle

/// The admin listener every service runs beside its public one: `/healthz`,
/// `/readyz` with its checks, `/metrics` and the optional `/kill`, over plain
/// HTTP, meant for the cluster network only (probes, Prometheus, chaos tests).
package enum AdminServer {
    package static func make(
        host: String, port: Int, serverName: String, killEnabled: Bool, logger: Logger,
        readiness: @escaping @Sendable () async -> Readiness
    ) -> any Service {
        let router = Router()
        router.add(middleware: HTTPMetricsMiddleware())
        let routes = RouteTable()
        router.add(middleware: JSONErrorMiddleware(routes: routes))
        OperationalRoutes.add(to: router, killEnabled: killEnabled, readiness: readiness)
        routes.record(router)
        return Listener(
            "admin HTTP on \(host):\(port)",
            Application(
                router: router, configuration: .init(address: .hostname(host, port: port), serverName: serverName),
                logger: logger))
    }
}
