/// The analyzer's detection run over one series held in memory, in seq order:
/// the per-reading rule, the incident evidence and the incident tracker, composed
/// exactly as the analyzer composes them. `pipeline detect` and the detection
/// benchmark use it.
package struct SeriesDetection: Sendable {
    /// The outcome for one reading.
    package struct Step: Sendable, Equatable {
        package var verdict: Verdict?
        package var evidence: IncidentEvidence?
        package var changes: [IncidentTracker.Change]

        /// The incident this reading opened, if any.
        package var opened: Incident? {
            for case .opened(let incident) in changes { return incident }
            return nil
        }
    }

    package let anomalyRule: AnomalyRule
    package private(set) var tracker: IncidentTracker
    private var record: SeriesRecord
    /// The newest values, oldest first, at most the anomaly window.
    private var window: [Double] = []

    package init(anomalyRule: AnomalyRule, incidentRule: IncidentRule) {
        precondition(anomalyRule.windowSize >= incidentRule.smallestWindow, "the window must cover a block and the means ending in it")
        self.anomalyRule = anomalyRule
        self.tracker = IncidentTracker(rule: incidentRule)
        self.record = incidentRule.newRecord()
    }

    /// Judges the next reading; seqs must increase.
    package mutating func next(seq: Int64, ts: String, value: Double) -> Step {
        let newestFirst = Array(window.reversed())
        let verdict = anomalyRule.evaluate(value, window: newestFirst)
        let rule = tracker.rule
        let mean = rule.mean(value: value, window: newestFirst)
        let evidence = rule.evidence(value: value, seq: seq, verdict: verdict, window: newestFirst, mean: mean, record: record)
        let changes = tracker.observe(seq: seq, ts: ts, isAnomaly: verdict?.isAnomaly ?? false, evidence: evidence)
        record.add(seq: seq, value: value, mean: mean)
        window.append(value)
        if window.count > anomalyRule.windowSize { window.removeFirst(window.count - anomalyRule.windowSize) }
        return Step(verdict: verdict, evidence: evidence, changes: changes)
    }
}
