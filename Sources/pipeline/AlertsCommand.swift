import Alerts
import ArgumentParser
import EnvironmentVariables
import ServiceSupport

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Serve anomalies and readings over a REST API and a web page (read-only).")

    @OptionGroup var common: CommonOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var rule: RuleOptions

    @Option(help: "HTTP port of the API and the page (env: ALERTS_PORT).")
    var port: Int = Env.int("ALERTS_PORT") ?? 8080

    @Option(help: "Admin port: /healthz, /readyz with its checks, /metrics, /kill; plain HTTP, for the cluster network only (env: ALERTS_ADMIN_PORT).")
    var adminPort: Int = Env.int("ALERTS_ADMIN_PORT") ?? 9102

    @Option(help: "Database connections at most; each runs one query at a time (env: ALERTS_DB_POOL).")
    var poolSize: Int = Env.int("ALERTS_DB_POOL") ?? 4

    @Option(help: "A query running longer is cancelled and answered 503, in ms (env: ALERTS_STATEMENT_TIMEOUT_MS).")
    var statementTimeoutMs: Int = Env.int("ALERTS_STATEMENT_TIMEOUT_MS") ?? 2000

    @Option(help: "Reader keys: on (default; every API route needs `Authorization: Bearer <key>` from `pipeline reader issue`) or off, for local experiments only (env: ALERTS_AUTH).")
    var auth: String = Env.string("ALERTS_AUTH") ?? "on"

    func validate() throws {
        guard Env.flag(auth) != nil else { throw ValidationError("--auth must be on or off") }
        guard (1...64).contains(poolSize) else { throw ValidationError("--pool-size must be 1 to 64") }
        guard statementTimeoutMs >= 1 else { throw ValidationError("--statement-timeout-ms must be positive") }
    }

    func run() async throws {
        let logger = common.logger("alerts")
        try await runServices(logger: logger) {
            AlertsService(
                configuration: .init(
                    host: common.host, port: port, adminPort: adminPort, databaseURL: database.databaseURL, poolSize: poolSize,
                    statementTimeoutMs: statementTimeoutMs, rule: rule.rule, killEnabled: common.kill,
                    readerKeys: Env.flag(auth) ?? true),
                logger: logger).services
        }
    }
}
