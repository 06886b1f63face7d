import Foundation
import PipelineCore
import SimulatorKit

extension Bench {
    /// NAB scores of incidents and of the rule, and incidents on the simulator's realistic signals.
    static func detection(_ report: inout BenchReport, _ context: BenchContext) throws {
        let simulatedAnomalyRate = context.simulatedAnomalyRate
        let directory = env("BENCH_NAB_DIR") ?? "../shared/datasets/nab-dev"
        let f = try DetectionBench.run(directory: directory)
        let names = ["standard", "low_fp", "low_fn"]
        for (i, name) in names.enumerated() {
            report.results["detection_nab_\(name)"] = round2(f.incidents["ALL"]![i].normalised)
            report.results["detection_rule_nab_\(name)"] = round2(f.rule["ALL"]![i].normalised)
        }
        report.results["detection_incident_share"] = Double(f.opened) / Double(f.readings)
        report.results["detection_us_per_reading"] = round2(1e6 * f.detectionSeconds / Double(f.readings))
        report.results["detection_rule_us_per_reading"] = round2(1e6 * f.ruleSeconds / Double(f.readings))
        report.table.append((
            "detection: NAB score of incidents, standard / low FP / low FN (\(f.series) series, \(f.windows) windows)",
            ""
        ))
        for (category, scores) in f.incidents.sorted(by: { $0.key < $1.key }) {
            let rule = f.rule[category]!
            guard scores[0].perfect != scores[0].null else {
                report.table.append(("  \(category)", "no windows: \(f.openedIn[category] ?? 0) incidents, all false"))
                continue
            }
            report.table.append((
                "  \(category)",
                String(
                    format: "%.1f / %.1f / %.1f   (rule on every flagged reading: %.1f / %.1f / %.1f)",
                    scores[0].normalised, scores[1].normalised, scores[2].normalised,
                    rule[0].normalised, rule[1].normalised, rule[2].normalised)
            ))
        }
        report.table.append((
            "  readings opening an incident / flagged by the rule",
            String(
                format: "%d of %d (%.3f %%) / %d (%.2f %%)", f.opened, f.readings, 100 * Double(f.opened) / Double(f.readings),
                f.flagged, 100 * Double(f.flagged) / Double(f.readings))
        ))
        report.table.append((
            "  detection CPU per reading: rule and incidents / rule alone",
            String(
                format: "%.2f / %.2f µs", 1e6 * f.detectionSeconds / Double(f.readings), 1e6 * f.ruleSeconds / Double(f.readings))
        ))
        // The demo's realistic signals, scored after a settled record (see SimulatedSignalsBench).
        let warmup = Int(IncidentRule.default.recordSpan + IncidentRule.default.recordBlock)
        let rate = simulatedAnomalyRate
        guard (0...1).contains(rate) else {
            throw BenchError("BENCH_SIM_RATE must be a probability")
        }
        let sim = SimulatedSignalsBench.run(devices: 100, warmup: warmup, scored: 2000, anomalyRate: rate, seed: 1)
        let score = sim.score
        report.table.append((
            "detection on the simulator's realistic signals (100 devices, anomaly rate \(rate), \(warmup) readings unscored, then 2,000)",
            ""
        ))
        for kind in InjectedAnomaly.Kind.allCases where kind.isValueAnomaly {
            guard let k = score.byKind[kind] else { continue }
            let causes = SimulatedSignalsBench.Cause.allCases.compactMap { c in
                sim.missed[kind]?[c].map { "\($0) \(c.rawValue)" }
            }
            report.results["detection_sim_recall_\(kind.rawValue)"] = round2(k.recall ?? 0)
            report.table.append((
                "  \(kind.rawValue) recall",
                String(format: "%.3f (%d of %d)", k.recall ?? 0, k.found, k.episodes)
                    + (causes.isEmpty ? "" : "; missed: " + causes.joined(separator: ", "))
            ))
        }
        report.results["detection_sim_precision"] = round2(score.precision ?? 0)
        report.results["detection_sim_false_per_device_hour"] = round2(score.falsePerDeviceHour(interval: 10) ?? 0)
        report.table.append((
            "  incident precision, false incidents per device-hour",
            String(
                format: "%.3f (%d of %d), %.2f", score.precision ?? 0, score.trueIncidents, score.incidents,
                score.falsePerDeviceHour(interval: 10) ?? 0)
        ))
    }
}
