import ArgumentParser
import Foundation
import SQL
import Storage

/// The loss check as a command: what `make demo` ends with, and what an operator
/// runs against any list of readings devices saw acknowledged.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every reading devices saw acknowledged is stored, once.",
        discussion: """
            Input: `device_id,seq` lines (the simulator's --acked-file). Waits up to --wait seconds for the \
            analyzers to store them all, then prints how many are stored, missing (with examples) and duplicated, \
            and the anomalies flagged on them. Exit status 1 when one is missing or duplicated. Needs a role that \
            may create a table (the database's owner): the keys are joined in a table of their own, dropped after.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The acknowledged readings: device_id,seq lines.")
    var acked: String

    @Option(help: "Seconds to wait for the analyzers to store every acknowledged reading.")
    var wait: Double = 0

    func run() async throws {
        guard let text = try? String(contentsOfFile: acked, encoding: .utf8) else { throw ValidationError("cannot read \(acked)") }
        var pairs: [(String, Int64)] = []
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let seq = Int64(fields[1]) else {
                throw ValidationError("\(acked):\(n + 1): expected device_id,seq, got '\(line.prefix(80))'")
            }
            pairs.append((String(fields[0]), seq))
        }
        let check = try LossCheck(
            db: try SQLConnection(database.databaseURL, applicationName: "pipeline-verify"), table: "verify_acked_\(getpid())")
        defer { try? check.drop() }
        try check.load(pairs)
        let deadline = ContinuousClock.now + .seconds(max(0, wait))
        var missing = try check.missing()
        while missing > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            missing = try check.missing()
        }
        let acknowledged = try check.acknowledged()
        let duplicates = try check.duplicates()
        let examples = missing > 0 ? ", e.g. " + (try check.missingExamples()).joined(separator: " ") : ""
        print("  acknowledged       \(acknowledged) readings (device_id, seq)")
        print("  stored in database \(acknowledged - missing) of them" + (missing == 0 ? "  (all stored)" : "  (MISSING \(missing)\(examples))"))
        print("  duplicate rows     \(duplicates)")
        print("  anomalies          \(try check.anomalies()) flagged on them")
        if missing > 0 || duplicates > 0 { throw ExitCode(1) }
    }
}
