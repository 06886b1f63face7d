import Testing

@testable import PipelineCore

/// The analyzer's incident logic for one batch: in order it is the tracker's, late
/// readings join the episode whose span they fall in.
@Suite struct IncidentLedgerTests {
    static let rule = IncidentRule(closeAfter: 10)

    static func evidence(_ value: Double, score: Double = 5) -> IncidentEvidence {
        IncidentEvidence(direction: .high, score: score, value: value, median: 50, record: 60)
    }

    @Test func inOrderItOpensWhatTheTrackerOpens() {
        let marked: [Int64: Double] = [5: 70, 7: 90, 9: 71, 40: 80, 41: 85]
        var ledger = IncidentLedger(rule: Self.rule, entries: [], newestSeq: nil)
        var tracker = IncidentTracker(rule: Self.rule)
        var tracked: [Int64: (Incident, Bool)] = [:]
        for seq in Int64(0)..<60 {
            let e = marked[seq].map { Self.evidence($0, score: $0 / 10) }
            ledger.observe(seq: seq, ts: "t\(seq)", isAnomaly: e != nil, evidence: e)
            for change in tracker.observe(seq: seq, ts: "t\(seq)", isAnomaly: e != nil, evidence: e) {
                switch change {
                case .opened(let i), .updated(let i): tracked[i.openedSeq] = (i, true)
                case .closed(let i): tracked[i.openedSeq] = (i, false)
                }
            }
        }
        #expect(ledger.entries.map(\.incident) == tracked.keys.sorted().map { tracked[$0]!.0 })
        #expect(ledger.entries.map(\.isOpen) == [false, false])
        #expect(ledger.entries.map(\.incident.lastSeq) == [9, 41])
        #expect(ledger.entries[0].incident.peakValue == 90 && ledger.entries[0].incident.anomalies == 3)
        #expect(ledger.opened == 2 && ledger.closed == 2)
    }

    @Test func aLateReadingJoinsTheEpisodeItFallsIn() {
        // Stored: an episode 20...25, closed; another open since 50; the newest seq is 55.
        let closed = Incident(openedSeq: 20, openedTs: "t20", lastSeq: 25, anomalies: 2, peakScore: 5, peakValue: 70, reason: "r")
        let open = Incident(openedSeq: 50, openedTs: "t50", lastSeq: 52, anomalies: 1, peakScore: 5, peakValue: 75, reason: "r")
        var ledger = IncidentLedger(
            rule: Self.rule, entries: [.init(incident: open, isOpen: true), .init(incident: closed, isOpen: false)], newestSeq: 55)
        #expect(ledger.entries.map(\.incident.openedSeq) == [20, 50])
        // 33 is within 10 of the first episode's last evidence: it extends that one, even closed.
        ledger.observe(seq: 33, ts: "t33", isAnomaly: true, evidence: Self.evidence(95, score: 9))
        // 12 precedes the first opening by less than 10: the same episode, whose opening seq stays.
        ledger.observe(seq: 12, ts: "t12", isAnomaly: false, evidence: Self.evidence(71))
        // A normal late reading changes nothing; an anomaly alone does not open an incident.
        ledger.observe(seq: 3, ts: "t3", isAnomaly: false, evidence: nil)
        ledger.observe(seq: 1, ts: "t1", isAnomaly: true, evidence: nil)
        #expect(ledger.entries.count == 2 && ledger.opened == 0 && ledger.closed == 0)
        let first = ledger.entries[0]
        #expect(first.changed && !first.isOpen)
        #expect(first.incident.openedSeq == 20 && first.incident.lastSeq == 33 && first.incident.anomalies == 3)
        #expect(first.incident.peakValue == 95 && first.incident.peakScore == 9)
        #expect(!ledger.entries[1].changed && ledger.open == open)
    }

    @Test func lateEvidenceOutsideEveryEpisodeOpensOneClosedUnlessItIsRecent() {
        let open = Incident(openedSeq: 80, openedTs: "t80", lastSeq: 80, anomalies: 0, peakScore: 5, peakValue: 75, reason: "r")
        var ledger = IncidentLedger(rule: Self.rule, entries: [.init(incident: open, isOpen: true)], newestSeq: 85)
        // 40 is far from the open episode, and the series went on well beyond it: a past episode.
        ledger.observe(seq: 40, ts: "t40", isAnomaly: true, evidence: Self.evidence(99))
        #expect(ledger.entries.map(\.incident.openedSeq) == [40, 80])
        #expect(ledger.entries[0].isOpen == false && ledger.entries[0].changed)
        #expect(ledger.opened == 1 && ledger.closed == 1)
        #expect(ledger.open == open)

        // With no open incident, late evidence within closeAfter of the newest seq is open.
        var quiet = IncidentLedger(rule: Self.rule, entries: [], newestSeq: 85)
        quiet.observe(seq: 79, ts: "t79", isAnomaly: false, evidence: Self.evidence(99))
        #expect(quiet.open?.openedSeq == 79)
        // The next in-order reading far enough on closes it, as the tracker would.
        quiet.observe(seq: 90, ts: "t90", isAnomaly: false, evidence: nil)
        #expect(quiet.open == nil && quiet.closed == 1)
    }
}

extension IncidentLedgerTests {
    @Test func aHistoryWithMoreThanOneInTenSeqsMissingIsIncomplete() {
        #expect(IncidentRule.historyIsComplete(seq: 5, oldest: nil, count: 0))
        #expect(IncidentRule.historyIsComplete(seq: 200, oldest: 0, count: 200))
        // 200 seqs spanned, 20 missing: complete; 21 missing: not.
        #expect(IncidentRule.historyIsComplete(seq: 220, oldest: 0, count: 200))
        #expect(!IncidentRule.historyIsComplete(seq: 221, oldest: 0, count: 200))
        // Every other reading missing (another analyzer holds them).
        #expect(!IncidentRule.historyIsComplete(seq: 400, oldest: 0, count: 200))
    }
}
