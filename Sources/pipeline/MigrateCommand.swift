import ArgumentParser
import SQL
import Storage

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or update the database schema (safe to run twice).")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let connection = try SQLConnection(database.databaseURL, applicationName: "pipeline-migrate")
        try Schema.migrate(connection, force: true)
        print("schema is up to date")
    }
}
