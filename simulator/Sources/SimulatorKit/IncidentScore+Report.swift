import Foundation

extension IncidentScore {
    /// A table for humans.
    package func text(interval: Double) -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "-" }
        var lines = [
            "incidents against the injected episodes (an episode is found when an incident of its series reaches into it)",
            "kind         episodes    found  recall  delay p50 / max (readings, incidents it opened)",
        ]
        for kind in InjectedAnomaly.Kind.allCases where kind.isValueAnomaly {
            guard let x = byKind[kind], x.episodes > 0 else { continue }
            let delays = x.delays.sorted()
            let delay = delays.isEmpty ? "-" : "\(delays[(delays.count - 1) / 2]) / \(delays.last!)"
            lines.append(
                kind.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)
                    + String(format: "%8d %8d", x.episodes, x.found) + "   \(f(x.recall))  \(delay)")
        }
        let rate = falsePerDeviceHour(interval: interval).map { String(format: "%.3f", $0) } ?? "-"
        lines.append("incidents opened: \(incidents), inside an episode: \(trueIncidents), precision \(f(precision))")
        lines.append("false incidents: \(falseIncidents) over \(normalReadings) normal readings, \(rate) per device-hour at \(interval) s")
        return lines.joined(separator: "\n")
    }

    /// The same as JSON.
    package func json(interval: Double) -> [String: Any] {
        var kinds: [String: Any] = [:]
        for (kind, x) in byKind {
            var o: [String: Any] = ["episodes": x.episodes, "found": x.found]
            if let r = x.recall { o["recall"] = r }
            if let d = x.delays.sorted().last { o["delay_max_readings"] = d }
            kinds[kind.rawValue] = o
        }
        var o: [String: Any] = [
            "kinds": kinds, "incidents": incidents, "true_incidents": trueIncidents, "false_incidents": falseIncidents,
            "normal_readings": normalReadings,
        ]
        if let p = precision { o["precision"] = p }
        if let r = falsePerDeviceHour(interval: interval) { o["false_per_device_hour"] = r }
        return o
    }
}
