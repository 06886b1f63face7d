import ArgumentParser
import Foundation
import PipelineCore

/// The analyzer's own detection over one series in a file: for trying settings
/// on recorded data, and for checking what the running pipeline would open.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Run the analyzer's detection (the per-reading rule and incidents) over one series in a CSV file.",
        discussion: """
            Input: `timestamp,value` rows, oldest first, a header line optional; each row is one reading, its seq \
            the row's position. Output: `timestamp,value,anomaly,anomaly_score`, where `anomaly` is 1 where the \
            per-reading rule flags the row and `anomaly_score` is 1 on the row where an incident opens. Each \
            incident's reason goes to standard error.
            """)

    @Option(help: "The series, or - for standard input.")
    var input: String

    @Option(help: "Where to write the result (default: standard output).")
    var output: String?

    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var incidentOptions: IncidentOptions

    func validate() throws { try incidentOptions.validate(window: ruleOptions.rule.windowSize) }

    func run() throws {
        let data: Data
        if input == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: input) else {
                throw ValidationError("cannot read \(input)")
            }
            data = contents
        }
        let rows: [SeriesCSV.Row]
        do {
            rows = try SeriesCSV.parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw ValidationError("\(input): \(error)")
        }
        var detection = SeriesDetection(anomalyRule: ruleOptions.rule, incidentRule: incidentOptions.rule)
        var out = "timestamp,value,anomaly,anomaly_score\n"
        var incidents = 0
        for (i, row) in rows.enumerated() {
            let step = detection.next(seq: Int64(i), ts: row.timestamp, value: row.value)
            let opened = step.opened
            if let opened {
                incidents += 1
                FileHandle.standardError.write(Data("incident at \(row.timestamp) (row \(i)): \(opened.reason)\n".utf8))
            }
            out += "\(row.timestamp),\(row.valueText),\(step.verdict?.isAnomaly == true ? 1 : 0),\(opened == nil ? 0 : 1)\n"
        }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(out.utf8)) else {
                throw ValidationError("cannot write \(output)")
            }
        } else {
            FileHandle.standardOutput.write(Data(out.utf8))
        }
        FileHandle.standardError.write(Data("\(rows.count) readings, \(incidents) incidents\n".utf8))
    }
}
