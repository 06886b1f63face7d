/// The incident state of one series: at most one open incident, advanced one
/// judged reading at a time. Pure, so that the analyzer (which keeps the open
/// incident in the database) and `pipeline detect` (which keeps it in memory)
/// open the same incidents on the same series.
package struct IncidentTracker: Sendable, Equatable {
    package enum Change: Sendable, Equatable {
        case opened(Incident)
        case updated(Incident)
        case closed(Incident)
    }

    package let rule: IncidentRule
    package private(set) var open: Incident?

    package init(rule: IncidentRule, open: Incident? = nil) {
        self.rule = rule
        self.open = open
    }

    /// Takes one reading in: closes the open incident when `closeAfter` seqs passed
    /// since its last evidence, extends it (or opens one) on evidence, and counts
    /// the per-reading rule's anomalies of an open episode.
    package mutating func observe(seq: Int64, ts: String, isAnomaly: Bool, evidence: IncidentEvidence?) -> [Change] {
        var changes: [Change] = []
        if let current = open, seq > current.lastSeq + rule.closeAfter {
            changes.append(.closed(current))
            open = nil
        }
        if var current = open {
            guard evidence != nil || isAnomaly else { return changes }
            current.absorb(seq: seq, isAnomaly: isAnomaly, evidence: evidence)
            open = current
            changes.append(.updated(current))
        } else if let evidence {
            let incident = Incident(opening: seq, ts: ts, isAnomaly: isAnomaly, evidence: evidence)
            open = incident
            changes.append(.opened(incident))
        }
        return changes
    }
}
