import Foundation
import Testing

@testable import SimulatorKit

@Suite struct DetectionScoreTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_600_000)

    static func flag(_ device: String, _ seq: Int64, _ metric: String, delay: Double = 1) -> DetectionScore.Flagged {
        DetectionScore.Flagged(
            deviceID: device, seq: seq, metric: metric, ts: t0.addingTimeInterval(Double(seq)),
            detectedAt: t0.addingTimeInterval(Double(seq) + delay))
    }

    /// Device a: seqs 1…40 acknowledged (41 failed); with a minimum history of 5 the first
    /// five readings of each metric are warm-up. Dropouts of spo2 at 10…12 delay spo2's count.
    @Test func countsEveryCaseOnce() {
        var acked: [(deviceID: String, seq: Int64)] = (1...40).map { ("a", Int64($0)) }
        acked.append(("b", 1))
        let injected = [
            InjectedAnomaly(deviceID: "a", seq: 3, metric: "heart_rate", kind: .spike),  // warm-up: not scored
            InjectedAnomaly(deviceID: "a", seq: 20, metric: "heart_rate", kind: .spike),  // detected
            InjectedAnomaly(deviceID: "a", seq: 21, metric: "spo2", kind: .spike),  // missed
            InjectedAnomaly(deviceID: "a", seq: 30, metric: "heart_rate", kind: .levelShift),  // detected
            InjectedAnomaly(deviceID: "a", seq: 31, metric: "heart_rate", kind: .levelShift),  // detected
            InjectedAnomaly(deviceID: "a", seq: 41, metric: "heart_rate", kind: .spike),  // not acknowledged: ignored
            InjectedAnomaly(deviceID: "a", seq: 10, metric: "spo2", kind: .dropout),
            InjectedAnomaly(deviceID: "a", seq: 11, metric: "spo2", kind: .dropout),
            InjectedAnomaly(deviceID: "a", seq: 12, metric: "spo2", kind: .dropout),
        ]
        let flagged = [
            Self.flag("a", 20, "heart_rate", delay: 2), Self.flag("a", 30, "heart_rate", delay: 4),
            Self.flag("a", 31, "heart_rate", delay: 3),
            Self.flag("a", 25, "spo2"),  // false alarm
            Self.flag("a", 7, "spo2"),  // spo2 has 6 earlier readings: judged, a false alarm
            Self.flag("a", 4, "heart_rate"),  // warm-up: not judged
            Self.flag("a", 41, "heart_rate"),  // not acknowledged: not judged
            Self.flag("b", 1, "spo2"),  // warm-up of b
        ]
        let record = RunRecord(startedAt: Self.t0, injected: injected, acked: acked)
        let s = DetectionScore(record: record, flagged: flagged, minHistory: 5)
        #expect(s.byKind[.spike]?.injected == 2)
        #expect(s.byKind[.spike]?.detected == 1)
        #expect(s.byKind[.levelShift]?.injected == 2)
        #expect(s.byKind[.levelShift]?.detected == 2)
        #expect(s.falseAlarms == 2)
        #expect(s.notScored == 1)
        #expect(s.flaggedNotJudged == 3)
        #expect(s.dropoutReadings == 3)
        #expect(s.flaggedOnDropouts == 0)
        #expect(s.overall.injected == 4 && s.overall.detected == 3)
        #expect(s.overall.precision == 3.0 / 5.0)
        #expect(s.byKind[.levelShift]?.precision == 2.0 / 4.0)
        #expect(s.byKind[.spike]?.recall == 0.5)
        #expect(s.delaysMs.map { $0.rounded() } == [2000, 3000, 4000])
        #expect(s.delayPercentile(0.5)?.rounded() == 3000)
    }

    /// A dropout reading's metric is missing; a flag on it means the pipeline made one up.
    @Test func aFlagOnADropoutIsAFalseAlarm() {
        let acked: [(deviceID: String, seq: Int64)] = (1...10).map { ("a", Int64($0)) }
        let record = RunRecord(
            startedAt: Self.t0, injected: [InjectedAnomaly(deviceID: "a", seq: 8, metric: "spo2", kind: .dropout)], acked: acked)
        let s = DetectionScore(record: record, flagged: [Self.flag("a", 8, "spo2")], minHistory: 2)
        #expect(s.flaggedOnDropouts == 1)
        #expect(s.falseAlarms == 1)
    }

    @Test func aReportRoundTripsThroughTheFileFormat() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("score-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = """
            {"started_at":"2026-11-25T08:00:00.250Z","acked_pairs_file":"acked.csv",
             "injected_anomalies":[{"device_id":"a","seq":3,"metric":"spo2","kind":"level_shift"}]}
            """
        try Data(report.utf8).write(to: dir.appendingPathComponent("report.json"))
        try Data("a,1\na,2\na,3\n".utf8).write(to: dir.appendingPathComponent("acked.csv"))
        let record = try RunRecord(reportAt: dir.appendingPathComponent("report.json").path)
        #expect(record.acked.map(\.seq) == [1, 2, 3])
        #expect(record.injected == [InjectedAnomaly(deviceID: "a", seq: 3, metric: "spo2", kind: .levelShift)])
        #expect(abs(record.startedAt.timeIntervalSince1970 - 1_795_593_600.25) < 0.001)

        try Data(#"{"started_at":"2026-11-25T08:00:00Z","injected_anomalies":[{"device_id":"a","seq":3,"metric":"x","kind":"wobble"}],"acked_pairs":[]}"#.utf8)
            .write(to: dir.appendingPathComponent("bad.json"))
        #expect(throws: RunRecord.Unreadable.self) { try RunRecord(reportAt: dir.appendingPathComponent("bad.json").path) }
    }
}
