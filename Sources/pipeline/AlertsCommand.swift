import Alerts
import ArgumentParser
import ServiceSupport

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Serve anomalies and readings over a REST API and a web page.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var database: DatabaseOptions

    @Option(help: "HTTP port (env: ALERTS_PORT).")
    var port: Int = Env.int("ALERTS_PORT") ?? 8080

    func run() async throws {
        let logger = common.logger("alerts")
        let service = AlertsService(
            configuration: .init(host: common.host, port: port, databaseURL: database.databaseURL, killEnabled: common.kill),
            logger: logger)
        try await runServices(service.services, logger: logger)
    }
}
