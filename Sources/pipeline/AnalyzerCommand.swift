import Analyzer
import ArgumentParser
import PipelineCore
import ServiceSupport

struct AnalyzerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyzer", abstract: "Store readings idempotently, flag anomalies, then acknowledge.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var database: DatabaseOptions

    @Option(help: "Port for /healthz, /readyz, /metrics (env: ANALYZER_PORT).")
    var port: Int = Env.int("ANALYZER_PORT") ?? 9100

    @Option(help: "Unacknowledged deliveries the broker may send ahead (env: ANALYZER_PREFETCH).")
    var prefetch: Int = Env.int("ANALYZER_PREFETCH") ?? 2000

    @Option(help: "Readings per transaction at most (env: ANALYZER_BATCH).")
    var batchSize: Int = Env.int("ANALYZER_BATCH") ?? 1000

    @Option(help: "Earlier readings a value is compared with (env: ANOMALY_WINDOW).")
    var window: Int = Env.int("ANOMALY_WINDOW") ?? 200

    @Option(help: "Earlier readings needed before any verdict (env: ANOMALY_MIN_HISTORY).")
    var minHistory: Int = Env.int("ANOMALY_MIN_HISTORY") ?? 30

    @Option(help: "Robust z-score above which a value is an anomaly (env: ANOMALY_THRESHOLD).")
    var threshold: Double = Env.string("ANOMALY_THRESHOLD").flatMap(Double.init) ?? 3.5

    func validate() throws {
        guard window >= 1, minHistory >= 1, minHistory <= window else {
            throw ValidationError("need 1 <= --min-history <= --window")
        }
        guard threshold > 0 else { throw ValidationError("--threshold must be positive") }
        guard prefetch >= 1, prefetch <= 65535, batchSize >= 1 else { throw ValidationError("bad --prefetch or --batch-size") }
    }

    func run() async throws {
        let logger = common.logger("analyzer")
        let service = AnalyzerService(
            configuration: .init(
                amqp: broker.configuration, databaseURL: database.databaseURL,
                rule: AnomalyRule(windowSize: window, minHistory: minHistory, threshold: threshold), prefetch: prefetch,
                batchSize: batchSize),
            host: common.host, port: port, killEnabled: common.kill, logger: logger)
        try await runServices(service.services, logger: logger)
    }
}
