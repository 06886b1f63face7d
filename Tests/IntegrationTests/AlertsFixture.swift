import Foundation
import PipelineCore
import SQL
import Storage

/// Data for the alerts tests, stored with the analyzer's own statements and
/// anomalies computed by the rule directly (the analyzer's agreement with the
/// rule is tested in AnalyzerTests).
enum AlertsFixture {
    /// A heart-rate and SpO2 series of `count` readings with spikes at `spikes`.
    static func series(_ deviceID: String, count: Int, spikes: Set<Int64> = [], start: Int64 = 0) -> [Reading] {
        (start..<start + Int64(count)).map { seq in
            let wobble = Double((seq * 7919) % 11) - 5
            var metrics = ["heart_rate": 70 + wobble, "spo2": 97 + Double(seq % 3) - 1]
            if spikes.contains(seq) { metrics["heart_rate"] = 160 + Double(seq % 7) }
            let ts = Timestamp.format(epochMicros: 1_795_000_000_000_000 + seq * 10_000_000)
            return Reading(deviceID: deviceID, seq: seq, ts: ts, metrics: metrics)
        }
    }

    /// What the rule flags in `readings` (all of one or more devices, any order).
    static func anomalies(in readings: [Reading], rule: AnomalyRule = .default) -> [AnomalyRecord] {
        var result: [AnomalyRecord] = []
        for (_, device) in Dictionary(grouping: readings, by: \.deviceID) {
            let sorted = device.sorted { $0.seq < $1.seq }
            for (i, r) in sorted.enumerated() {
                for (metric, value) in r.metrics {
                    let window = sorted[..<i].reversed().compactMap { $0.metrics[metric] }
                    guard let v = rule.evaluate(value, window: window), v.isAnomaly else { continue }
                    result.append(
                        AnomalyRecord(
                            deviceID: r.deviceID, seq: r.seq, metric: metric, ts: r.ts, value: value, score: v.score,
                            median: v.median, mad: v.mad, window: v.window))
                }
            }
        }
        return result
    }

    /// Stores `readings` and their anomalies in one transaction, as the analyzer does;
    /// `after` are the device's readings stored before (their anomalies are not stored again).
    @discardableResult
    static func store(
        _ readings: [Reading], after: [Reading] = [], acceptedAtMs: Int64? = nil, on db: SQLConnection
    ) throws -> [AnomalyRecord] {
        let previous = Set(anomalies(in: after).map { "\($0.deviceID):\($0.seq):\($0.metric)" })
        let fresh = anomalies(in: after + readings).filter { !previous.contains("\($0.deviceID):\($0.seq):\($0.metric)") }
        let incoming = readings.map { IncomingReading(reading: $0, acceptedAtMs: acceptedAtMs) }
        try db.transaction { db in
            _ = try ReadingStore.lockDevices(Set(readings.map(\.deviceID)), on: db)
            let outcome = try ReadingStore.insert(incoming, on: db)
            try ReadingStore.recordStored(outcome.stored.map { incoming[$0] }, on: db)
            try ReadingStore.insertAnomalies(fresh, on: db)
        }
        return fresh
    }

    /// Stores anomalies alone (for listing tests), in one transaction: they share its `detected_at`.
    static func storeAnomalies(_ keys: [(device: String, seq: Int64, metric: String)], on db: SQLConnection) throws {
        try db.transaction { db in
            try ReadingStore.insertAnomalies(keys.map(record), on: db)
        }
    }

    static func record(_ k: (device: String, seq: Int64, metric: String)) -> AnomalyRecord {
        AnomalyRecord(
            deviceID: k.device, seq: k.seq, metric: k.metric, ts: "2026-11-25T08:00:00Z", value: 150, score: 9.5,
            median: 70, mad: 3, window: 200)
    }

    /// Stores incidents as the analyzer does, in one transaction (they share its `opened_at`).
    static func storeIncidents(_ records: [IncidentRecord], on db: SQLConnection) throws {
        try db.transaction { db in try IncidentStore.save(records, on: db) }
    }

    static func incident(_ device: String, _ metric: String, seq: Int64, open: Bool, peakScore: Double? = 6.5) -> IncidentRecord {
        IncidentRecord(
            deviceID: device, metric: metric,
            incident: Incident(
                openedSeq: seq, openedTs: Timestamp.format(epochMicros: 1_795_000_000_000_000 + seq * 10_000_000), lastSeq: seq + 3,
                anomalies: 2, peakScore: peakScore, peakValue: 160, reason: "value 160 is above the highest value of the series' record"),
            isOpen: open)
    }
}
