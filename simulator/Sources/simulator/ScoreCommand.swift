import ArgumentParser
import EnvironmentVariables
import Foundation
import NIOSSL
import SimulatorKit

/// Judges detection: the anomalies the alerts API serves against what a run's
/// report says was injected. Run it once the analyzer has caught up.
struct ScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Print precision, recall and delay of the pipeline's anomalies and incidents against a run's injected ones.",
        discussion: """
            Reads the --report of a `simulator run` and every anomaly and incident the alerts API lists since that \
            run started. Exits 1 when --require (per reading) or --require-incidents is given and a precision or \
            recall of spikes or level shifts is below it.
            """)

    @Option(help: "The report written by `simulator run --report` (env: SIM_REPORT).")
    var report: String = Env.string("SIM_REPORT") ?? ""

    @Option(help: "Base URL of the alerts service (env: ALERTS_URL).")
    var alerts: String = Env.string("ALERTS_URL") ?? "http://127.0.0.1:8080"

    @Option(help: "File holding the reader key for the alerts API (env: ALERTS_KEY_FILE; or the key itself in ALERTS_KEY).")
    var alertsKeyFile: String = Env.string("ALERTS_KEY_FILE") ?? ""

    @Option(help: "Earlier readings a metric needs before it is scored; the rule's minimum history (env: ANOMALY_MIN_HISTORY).")
    var minHistory: Int = Env.int("ANOMALY_MIN_HISTORY") ?? 30

    @Option(help: "Seconds between a device's readings, for incidents per device-hour (env: SIM_INTERVAL).")
    var interval: Double = Env.double("SIM_INTERVAL") ?? 10

    @Option(help: "Fail unless incident precision, and the recall of spike and level-shift episodes, are at least this.")
    var requireIncidents: Double?

    @Option(help: "Also write the figures as JSON here.")
    var json: String = ""

    @Option(help: "Fail unless precision and recall of spikes and level shifts are at least this.")
    var require: Double?

    @Option(help: "PEM CA certificate to trust for an https alerts URL.")
    var caFile: String = ""

    func validate() throws {
        guard !report.isEmpty else { throw ValidationError("--report is required") }
        guard minHistory >= 0 else { throw ValidationError("--min-history must not be negative") }
        for (name, value) in [("--require", require), ("--require-incidents", requireIncidents)] {
            if let value, !(0...1).contains(value) { throw ValidationError("\(name) must be within 0...1") }
        }
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
    }

    func run() async throws {
        let record = try RunRecord(reportAt: report)
        var tls: NIOSSLContext?
        if alerts.hasPrefix("https") {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if !caFile.isEmpty { configuration.trustRoots = .file(caFile) }
            tls = try NIOSSLContext(configuration: configuration)
        }
        var key = Env.string("ALERTS_KEY")
        if !alertsKeyFile.isEmpty {
            guard let text = try? String(contentsOfFile: alertsKeyFile, encoding: .utf8) else {
                throw ValidationError("cannot read the reader key file '\(alertsKeyFile)'")
            }
            key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let feed = try AnomalyFeed(url: alerts, tls: tls, readerKey: key)
        let devices = Set(record.acked.map(\.deviceID))
        let flagged = try await feed.anomalies(detectedSince: record.startedAt.addingTimeInterval(-1), devices: devices)
        let score = DetectionScore(record: record, flagged: flagged, minHistory: minHistory)
        let opened = try await feed.incidents(openedSince: record.startedAt.addingTimeInterval(-1), devices: devices)
        let incidents = IncidentScore(record: record, incidents: opened, minHistory: minHistory)
        print(score.text)
        print()
        print(incidents.text(interval: interval))
        if !json.isEmpty {
            var object = score.json
            object["incidents"] = incidents.json(interval: interval)
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: json))
        }
        if let required = requireIncidents {
            let recalls = [InjectedAnomaly.Kind.spike, .levelShift].map { incidents.byKind[$0]?.recall ?? 0 }
            guard (incidents.precision ?? 0) >= required, recalls.allSatisfy({ $0 >= required }) else {
                print("incidents below the required \(required)")
                throw ExitCode(1)
            }
        }
        if let require {
            for kind in [InjectedAnomaly.Kind.spike, .levelShift] {
                let x = score.byKind[kind] ?? DetectionScore.Figures()
                guard (x.precision ?? 0) >= require, (x.recall ?? 0) >= require else {
                    print("below the required \(require) for \(kind.rawValue)")
                    throw ExitCode(1)
                }
            }
        }
    }
}
