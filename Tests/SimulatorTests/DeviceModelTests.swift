import Foundation
import PipelineCore
import Testing

@testable import SimulatorKit

@Suite struct DeviceModelTests {
    static let start = Date(timeIntervalSince1970: 1_795_600_000)

    /// `count` readings ten seconds apart.
    static func stream(seed: UInt64, rate: Double, count: Int) -> [(Reading, [InjectedAnomaly])] {
        var model = DeviceModel(deviceID: "dev-1", seed: seed, anomalyRate: rate, firstSeq: 1)
        return (0..<count).map { model.next(at: start.addingTimeInterval(Double($0) * 10)) }
    }

    @Test func aSeedReproducesSignalsAndAnomaliesExactly() {
        let a = Self.stream(seed: 42, rate: 0.05, count: 3000)
        let b = Self.stream(seed: 42, rate: 0.05, count: 3000)
        let c = Self.stream(seed: 43, rate: 0.05, count: 3000)
        #expect(a.map(\.0.metrics) == b.map(\.0.metrics))
        #expect(a.map(\.0.seq) == b.map(\.0.seq))
        #expect(a.map(\.1) == b.map(\.1))
        #expect(a.map(\.0.metrics) != c.map(\.0.metrics))
    }

    @Test func everyKindIsInjectedAsDescribed() async {
        let rate = 0.03
        let stream = await offThePool { Self.stream(seed: 7, rate: rate, count: 20000) }
        var runs: [InjectedAnomaly.Kind: [Int]] = [:]
        var current: (kind: InjectedAnomaly.Kind, metric: String, length: Int, lastSeq: Int64)?
        func close() {
            if let c = current { runs[c.kind, default: []].append(c.length) }
            current = nil
        }
        for (reading, injected) in stream {
            #expect(injected.count <= 1, "one anomaly at a time")
            guard let a = injected.first else {
                close()
                continue
            }
            #expect(a.seq == reading.seq && a.deviceID == reading.deviceID)
            // A dropout is the metric missing, and only then.
            #expect((reading.metrics[a.metric] == nil) == (a.kind == .dropout))
            if let c = current, c.kind == a.kind, c.metric == a.metric, c.lastSeq == a.seq - 1, a.kind != .spike {
                current!.length += 1
                current!.lastSeq = a.seq
            } else {
                close()
                current = (a.kind, a.metric, 1, a.seq)
            }
        }
        close()
        let spikes = runs[.spike] ?? [], shifts = runs[.levelShift] ?? [], dropouts = runs[.dropout] ?? []
        #expect(spikes.allSatisfy { $0 == 1 })
        // Back-to-back episodes of one kind can merge into one run; each is 5–10 (or 3–8) long.
        #expect(shifts.allSatisfy { $0 >= 5 }, "\(shifts)")
        #expect(dropouts.allSatisfy { $0 >= 3 }, "\(dropouts)")
        // Half spikes, three in ten level shifts, one in five dropouts (binomial, wide bounds).
        let episodes = Double(spikes.count + shifts.count + dropouts.count)
        #expect(episodes > 300)
        #expect(abs(Double(spikes.count) / episodes - 0.5) < 0.08)
        #expect(abs(Double(shifts.count) / episodes - 0.3) < 0.08)
        #expect(abs(Double(dropouts.count) / episodes - 0.2) < 0.08)
        for (reading, _) in stream {
            if let spo2 = reading.metrics["spo2"] { #expect(spo2 <= 100 && spo2 > 50) }
            if let hr = reading.metrics["heart_rate"] { #expect(hr > 25 && hr < 230) }
        }
    }

    /// The signal alone (drift, daily rhythm, noise) must not look anomalous to the
    /// contract's rule, or a score against the injected truth would be meaningless.
    @Test func theUndisturbedSignalRaisesNoAnomaly() async {
        let flagged = await offThePool {
            (UInt64(1)...4).flatMap { seed in Self.judge(Self.stream(seed: seed, rate: 0, count: 2500).map(\.0)) }
        }
        #expect(flagged.isEmpty, "\(flagged.prefix(5))")
    }

    /// The contract's rule, applied in seq order, finds what the model injected.
    @Test func theRuleFindsInjectedSpikesAndLevelShifts() async throws {
        let record = await offThePool {
            var record = RunRecordFixture()
            for seed in UInt64(1)...4 {
                var model = DeviceModel(deviceID: "dev-\(seed)", seed: seed, anomalyRate: 0.01, firstSeq: 1)
                let stream = (0..<3000).map { model.next(at: Self.start.addingTimeInterval(Double($0) * 10)) }
                record.add(stream)
            }
            return record
        }
        let score = DetectionScore(record: record.record, flagged: record.flagged, minHistory: 30)
        for kind in [InjectedAnomaly.Kind.spike, .levelShift] {
            let x = try #require(score.byKind[kind])
            #expect(x.injected > 20)
            #expect(try #require(x.recall) >= 0.95, "\(kind): \(score.text)")
            #expect(try #require(x.precision) >= 0.95, "\(kind): \(score.text)")
        }
        #expect(score.flaggedOnDropouts == 0)
    }

    /// The seqs and metrics the rule flags over one device's readings in seq order.
    static func judge(_ readings: [Reading]) -> [(Int64, String)] {
        var windows: [String: [Double]] = [:]
        var flagged: [(Int64, String)] = []
        for r in readings {
            for (metric, value) in r.metrics.sorted(by: { $0.key < $1.key }) {
                let window = windows[metric, default: []]
                if AnomalyRule.default.evaluate(value, window: window.reversed())?.isAnomaly == true {
                    flagged.append((r.seq, metric))
                }
                windows[metric, default: []].append(value)
                if windows[metric]!.count > 200 { windows[metric]!.removeFirst() }
            }
        }
        return flagged
    }
}

/// Builds a run record and the rule's flags from generated streams, as if every reading was acknowledged.
struct RunRecordFixture: Sendable {
    var record = RunRecord(startedAt: DeviceModelTests.start, injected: [], acked: [])
    var flagged: [DetectionScore.Flagged] = []

    mutating func add(_ stream: [(Reading, [InjectedAnomaly])]) {
        for (reading, injected) in stream {
            record.acked.append((reading.deviceID, reading.seq))
            record.injected += injected
        }
        for (seq, metric) in DeviceModelTests.judge(stream.map(\.0)) {
            flagged.append(
                DetectionScore.Flagged(
                    deviceID: stream[0].0.deviceID, seq: seq, metric: metric, ts: DeviceModelTests.start,
                    detectedAt: DeviceModelTests.start))
        }
    }
}

/// Runs CPU-heavy work on a thread of its own, so it does not hold the
/// concurrency pool's few threads while timing-sensitive tests run beside it.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
