import ArgumentParser
import EnvironmentVariables
import Foundation

/// The device simulator: `run` (the default) emulates a fleet, `score` judges
/// the pipeline's detection against what a run injected.
@main
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator",
        abstract: "Emulate a fleet of devices against ingest, and score anomaly detection against the injected ground truth.",
        discussion: "Without a subcommand, `run` is meant: `simulator --devices 100 --interval 10 …`.",
        subcommands: [RunCommand.self, ScoreCommand.self], defaultSubcommand: RunCommand.self)

    static func main() async { await mainRefusingUnparseableVariables() }
}

