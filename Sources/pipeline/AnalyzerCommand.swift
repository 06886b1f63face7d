import Analyzer
import ArgumentParser
import EnvironmentVariables
import ServiceSupport

struct AnalyzerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyzer", abstract: "Store readings idempotently, flag anomalies, then acknowledge.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var rule: RuleOptions
    @OptionGroup var incidents: IncidentOptions

    @Option(help: "Port for /healthz, /readyz, /metrics (env: ANALYZER_PORT).")
    var port: Int = Env.int("ANALYZER_PORT") ?? 9100

    @Option(help: "Unacknowledged deliveries the broker may send ahead (env: ANALYZER_PREFETCH).")
    var prefetch: Int = Env.int("ANALYZER_PREFETCH") ?? 2000

    @Option(help: "Readings per transaction at most (env: ANALYZER_BATCH).")
    var batchSize: Int = Env.int("ANALYZER_BATCH") ?? 1000

    @Option(help: "Milliseconds a batch waits for more deliveries once it has one (env: ANALYZER_BATCH_WINDOW_MS).")
    var batchWindowMs: Int = Env.int("ANALYZER_BATCH_WINDOW_MS") ?? 20

    @Option(help: "Milliseconds a statement of the analyzer may run before it is cancelled and retried (env: ANALYZER_STATEMENT_TIMEOUT_MS).")
    var statementTimeoutMs: Int = Env.int("ANALYZER_STATEMENT_TIMEOUT_MS") ?? 30_000

    @Option(help: "Milliseconds a statement may wait for a lock before it is cancelled and retried (env: ANALYZER_LOCK_TIMEOUT_MS).")
    var lockTimeoutMs: Int = Env.int("ANALYZER_LOCK_TIMEOUT_MS") ?? 10_000

    @Option(help: "Metric names that get a series of their own in analyzer_anomalies_total, the first seen; later ones count as `other` (env: ANALYZER_METRIC_LABELS).")
    var metricLabels: Int = Env.int("ANALYZER_METRIC_LABELS") ?? 32

    func validate() throws {
        try incidents.validate(window: rule.rule.windowSize)
        guard metricLabels >= 0 else { throw ValidationError("--metric-labels must not be negative") }
        guard statementTimeoutMs >= 1, lockTimeoutMs >= 1 else {
            throw ValidationError("--statement-timeout-ms and --lock-timeout-ms must be >= 1")
        }
        guard prefetch >= 1, prefetch <= 65535, batchSize >= 1 else { throw ValidationError("bad --prefetch or --batch-size") }
        guard (0...10_000).contains(batchWindowMs) else { throw ValidationError("--batch-window-ms must be within 0...10000") }
    }

    func run() async throws {
        let logger = common.logger("analyzer")
        try await runServices(logger: logger) {
            AnalyzerService(
                configuration: .init(
                    amqp: broker.configuration, databaseURL: database.databaseURL,
                    rule: rule.rule, incidentRule: incidents.rule, prefetch: prefetch,
                    batchSize: batchSize, batchWindow: .milliseconds(batchWindowMs),
                    statementTimeoutMs: statementTimeoutMs, lockTimeoutMs: lockTimeoutMs, metricLabelLimit: metricLabels),
                host: common.host, port: port, killEnabled: common.kill, logger: logger).services
        }
    }
}
