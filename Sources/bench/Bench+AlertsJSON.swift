import Alerts
import Foundation
import Storage

extension Bench {
    /// The alerts API's JSON: its one encoder (`AlertsJSON`) beside Foundation's `JSONEncoder`
    /// writing the same page of 100 anomalies, checked to mean the same JSON.
    static func alertsJSON(_ report: inout BenchReport) throws {
        let page = (0..<100).map { (i: Int) -> AnomalyRecord in
            let second = String(format: "%02d", i % 60)
            let value = 70.5 + Double(i)
            let score: Double? = i % 10 == 0 ? nil : 4.25 + Double(i)
            return AnomalyRecord(
                deviceID: "wristband-\(i % 17)", seq: Int64(1_000_000 + i), metric: i % 2 == 0 ? "heart_rate" : "spo2",
                ts: "2026-12-04T21:00:\(second).250Z", value: value, score: score, median: 71, mad: 1.482, window: 200,
                detectedAt: "2026-12-04T21:00:01.123456Z")
        }
        let encoder = JSONEncoder()
        let written = Data(AlertsJSON.anomalyPage(page, next: nil).utf8)
        let encoded = try encoder.encode(CodableAnomalyPage(items: page))
        let same = (try JSONSerialization.jsonObject(with: written) as? NSDictionary)?
            .isEqual(to: try JSONSerialization.jsonObject(with: encoded) as? [String: Any] ?? [:]) ?? false
        guard same else { throw BenchError("JSONEncoder and AlertsJSON wrote different pages") }
        let rounds = 5_000
        func perPage(_ body: () throws -> Int) rethrows -> Double {
            var bytes = 0
            let start = ContinuousClock.now
            for _ in 0..<rounds { bytes &+= try body() }
            precondition(bytes > 0)
            return (ContinuousClock.now - start) / .microseconds(1) / Double(rounds)
        }
        let handWritten = perPage { AlertsJSON.anomalyPage(page, next: nil).utf8.count }
        let foundation = try perPage { try encoder.encode(CodableAnomalyPage(items: page)).count }
        report.results["alerts_json_us_per_page"] = round2(handWritten)
        report.results["alerts_json_encoder_us_per_page"] = round2(foundation)
        report.table.append((
            "alerts JSON, a page of 100 anomalies: AlertsJSON / JSONEncoder", String(format: "%.1f / %.1f µs", handWritten, foundation)
        ))
    }
}

/// The anomaly page as `Codable` would write it, for the comparison only.
private struct CodableAnomalyPage: Encodable {
    var items: [AnomalyRecord]

    enum Keys: String, CodingKey { case items, nextCursor = "next_cursor" }
    enum ItemKeys: String, CodingKey {
        case deviceID = "device_id", seq, ts, metric, value, score, median, mad, window, detectedAt = "detected_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        var list = c.nestedUnkeyedContainer(forKey: .items)
        for a in items {
            var i = list.nestedContainer(keyedBy: ItemKeys.self)
            try i.encode(a.deviceID, forKey: .deviceID)
            try i.encode(a.seq, forKey: .seq)
            try i.encode(a.ts, forKey: .ts)
            try i.encode(a.metric, forKey: .metric)
            try i.encode(a.value, forKey: .value)
            try i.encode(a.score, forKey: .score)
            try i.encode(a.median, forKey: .median)
            try i.encode(a.mad, forKey: .mad)
            try i.encode(a.window, forKey: .window)
            try i.encode(a.detectedAt, forKey: .detectedAt)
        }
        try c.encode(String?.none, forKey: .nextCursor)
    }
}
