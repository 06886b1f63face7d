import Foundation

extension DetectionScore {
    /// A table for humans.
    package var text: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "-" }
        func row(_ name: String, _ x: Figures) -> String {
            name.padding(toLength: 13, withPad: " ", startingAt: 0)
                + String(format: "%8d %8d %7d %6d", x.injected, x.detected, x.missed, x.falseAlarms)
                + "  \(f(x.precision))     \(f(x.recall))  \(f(x.f1))"
        }
        var lines = [
            "detection against the injected ground truth (readings with at least \(minHistory) earlier readings of the metric)",
            "kind         injected detected  missed  false  precision  recall  F1",
        ]
        for kind in InjectedAnomaly.Kind.allCases where kind.isValueAnomaly && (kind != .drift || byKind[kind] != nil) {
            lines.append(row(kind.rawValue, byKind[kind] ?? Figures()))
        }
        lines.append(row("all", overall))
        lines.append("false alarms (flags on readings that carried nothing): \(falseAlarms)")
        lines.append("sensor dropouts: \(dropoutReadings) readings without a metric, flags raised on them: \(flaggedOnDropouts)")
        lines.append("not scored: \(notScored) injected in a device's first \(minHistory) readings; \(flaggedNotJudged) flags outside the judged readings")
        if let p50 = delayPercentile(0.5), let p99 = delayPercentile(0.99), let max = delaysMs.last {
            lines.append(
                String(
                    format: "detection delay, reading time to detection (%d live detections): p50 %.0f ms, p99 %.0f ms, max %.0f ms",
                    delaysMs.count, p50, p99, max))
        } else {
            lines.append("detection delay: no live detections")
        }
        return lines.joined(separator: "\n")
    }

    /// The same as JSON.
    package var json: [String: Any] {
        func figures(_ x: Figures) -> [String: Any] {
            var o: [String: Any] = ["injected": x.injected, "detected": x.detected, "missed": x.missed, "false_alarms": x.falseAlarms]
            if let p = x.precision { o["precision"] = p }
            if let r = x.recall { o["recall"] = r }
            if let f = x.f1 { o["f1"] = f }
            return o
        }
        var kinds: [String: Any] = [:]
        for kind in InjectedAnomaly.Kind.allCases where kind.isValueAnomaly && (kind != .drift || byKind[kind] != nil) {
            kinds[kind.rawValue] = figures(byKind[kind] ?? Figures())
        }
        var o: [String: Any] = [
            "min_history": minHistory, "kinds": kinds, "all": figures(overall), "false_alarms": falseAlarms,
            "dropout_readings": dropoutReadings, "flagged_on_dropouts": flaggedOnDropouts, "not_scored": notScored,
            "flagged_not_judged": flaggedNotJudged, "live_detections": delaysMs.count,
        ]
        if let p50 = delayPercentile(0.5), let p99 = delayPercentile(0.99), let max = delaysMs.last {
            o["detection_delay_ms"] = ["p50": p50.rounded(), "p99": p99.rounded(), "max": max.rounded()]
        }
        return o
    }
}
