import Foundation

/// How well the pipeline's incidents match the episodes the simulator injected.
///
/// An episode is a run of consecutive injected readings of one device's metric and
/// one kind (a spike is one reading). It is found when an incident of that series
/// reached into it: opened at or before the episode's last reading, with evidence at
/// or after its first (an episode that comes while the incident of an earlier one is
/// still open is rightly not paged twice). An incident is true when it opened inside
/// an episode, false otherwise. Only episodes and incidents on readings with at least
/// `minHistory` earlier acknowledged readings of the device count.
package struct IncidentScore: Sendable {
    /// An incident as the alerts API serves it.
    package struct Opened: Sendable {
        package var deviceID: String
        package var metric: String
        package var openedSeq: Int64
        package var lastSeq: Int64

        package init(deviceID: String, metric: String, openedSeq: Int64, lastSeq: Int64) {
            self.deviceID = deviceID
            self.metric = metric
            self.openedSeq = openedSeq
            self.lastSeq = lastSeq
        }
    }

    package struct Figures: Sendable {
        package var episodes = 0
        package var found = 0
        /// Readings from an episode's start to the incident it opened, for episodes that opened one.
        package var delays: [Int64] = []
        package var recall: Double? { episodes == 0 ? nil : Double(found) / Double(episodes) }
    }

    package let minHistory: Int
    package private(set) var byKind: [InjectedAnomaly.Kind: Figures] = [:]
    package private(set) var incidents = 0
    package private(set) var trueIncidents = 0
    /// Scored readings that carried no injected anomaly, and the incidents that opened on them.
    package private(set) var normalReadings = 0
    package var falseIncidents: Int { incidents - trueIncidents }
    package var precision: Double? { incidents == 0 ? nil : Double(trueIncidents) / Double(incidents) }

    /// Consecutive injected readings of one series and kind.
    package struct Episode: Sendable {
        package var deviceID: String
        package var metric: String
        package var kind: InjectedAnomaly.Kind
        package var first: Int64
        package var last: Int64
    }

    /// The scored episodes no incident reached into.
    package private(set) var missed: [Episode] = []

    package init(record: RunRecord, incidents opened: [Opened], minHistory: Int) {
        self.minHistory = minHistory
        var acked: [String: [Int64]] = [:]
        for (device, seq) in record.acked { acked[device, default: []].append(seq) }
        for k in acked.keys { acked[k]!.sort() }
        func scored(_ device: String, _ seq: Int64) -> Bool {
            guard let seqs = acked[device] else { return false }
            let i = DetectionScore.lowerBound(seqs, seq)
            return i < seqs.count && seqs[i] == seq && i >= minHistory
        }

        // Episodes: consecutive seqs of one series and kind.
        var episodes: [Episode] = []
        var injectedKeys = Set<String>()
        let sorted = record.injected.filter { $0.kind.isValueAnomaly }.sorted {
            ($0.deviceID, $0.metric, $0.seq) < ($1.deviceID, $1.metric, $1.seq)
        }
        for a in sorted {
            injectedKeys.insert("\(a.deviceID) \(a.seq)")
            if var e = episodes.last, e.deviceID == a.deviceID, e.metric == a.metric, e.kind == a.kind, a.seq == e.last + 1 {
                e.last = a.seq
                episodes[episodes.count - 1] = e
            } else {
                episodes.append(Episode(deviceID: a.deviceID, metric: a.metric, kind: a.kind, first: a.seq, last: a.seq))
            }
        }
        for (device, seqs) in acked {
            for (i, seq) in seqs.enumerated() where i >= minHistory && !injectedKeys.contains("\(device) \(seq)") {
                normalReadings += 1
            }
        }

        var bySeries: [String: [Opened]] = [:]
        for o in opened { bySeries["\(o.deviceID) \(o.metric)", default: []].append(o) }
        for e in episodes where scored(e.deviceID, e.first) {
            var figures = byKind[e.kind] ?? Figures()
            figures.episodes += 1
            let series = bySeries["\(e.deviceID) \(e.metric)"] ?? []
            if series.contains(where: { $0.openedSeq <= e.last && $0.lastSeq >= e.first }) {
                figures.found += 1
                if let own = series.filter({ $0.openedSeq >= e.first && $0.openedSeq <= e.last }).map(\.openedSeq).min() {
                    figures.delays.append(own - e.first)
                }
            } else {
                missed.append(e)
            }
            byKind[e.kind] = figures
        }
        var episodesOfSeries: [String: [Episode]] = [:]
        for e in episodes { episodesOfSeries["\(e.deviceID) \(e.metric)", default: []].append(e) }
        for o in opened where scored(o.deviceID, o.openedSeq) {
            incidents += 1
            let inside = (episodesOfSeries["\(o.deviceID) \(o.metric)"] ?? []).contains { $0.first <= o.openedSeq && o.openedSeq <= $0.last }
            if inside { trueIncidents += 1 }
        }
    }

    /// False incidents per device-hour of normal readings, `interval` seconds apart.
    package func falsePerDeviceHour(interval: Double) -> Double? {
        let hours = Double(normalReadings) * interval / 3600
        return hours > 0 ? Double(falseIncidents) / hours : nil
    }
}
