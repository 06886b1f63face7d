import Hummingbird
import Logging
import PipelineCore
import SQL
import ServiceLifecycle
import ServiceSupport
import Storage

/// The read-only alerts API and web page. Queries run on a small pool of
/// read-only connections with a statement timeout, so one slow query holds
/// one connection only, and a database outage is a 503, never a crash or a hang;
/// the pool reconnects by itself when the database is back.
public struct AlertsService {
    public let http: any Service
    /// `/healthz`, `/readyz` with its checks, `/metrics` and `/kill`, for the cluster network only.
    public let admin: any Service
    let pool: SQLPool

    public init(configuration c: AlertsConfiguration, logger: Logger) {
        let pool = SQLPool(
            conninfo: c.databaseURL, size: c.poolSize, statementTimeoutMs: c.statementTimeoutMs, readOnly: true,
            applicationName: "pipeline-alerts")
        self.pool = pool
        let readiness: @Sendable () async -> Readiness = {
            do {
                _ = try await pool.withConnection { try $0.execute("SELECT 1") }
                return Readiness(ready: true, checks: ["database": "ok"])
            } catch {
                return Readiness(ready: false, checks: ["database": "\(error)"])
            }
        }
        admin = AdminServer.make(
            host: c.host, port: c.adminPort, serverName: "pipeline-alerts-admin", killEnabled: c.killEnabled, logger: logger,
            readiness: readiness)
        let router = Router()
        router.add(middleware: HTTPMetricsMiddleware())
        OperationalRoutes.addPublic(to: router, readiness: readiness)
        AlertsRoutes(pool: pool, rule: c.rule, logger: logger).add(to: router)
        http = Listener(
            "HTTP on \(c.host):\(c.port)",
            Application(
                router: router, configuration: .init(address: .hostname(c.host, port: c.port), serverName: "pipeline-alerts"),
                logger: logger))
    }

    /// The admin listener stops last: /metrics and /readyz stay up while the rest drains.
    public var services: [any Service] { [admin, PoolService(pool: pool), http] }
}
