import Foundation
import PipelineCore

/// Scores the analyzer's incidents on labelled real series (NAB's, in
/// `../shared/datasets/nab-dev`) with NAB's scoring, per category and overall,
/// beside the contract's per-reading rule alerting on every reading it flags,
/// and times both.
enum DetectionBench {
    struct Figures {
        /// Category ("ALL" for every series) → the incidents' summed score per profile.
        var incidents: [String: [NABScore]] = [:]
        /// The same for the per-reading rule.
        var rule: [String: [NABScore]] = [:]
        var readings = 0
        var series = 0
        var windows = 0
        var opened = 0
        /// Category → incidents opened (the only figure for series without windows, whose score is 0 whatever happens).
        var openedIn: [String: Int] = [:]
        var flagged = 0
        var detectionSeconds = 0.0
        var ruleSeconds = 0.0
    }

    static func run(directory: String) throws -> Figures {
        let windowsURL = URL(fileURLWithPath: directory).appendingPathComponent("windows.json")
        guard let labelled = try JSONSerialization.jsonObject(with: Data(contentsOf: windowsURL)) as? [String: [[String]]] else {
            throw BenchError("\(windowsURL.path): not a map of series to windows")
        }
        var f = Figures()
        let profiles = NABScore.Profile.all
        for name in labelled.keys.sorted() {
            let path = URL(fileURLWithPath: directory).appendingPathComponent("data").appendingPathComponent(name).path
            let rows = try SeriesCSV.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
            // Windows are inclusive timestamp ranges; NAB's timestamps sort as text.
            let stamps = rows.map { String($0.timestamp.prefix(19)) }
            let windows: [ClosedRange<Int>] = try labelled[name]!.map { w in
                guard w.count == 2, let lo = stamps.firstIndex(where: { $0 >= String(w[0].prefix(19)) }),
                    let hi = stamps.lastIndex(where: { $0 <= String(w[1].prefix(19)) }), lo <= hi
                else { throw BenchError("\(name): window \(w) matches no rows") }
                return lo...hi
            }

            var detection = SeriesDetection(anomalyRule: .default, incidentRule: .default)
            var opened: [Int] = []
            var flagged: [Int] = []
            let start = Date()
            for (i, row) in rows.enumerated() {
                let step = detection.next(seq: Int64(i), ts: row.timestamp, value: row.value)
                if step.opened != nil { opened.append(i) }
                if step.verdict?.isAnomaly == true { flagged.append(i) }
            }
            f.detectionSeconds += Date().timeIntervalSince(start)

            // Today's cost: the per-reading rule alone over the same windows.
            let ruleStart = Date()
            var window: [Double] = []
            var count = 0
            for row in rows {
                if AnomalyRule.default.evaluate(row.value, window: Array(window.reversed()))?.isAnomaly == true { count += 1 }
                window.append(row.value)
                if window.count > AnomalyRule.default.windowSize { window.removeFirst() }
            }
            f.ruleSeconds += Date().timeIntervalSince(ruleStart)
            precondition(count == flagged.count)

            let category = String(name.split(separator: "/").first ?? "")
            for key in [category, "ALL"] {
                let incidentScores = profiles.map { NABScore(alerts: opened, windows: windows, count: rows.count, profile: $0) }
                let ruleScores = profiles.map { NABScore(alerts: flagged, windows: windows, count: rows.count, profile: $0) }
                f.incidents[key] = zip(f.incidents[key] ?? profiles.map { _ in .zero }, incidentScores).map { $0 + $1 }
                f.rule[key] = zip(f.rule[key] ?? profiles.map { _ in .zero }, ruleScores).map { $0 + $1 }
            }
            f.readings += rows.count
            f.series += 1
            f.windows += windows.count
            f.opened += opened.count
            f.openedIn[category, default: 0] += opened.count
            f.flagged += flagged.count
        }
        return f
    }
}
