import Foundation
import Testing

@testable import PipelineCore

/// The incident logic on series whose right answer is known by construction.
@Suite struct IncidentTests {
    /// SplitMix64: the same numbers on every machine.
    struct Noise {
        var state: UInt64
        mutating func uniform() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        /// Cauchy-like heavy tails, clipped so a single draw cannot dwarf every record.
        mutating func heavy() -> Double { max(-30, min(30, tan(.pi * (uniform() - 0.5)) * 0.5)) }
    }

    static func run(_ values: [Double], rule: IncidentRule = .default) -> [SeriesDetection.Step] {
        var detection = SeriesDetection(anomalyRule: .default, incidentRule: rule)
        return values.enumerated().map { detection.next(seq: Int64($0.offset), ts: "t\($0.offset)", value: $0.element) }
    }

    static func opened(_ steps: [SeriesDetection.Step]) -> [Int64] { steps.compactMap { $0.opened?.openedSeq } }

    @Test func theRecordDoesNotDependOnTheOrderOfArrival() {
        var noise = Noise(state: 7)
        let items = (0..<2_000).map { (seq: Int64($0), value: noise.uniform() * 100) }
        var inOrder = IncidentRule.default.newRecord()
        var shuffled = IncidentRule.default.newRecord()
        for item in items { inOrder.add(seq: item.seq, value: item.value) }
        var rng = SystemRandomNumberGenerator()
        for item in items.shuffled(using: &rng) { shuffled.add(seq: item.seq, value: item.value) }
        for seq in stride(from: Int64(0), through: 2_100, by: 37) {
            #expect(inOrder.extremes(before: seq) == shuffled.extremes(before: seq))
            // Against brute force: the values of the whole blocks before seq's own, at most 30 of them.
            let block = seq / 100
            let covered = items.filter { $0.seq / 100 < block && $0.seq / 100 >= block - 30 }.map(\.value)
            let expected = covered.isEmpty ? nil : SeriesRecord.Extremes(low: covered.min()!, high: covered.max()!)
            #expect(inOrder.extremes(before: seq) == expected, "seq \(seq)")
        }
        #expect(inOrder.extremes.count <= 31)
    }

    @Test func aLevelShiftIsOneIncidentAndTheNewLevelBecomesNormal() {
        var noise = Noise(state: 1)
        let values = (0..<1_500).map { i in (i < 1_000 ? 50 : 80) + noise.uniform() * 4 }
        let steps = Self.run(values)
        #expect(Self.opened(steps) == [1_000])
        // Re-baselined: the new level is in the record at once; only its new highs count while the
        // window is still mostly the old level, and none once the window has followed.
        let evidence = steps.indices.filter { steps[$0].evidence != nil }
        #expect(evidence.first == 1_000 && evidence.last.map { $0 < 1_110 } == true, "\(evidence)")
        // The per-reading rule keeps flagging the new level until its window follows.
        #expect(steps[1_000..<1_090].filter { $0.verdict?.isAnomaly == true }.count > 80)
        let closed = steps.enumerated().compactMap { i, s in s.changes.contains { if case .closed = $0 { true } else { false } } ? i : nil }
        #expect(closed.count == 1)
        #expect(closed.first == evidence.last.map { $0 + 201 }, "\(closed)")
        let reason = steps[1_000].opened?.reason ?? ""
        #expect(reason.contains("above the highest"), "\(reason)")
    }

    @Test func heavyTailedNoiseFlagsManyReadingsButOpensFewIncidents() {
        var noise = Noise(state: 3)
        let values = (0..<12_000).map { _ in 100 + noise.heavy() }
        let steps = Self.run(values)
        let flagged = steps.filter { $0.verdict?.isAnomaly == true }.count
        let incidents = Self.opened(steps).filter { $0 >= 3_000 }.count
        // The rule flags about a tenth of such readings; the record only records broken by a value far
        // from its window, which a stationary series breaks less and less often.
        #expect(flagged > 1_000, "\(flagged)")
        #expect(incidents <= 10, "\(incidents)")
    }

    @Test func quantisedValuesWithACollapsedMADOpenOnlyOnARealDrop() {
        var noise = Noise(state: 5)
        // Integer SpO2: mostly 97, now and then 96 or 98 (the MAD is 0 and its substitute small), then a drop to 88.
        var values = (0..<4_000).map { _ -> Double in
            let u = noise.uniform()
            return u < 0.03 ? 96 : u > 0.97 ? 98 : 97
        }
        for i in 3_500..<3_520 { values[i] = 88 }
        let steps = Self.run(values)
        #expect(steps[400..<3_500].filter { $0.verdict?.isAnomaly == true }.count > 150)
        #expect(Self.opened(steps).filter { $0 >= 300 } == [3_500])
    }

    @Test func aSpikeThatRecursEveryDayOpensOnlyTheFirstTime() {
        var noise = Noise(state: 9)
        // Readings every 5 minutes, a nightly job at the same height: 288 readings a day.
        let values = (0..<2_880).map { i in i % 288 == 100 ? 60 : 10 + noise.uniform() }
        #expect(Self.opened(Self.run(values)) == [100])
    }

    @Test func aShiftInsideTheRangeOfEarlierSpikesOpensThroughTheShortMean() {
        var noise = Noise(state: 11)
        // A base around 10 with a spike to 100 every 50 readings; at 3,000 the base moves to 40,
        // still below every spike, so no single reading breaks the record.
        let values = (0..<3_400).map { i -> Double in
            i % 50 == 25 ? 100 : (i < 3_000 ? 10 : 40) + noise.uniform() * 2
        }
        let steps = Self.run(values)
        let opened = steps.compactMap(\.opened).filter { $0.openedSeq >= 300 }
        #expect(opened.count == 1, "\(opened.map(\.openedSeq))")
        if let incident = opened.first {
            #expect(incident.openedSeq > 3_000 && incident.openedSeq < 3_012, "\(incident.openedSeq)")
            #expect(incident.reason.contains("short mean"), "\(incident.reason)")
        }
    }

    @Test func theTrackerExtendsOneEpisodeAndClosesItAfterTheQuietGap() {
        var tracker = IncidentTracker(rule: IncidentRule(closeAfter: 10))
        let hot = IncidentEvidence(direction: .high, score: 6, value: 9, median: 1, record: 5)
        let hotter = IncidentEvidence(direction: .high, score: 9, value: 12, median: 1, record: 9)
        #expect(tracker.observe(seq: 1, ts: "a", isAnomaly: true, evidence: nil).isEmpty)
        guard case .opened(let first) = tracker.observe(seq: 2, ts: "b", isAnomaly: true, evidence: hot).first else {
            Issue.record("no incident opened")
            return
        }
        #expect(first.openedSeq == 2 && first.anomalies == 1 && first.peakScore == 6)
        _ = tracker.observe(seq: 5, ts: "c", isAnomaly: true, evidence: nil)
        _ = tracker.observe(seq: 8, ts: "d", isAnomaly: true, evidence: hotter)
        #expect(tracker.open?.lastSeq == 8 && tracker.open?.anomalies == 3 && tracker.open?.peakValue == 12)
        #expect(tracker.observe(seq: 18, ts: "e", isAnomaly: false, evidence: nil).isEmpty)
        let changes = tracker.observe(seq: 19, ts: "f", isAnomaly: false, evidence: hot)
        #expect(changes.count == 2)
        if case .closed(let closed) = changes.first { #expect(closed.openedSeq == 2 && closed.lastSeq == 8) }
        if case .opened(let next) = changes.last { #expect(next.openedSeq == 19) }
    }
}
