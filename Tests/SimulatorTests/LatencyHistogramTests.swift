import Foundation
import Testing

@testable import SimulatorKit

@Suite struct LatencyHistogramTests {
    @Test func percentilesAreWithinTheBucketResolution() {
        var rng = SeededGenerator(seed: 3)
        let samples = (0..<50000).map { _ in exp(Double.random(in: -3...8, using: &rng)) }  // 0.05 ms … 3 s
        var h = LatencyHistogram()
        for s in samples { h.record(ms: s) }
        let sorted = samples.sorted()
        for p in [0.01, 0.5, 0.9, 0.99, 0.999] {
            let exact = sorted[Int((p * Double(sorted.count)).rounded(.up)) - 1]
            let estimate = h.percentile(p)!
            #expect(estimate >= exact && estimate <= exact * 1.024, "p\(p): \(estimate) vs \(exact)")
        }
        #expect(h.percentile(1) == sorted.last)
        #expect(h.count == samples.count)
    }

    @Test func mergingEqualsRecordingTogether() {
        var a = LatencyHistogram(), b = LatencyHistogram(), both = LatencyHistogram()
        for i in 1...1000 {
            let ms = Double(i) / 7
            if i % 3 == 0 { a.record(ms: ms) } else { b.record(ms: ms) }
            both.record(ms: ms)
        }
        a.merge(b)
        #expect(a.count == both.count && a.maxMs == both.maxMs)
        for p in [0.1, 0.5, 0.99] { #expect(a.percentile(p) == both.percentile(p)) }
        #expect(LatencyHistogram().percentile(0.5) == nil)
    }
}
