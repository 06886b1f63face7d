import Foundation
import PipelineCore
import Testing

@testable import SimulatorKit

extension DeviceModelTests {
    /// Realistic signals: whole numbers, long level shifts and drifts as episodes, heavier
    /// tails than the clean signal's bounded noise, and motion artifacts outside the ground truth.
    @Test func realisticSignalsHaveTheirEpisodesTailsAndArtifacts() async {
        let stream = await offThePool { () -> [(Reading, [InjectedAnomaly])] in
            var model = DeviceModel(deviceID: "dev-r", seed: 9, anomalyRate: 0.01, firstSeq: 1, profile: .realistic)
            return (0..<20_000).map { model.next(at: DeviceModelTests.start.addingTimeInterval(Double($0) * 10)) }
        }
        let values = stream.flatMap { $0.0.metrics.values }
        #expect(values.allSatisfy { $0 == $0.rounded() }, "whole numbers")
        // Episodes: runs of consecutive seqs of one kind and metric.
        var runs: [InjectedAnomaly.Kind: [Int]] = [:]
        var current: (kind: InjectedAnomaly.Kind, metric: String, length: Int, last: Int64)?
        for a in stream.flatMap(\.1) {
            if let c = current, c.kind == a.kind, c.metric == a.metric, a.seq == c.last + 1 {
                current = (c.kind, c.metric, c.length + 1, a.seq)
            } else {
                if let c = current { runs[c.kind, default: []].append(c.length) }
                current = (a.kind, a.metric, 1, a.seq)
            }
        }
        #expect(runs[.spike].map { $0.allSatisfy { $0 == 1 } && $0.count > 10 } == true)
        #expect(runs[.levelShift].map { $0.allSatisfy { (30...80).contains($0) } && $0.count > 5 } == true, "\(runs[.levelShift] ?? [])")
        #expect(runs[.drift].map { $0.allSatisfy { (40...80).contains($0) } && $0.count > 3 } == true, "\(runs[.drift] ?? [])")
        // Outside the ground truth, heart rate jumps that the clean signal never makes: far from
        // the median of the 50 readings before (noise tails and motion artifacts), in under 3 %.
        let hr = stream.map { ($0.0.metrics["heart_rate"], !$0.1.isEmpty) }
        var far = 0
        var normal = 0
        for i in 50..<hr.count {
            guard let v = hr[i].0, !hr[i].1 else { continue }
            let before = hr[(i - 50)..<i].compactMap { $0.1 ? nil : $0.0 }.sorted()
            guard before.count > 30 else { continue }
            normal += 1
            if abs(v - before[before.count / 2]) > 14 { far += 1 }
        }
        #expect(far > 20 && Double(far) / Double(normal) < 0.03, "\(far) of \(normal)")
    }
}
