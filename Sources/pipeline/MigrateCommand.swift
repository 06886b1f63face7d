import AMQPClient
import ArgumentParser
import EnvironmentVariables
import ServiceSupport
import SQL
import Storage

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or update the database schema, grant each service's role its privileges, and declare the broker's queues (safe to run twice).",
        discussion: """
            Run as the database's owner, before the services start (a Job or init container): the services only \
            check that the schema is current, since their roles may not change it. Each role given is granted what \
            its service needs and nothing more: the analyzer reads and writes the rows of readings, devices, \
            metric_values and anomalies; alerts reads those and the reader keys, and writes only when a key was \
            last used; ingest reads device token generations.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var broker: BrokerOptions

    @Flag(help: "Also declare the broker's exchanges and queues (with AMQP_URL of a user that may configure them; the services' users may not).")
    var withBroker = false

    @Option(help: "The analyzer's database role, granted its privileges (env: ANALYZER_DB_ROLE).")
    var analyzerRole: String = Env.string("ANALYZER_DB_ROLE") ?? ""

    @Option(help: "The alerts service's database role (env: ALERTS_DB_ROLE).")
    var alertsRole: String = Env.string("ALERTS_DB_ROLE") ?? ""

    @Option(help: "Ingest's database role, for device tokens (env: INGEST_DB_ROLE).")
    var ingestRole: String = Env.string("INGEST_DB_ROLE") ?? ""

    func run() throws {
        if withBroker {
            let server = try AMQPTopology.declare(broker.configuration)
            print("broker topology is declared on \(server) (queue '\(broker.queue)')")
        }
        let connection = try SQLConnection(database.databaseURL, applicationName: "pipeline-migrate")
        try Schema.migrate(connection, force: true)
        print("schema is up to date (version \(Schema.version))")
        for (service, role) in [(ServiceRole.analyzer, analyzerRole), (.alerts, alertsRole), (.ingest, ingestRole)] where !role.isEmpty {
            try Schema.grant(service, to: role, on: connection)
            print("granted \(service.rawValue)'s privileges to \(role)")
        }
    }
}
