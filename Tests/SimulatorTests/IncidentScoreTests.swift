import Foundation
import PipelineCore
import Testing

@testable import SimulatorKit

@Suite struct IncidentScoreTests {
    /// Device a: seqs 0…199 acknowledged; with a minimum history of 10 its first ten are warm-up.
    @Test func episodesIncidentsAndFalseOnesAreCountedOnce() {
        let acked: [(deviceID: String, seq: Int64)] = (0..<200).map { ("a", Int64($0)) }
        func run(_ seqs: ClosedRange<Int64>, _ metric: String, _ kind: InjectedAnomaly.Kind) -> [InjectedAnomaly] {
            seqs.map { InjectedAnomaly(deviceID: "a", seq: $0, metric: metric, kind: kind) }
        }
        let injected =
            run(5...5, "heart_rate", .spike)  // warm-up: not scored
            + run(20...20, "heart_rate", .spike)  // found: opens at 20
            + run(40...40, "spo2", .spike)  // missed
            + run(60...89, "heart_rate", .levelShift)  // found: opens at 63 (delay 3)
            + run(95...99, "heart_rate", .levelShift)  // found: the incident of 60… is still extended into it
            + run(120...160, "spo2", .drift)  // found: opens at 150 (delay 30)
            + run(170...172, "spo2", .dropout)  // not a value anomaly: no episode
        let incidents = [
            IncidentScore.Opened(deviceID: "a", metric: "heart_rate", openedSeq: 20, lastSeq: 20),
            IncidentScore.Opened(deviceID: "a", metric: "heart_rate", openedSeq: 63, lastSeq: 97),
            IncidentScore.Opened(deviceID: "a", metric: "spo2", openedSeq: 150, lastSeq: 160),
            IncidentScore.Opened(deviceID: "a", metric: "spo2", openedSeq: 180, lastSeq: 181),  // false
            IncidentScore.Opened(deviceID: "a", metric: "spo2", openedSeq: 3, lastSeq: 3),  // warm-up: not counted
        ]
        let record = RunRecord(startedAt: Date(), injected: injected, acked: acked)
        let s = IncidentScore(record: record, incidents: incidents, minHistory: 10)
        #expect(s.byKind[.spike]?.episodes == 2 && s.byKind[.spike]?.found == 1)
        #expect(s.byKind[.spike]?.delays == [0])
        #expect(s.byKind[.levelShift]?.episodes == 2 && s.byKind[.levelShift]?.found == 2)
        #expect(s.byKind[.levelShift]?.delays == [3])
        #expect(s.byKind[.drift]?.episodes == 1 && s.byKind[.drift]?.delays == [30])
        #expect(s.byKind[.dropout] == nil)
        #expect(s.missed.map { "\($0.metric) \($0.first)…\($0.last)" } == ["spo2 40…40"], "the one missed episode")
        #expect(s.incidents == 4 && s.trueIncidents == 3 && s.falseIncidents == 1 && s.precision == 0.75)
        // Normal readings: 190 scored (200 less ten of warm-up) less the value anomalies among them
        // (1 + 1 + 30 + 5 + 41 = 78; two-metric readings count once each).
        #expect(s.normalReadings == 190 - 78)
        #expect(s.falsePerDeviceHour(interval: 10).map { abs($0 - 1 / (Double(190 - 78) * 10 / 3600)) < 1e-9 } == true)
        #expect(s.text(interval: 10).contains("precision 0.750"))
    }
}
