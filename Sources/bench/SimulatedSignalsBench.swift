import Foundation
import PipelineCore
import SimulatorKit

/// Scores incidents on the simulator's realistic signals without the stack: the demo's
/// devices (`DeviceModel`, same seeds) through the analyzer's own detection
/// (`SeriesDetection`), each device first sending `warmup` readings that are not scored,
/// so that every scored reading has a settled record behind it, then `scored` readings.
/// It says why each missed spike and level shift was missed, which a demo run cannot.
enum SimulatedSignalsBench {
    /// Why an episode opened no incident, judged on its readings.
    enum Cause: String, CaseIterable {
        /// A reading was far from its window and beyond every normal value of the record
        /// span, but an earlier injected episode had gone farther: "not news" to the record.
        case maskedByEpisode = "masked by an earlier episode"
        /// Far from its window, but not beyond what the series' normal readings already reached (or another reason).
        case insideNormalRange = "inside the normal range"
        /// No reading was far enough from its window.
        case notFar = "not far from its window"
    }

    struct Figures {
        var score: IncidentScore
        var missed: [InjectedAnomaly.Kind: [Cause: Int]] = [:]
    }

    static func run(devices: Int, warmup: Int, scored: Int, anomalyRate: Double, seed: UInt64) -> Figures {
        let anomalyRule = AnomalyRule.default
        let incidentRule = IncidentRule.default
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var injected: [InjectedAnomaly] = []
        var acked: [(deviceID: String, seq: Int64)] = []
        var opened: [IncidentScore.Opened] = []
        /// Per series: values, whether injected and the rule's score, by seq.
        var series: [String: [Int64: (value: Double, injected: Bool, score: Double)]] = [:]
        // The demo's fleet, reading for reading.
        let fleet = SimulatorConfiguration(
            devices: devices, targets: [], anomalyRate: anomalyRate, signals: .realistic, seed: seed, seqStart: 1)
        for index in 0..<devices {
            var model = fleet.model(index)
            let id = model.deviceID
            var detections = DeviceModel.metricNames.map { _ in SeriesDetection(anomalyRule: anomalyRule, incidentRule: incidentRule) }
            var openIndex: [Int?] = DeviceModel.metricNames.map { _ in nil }
            for i in 0..<(warmup + scored) {
                let (reading, marks) = model.next(at: start.addingTimeInterval(Double(i) * 10))
                injected += marks
                acked.append((id, reading.seq))
                for (m, name) in DeviceModel.metricNames.enumerated() {
                    guard let value = reading.metrics[name] else { continue }
                    let step = detections[m].next(seq: reading.seq, ts: reading.ts, value: value)
                    if let o = step.opened {
                        opened.append(.init(deviceID: id, metric: name, openedSeq: o.openedSeq, lastSeq: o.lastSeq))
                        openIndex[m] = opened.count - 1
                    } else if let o = detections[m].tracker.open, let at = openIndex[m] {
                        opened[at].lastSeq = o.lastSeq
                    }
                    series["\(id) \(name)", default: [:]][reading.seq] = (
                        value, marks.contains { $0.metric == name }, step.verdict?.score ?? 0
                    )
                }
            }
        }
        var f = Figures(
            score: IncidentScore(
                record: RunRecord(startedAt: start, injected: injected, acked: acked), incidents: opened, minHistory: warmup))
        for e in f.score.missed {
            let s = series["\(e.deviceID) \(e.metric)"] ?? [:]
            var cause = Cause.notFar
            for seq in e.first...e.last {
                guard let r = s[seq], abs(r.score) > incidentRule.minScore else { continue }
                // The record span before it, normal readings apart from the injected ones.
                let before = (seq - incidentRule.recordSpan)..<seq
                let all = before.compactMap { s[$0]?.value }
                let normal = before.compactMap { s[$0].flatMap { $0.injected ? nil : $0.value } }
                let high = r.score > 0
                func beyond(_ xs: [Double]) -> Bool { high ? r.value > (xs.max() ?? -.infinity) : r.value < (xs.min() ?? .infinity) }
                if beyond(normal) && !beyond(all) {
                    cause = .maskedByEpisode
                    break
                }
                cause = .insideNormalRange
            }
            f.missed[e.kind, default: [:]][cause, default: 0] += 1
        }
        return f
    }
}
