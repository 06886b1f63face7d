import ArgumentParser
import EnvironmentVariables

/// The pipeline's one executable: each service is a subcommand.
@main
struct Pipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Fault-tolerant IoT ingestion pipeline.",
        discussion: """
            Every option can also be set by the environment variable named in its help; a flag wins over the variable.
            A variable that is set but cannot be parsed stops the command (exit 64, naming it): it is never taken for unset.
            """,
        subcommands: [
            IngestCommand.self, AnalyzerCommand.self, AlertsCommand.self, MigrateCommand.self, TokenCommand.self,
            ReaderCommand.self, DeadLettersCommand.self, DetectCommand.self, VerifyCommand.self,
        ]
    )

    static func main() async { await mainRefusingUnparseableVariables() }
}
