package import Foundation

/// A `--report` file read back: what `simulator score` judges detection with.
package struct RunRecord: Sendable {
    package var startedAt: Date
    package var injected: [InjectedAnomaly]
    package var acked: [(deviceID: String, seq: Int64)]

    package struct Unreadable: Error, CustomStringConvertible {
        package var description: String
    }

    package init(startedAt: Date, injected: [InjectedAnomaly], acked: [(deviceID: String, seq: Int64)]) {
        self.startedAt = startedAt
        self.injected = injected
        self.acked = acked
    }

    /// What `report` holds, without a round trip through its file.
    package init(_ report: SimulatorReport) {
        self.init(startedAt: report.startedAt, injected: report.injected, acked: report.ackedPairs.map { ($0.0, $0.1) })
    }

    /// Reads the report at `path`; acknowledged pairs come inline or from the CSV file it names
    /// (a relative name is taken beside the report).
    package init(reportAt path: String) throws {
        let url = URL(fileURLWithPath: path)
        guard let data = try? Data(contentsOf: url) else { throw Unreadable(description: "cannot read the report '\(path)'") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Unreadable(description: "'\(path)' is not a JSON object")
        }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let text = object["started_at"] as? String, let started = iso.date(from: text) ?? ISO8601DateFormatter().date(from: text)
        else {
            throw Unreadable(description: "the report has no started_at")
        }
        startedAt = started
        guard let anomalies = object["injected_anomalies"] as? [[String: Any]] else {
            throw Unreadable(description: "the report has no injected_anomalies")
        }
        injected = try anomalies.map { a in
            guard let device = a["device_id"] as? String, let seq = (a["seq"] as? NSNumber)?.int64Value,
                let metric = a["metric"] as? String, let kind = (a["kind"] as? String).flatMap(InjectedAnomaly.Kind.init)
            else { throw Unreadable(description: "an injected anomaly lacks device_id, seq, metric or a known kind") }
            return InjectedAnomaly(deviceID: device, seq: seq, metric: metric, kind: kind)
        }
        if let inline = object["acked_pairs"] as? [[Any]] {
            acked = try inline.map { pair in
                guard pair.count == 2, let device = pair[0] as? String, let seq = (pair[1] as? NSNumber)?.int64Value else {
                    throw Unreadable(description: "acked_pairs holds something other than [device_id, seq]")
                }
                return (device, seq)
            }
        } else if let file = object["acked_pairs_file"] as? String {
            let csvURL = file.hasPrefix("/") ? URL(fileURLWithPath: file) : url.deletingLastPathComponent().appendingPathComponent(file)
            guard let text = try? String(contentsOf: csvURL, encoding: .utf8) else {
                throw Unreadable(description: "cannot read the acknowledged pairs file '\(csvURL.path)'")
            }
            acked = try text.split(whereSeparator: \.isNewline).map { line in
                let parts = line.split(separator: ",")
                guard parts.count >= 2, let seq = Int64(parts[1]) else {
                    throw Unreadable(description: "bad line in '\(csvURL.path)': \(line.prefix(80))")
                }
                return (String(parts[0]), seq)
            }
        } else {
            throw Unreadable(description: "the report has neither acked_pairs nor acked_pairs_file")
        }
    }
}
