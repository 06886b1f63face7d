/// The incidents of one series that one batch of its readings can touch, advanced
/// one reading at a time: the analyzer's incident logic, pure.
///
/// A reading above every seq seen of the series goes through the `IncidentTracker`
/// exactly as `pipeline detect` feeds it, so in order the two open the same
/// incidents. A late reading (below a seq already seen) is judged with its own
/// history and joins the incident whose span it falls in (from `closeAfter` before
/// its opening to `closeAfter` after its last evidence), so one episode still gets
/// one incident; evidence outside every span opens an incident of its own, already
/// closed when the series went `closeAfter` seqs beyond it. An incident is a page
/// that went out: a later reading never takes one back.
package struct IncidentLedger: Sendable, Equatable {
    /// One incident and what the batch did to it.
    package struct Entry: Sendable, Equatable {
        package var incident: Incident
        package var isOpen: Bool
        /// Whether this batch opened, extended or closed it (it must be stored).
        package var changed: Bool

        package init(incident: Incident, isOpen: Bool, changed: Bool = false) {
            self.incident = incident
            self.isOpen = isOpen
            self.changed = changed
        }
    }

    package let rule: IncidentRule
    /// Oldest opening first; only the last can be open.
    package private(set) var entries: [Entry]
    /// The highest seq seen of the series (stored before the batch, or judged in it).
    package private(set) var newestSeq: Int64?
    /// Incidents this batch opened, and closed.
    package private(set) var opened = 0
    package private(set) var closed = 0

    /// `entries`: the series' newest incident, and those near the batch's late readings.
    package init(rule: IncidentRule, entries: [Entry], newestSeq: Int64?) {
        self.rule = rule
        var unique: [Int64: Entry] = [:]
        for e in entries { unique[e.incident.openedSeq] = e }
        self.entries = unique.values.sorted { $0.incident.openedSeq < $1.incident.openedSeq }
        self.newestSeq = newestSeq
    }

    /// The open incident, if any.
    package var open: Incident? { entries.last.flatMap { $0.isOpen ? $0.incident : nil } }

    package mutating func observe(seq: Int64, ts: String, isAnomaly: Bool, evidence: IncidentEvidence?) {
        if let newest = newestSeq, seq <= newest {
            late(seq: seq, ts: ts, isAnomaly: isAnomaly, evidence: evidence, newest: newest)
            return
        }
        newestSeq = seq
        var tracker = IncidentTracker(rule: rule, open: open)
        for change in tracker.observe(seq: seq, ts: ts, isAnomaly: isAnomaly, evidence: evidence) {
            switch change {
            case .opened(let incident):
                entries.append(Entry(incident: incident, isOpen: true, changed: true))
                opened += 1
            case .updated(let incident):
                entries[entries.count - 1] = Entry(incident: incident, isOpen: true, changed: true)
            case .closed(let incident):
                entries[entries.count - 1] = Entry(incident: incident, isOpen: false, changed: true)
                closed += 1
            }
        }
    }

    private mutating func late(seq: Int64, ts: String, isAnomaly: Bool, evidence: IncidentEvidence?, newest: Int64) {
        guard evidence != nil || isAnomaly else { return }
        if let i = entries.lastIndex(where: {
            $0.incident.openedSeq - rule.closeAfter <= seq && seq <= $0.incident.lastSeq + rule.closeAfter
        }) {
            var e = entries[i]
            e.incident.absorb(seq: seq, isAnomaly: isAnomaly, evidence: evidence)
            e.changed = true
            entries[i] = e
            return
        }
        guard let evidence else { return }
        let incident = Incident(opening: seq, ts: ts, isAnomaly: isAnomaly, evidence: evidence)
        let at = entries.firstIndex { $0.incident.openedSeq > seq } ?? entries.endIndex
        let isOpen = at == entries.endIndex && newest <= seq + rule.closeAfter
        if isOpen, let last = entries.indices.last, entries[last].isOpen {
            // Its span ended before this reading (the device's newest seq was of another metric).
            entries[last].isOpen = false
            entries[last].changed = true
            closed += 1
        }
        entries.insert(Entry(incident: incident, isOpen: isOpen, changed: true), at: at)
        opened += 1
        if !isOpen { closed += 1 }
    }
}
