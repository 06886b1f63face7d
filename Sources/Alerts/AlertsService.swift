import Hummingbird
package import Logging
import PipelineCore
import SQL
package import ServiceLifecycle
import ServiceSupport
import Storage

/// The read-only alerts API and web page. Queries run on a small pool of
/// read-only connections with a statement timeout, so one slow query holds
/// one connection only, and a database outage is a 503, never a crash or a hang;
/// the pool reconnects by itself when the database is back.
package struct AlertsService {
    package let http: any Service
    /// `/healthz`, `/readyz` with its checks, `/metrics` and `/kill`, for the cluster network only.
    package let admin: any Service
    let pool: SQLPool
    let keys: ReaderKeyCache?

    package init(configuration c: AlertsConfiguration, logger: Logger) {
        let pool = SQLPool(
            conninfo: c.databaseURL, size: c.poolSize, statementTimeoutMs: c.statementTimeoutMs, readOnly: true,
            applicationName: "pipeline-alerts")
        self.pool = pool
        let keys = c.readerKeys ? ReaderKeyCache(pool: pool, logger: logger) : nil
        self.keys = keys
        if keys == nil { logger.warning("reader keys are off (ALERTS_AUTH=off): anyone reaching the API reads every device") }
        let readiness: @Sendable () async -> Readiness = {
            var checks = ["reader_keys": keys.map { $0.status.detail } ?? "off"]
            do {
                _ = try await pool.withConnection { try $0.execute("SELECT 1") }
                checks["database"] = "ok"
                return Readiness(ready: true, checks: checks)
            } catch {
                checks["database"] = "\(error)"
                return Readiness(ready: false, checks: checks)
            }
        }
        admin = AdminServer.make(
            host: c.host, port: c.adminPort, serverName: "pipeline-alerts-admin", killEnabled: c.killEnabled, logger: logger,
            readiness: readiness)
        let router = Router()
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: HTTPMetricsMiddleware())
        let routes = RouteTable()
        router.add(middleware: JSONErrorMiddleware(routes: routes))
        OperationalRoutes.addPublic(to: router, readiness: readiness)
        AlertsRoutes(pool: pool, rule: c.rule, keys: keys, logger: logger).add(to: router)
        routes.record(router)
        http = Listener(
            "HTTP on \(c.host):\(c.port)",
            Application(
                router: router, configuration: .init(address: .hostname(c.host, port: c.port), serverName: "pipeline-alerts"),
                logger: logger))
    }

    /// The admin listener stops last: /metrics and /readyz stay up while the rest drains.
    package var services: [any Service] { [admin, PoolService(pool: pool)] + (keys.map { [$0] } ?? []) + [http] }
}
