import Testing

@testable import PipelineCore

@Suite struct AnomalyRuleTests {
    let rule = AnomalyRule.default

    /// A deterministic, slightly noisy series around 70.
    func series(_ n: Int) -> [Double] {
        (0..<n).map { 70 + Double(($0 * 7919) % 11) - 5 }
    }

    @Test func noVerdictBelowMinimumHistory() {
        #expect(rule.evaluate(500, window: series(29)) == nil)
        #expect(rule.evaluate(500, window: [Double]()) == nil)
        #expect(rule.evaluate(500, window: series(30)) != nil)
    }

    @Test func spikeIsAnomalyAndNormalValueIsNot() throws {
        let w = series(100)
        let spike = try #require(rule.evaluate(140, window: w))
        #expect(spike.isAnomaly)
        #expect(try #require(spike.score) > 3.5)
        let normal = try #require(rule.evaluate(71, window: w))
        #expect(!normal.isAnomaly)
        let low = try #require(rule.evaluate(10, window: w))
        #expect(low.isAnomaly)
        #expect(try #require(low.score) < -3.5)
    }

    @Test func scoreMatchesTheFormula() throws {
        // Window 1...31: median 16, |x - 16| = 0...15 (each twice but 0 once), MAD = 8.
        let w = (1...31).map(Double.init)
        let v = try #require(rule.evaluate(60, window: w))
        #expect(v.median == 16)
        #expect(v.mad == 8)
        #expect(abs(try #require(v.score) - 0.6745 * 44 / 8) < 1e-12)
        #expect(v.window == 31)
        #expect(v.isAnomaly)
        // 0.6745 * (x - 16) / 8 = 3.5 exactly at x = 16 + 3.5 * 8 / 0.6745 ≈ 57.51: just below is normal.
        #expect(try #require(rule.evaluate(57.5, window: w)).isAnomaly == false)
        #expect(try #require(rule.evaluate(57.52, window: w)).isAnomaly == true)
    }

    @Test func madZeroFallsBackToMeanAbsoluteDeviation() throws {
        // 40 values: 30 equal 50 and 10 equal 60 → median 50, MAD 0, mean |x - m| = 2.5.
        let w = [Double](repeating: 50, count: 30) + [Double](repeating: 60, count: 10)
        let v = try #require(rule.evaluate(60, window: w))
        let scale = 1.253314 * 2.5
        #expect(v.mad == scale)
        #expect(abs(try #require(v.score) - 0.6745 * 10 / scale) < 1e-12)
        #expect(v.isAnomaly == (0.6745 * 10 / scale > 3.5))
        #expect(try #require(rule.evaluate(80, window: w)).isAnomaly)
    }

    @Test func constantWindowFlagsAnyChangeWithNullScore() throws {
        let w = [Double](repeating: 97, count: 50)
        let changed = try #require(rule.evaluate(96, window: w))
        #expect(changed.isAnomaly)
        #expect(changed.score == nil)
        #expect(changed.mad == 0)
        let same = try #require(rule.evaluate(97, window: w))
        #expect(!same.isAnomaly)
        #expect(same.score == nil)
    }

    @Test func windowOfExactly200UsesTheFirst200Only() throws {
        // Newest first: 200 values around 70, then older values far away that must be ignored.
        let newest = series(200)
        let older = [Double](repeating: 1000, count: 300)
        let v = try #require(rule.evaluate(71, window: newest + older))
        #expect(v.window == 200)
        #expect(!v.isAnomaly)
        let exact = try #require(rule.evaluate(71, window: newest))
        #expect(exact == v)
        // With 201 values the 201st is ignored as well.
        let v201 = try #require(rule.evaluate(71, window: newest + [1e9]))
        #expect(v201 == v)
    }

    @Test func configurableRule() throws {
        let small = AnomalyRule(windowSize: 10, minHistory: 5, threshold: 2)
        #expect(small.evaluate(1, window: [1, 2, 3, 4]) == nil)
        let v = try #require(small.evaluate(100, window: (1...50).map(Double.init)))
        #expect(v.window == 10)
    }

    @Test func bandSeparatesAnomaliesFromNormalValues() throws {
        let w = series(150)
        let band = try #require(rule.band(window: w))
        let v = try #require(rule.evaluate(band.median, window: w))
        #expect(band.median == v.median && band.dispersion == v.mad && band.window == 150)
        #expect(band.low < band.median && band.median < band.high)
        // Just inside the band passes, just outside is an anomaly, on both sides.
        let step = (band.high - band.low) * 1e-6
        for (x, expected) in [
            (band.high - step, false), (band.high + step, true), (band.low + step, false), (band.low - step, true),
        ] {
            #expect(try #require(rule.evaluate(x, window: w)).isAnomaly == expected, "x = \(x)")
        }
        #expect(rule.band(window: series(29)) == nil)
        // No spread at all: the band is the median alone.
        let flat = try #require(rule.band(window: [Double](repeating: 60, count: 40)))
        #expect(flat.low == 60 && flat.high == 60 && flat.dispersion == 0)
    }

    @Test func rollingBandsMatchTheVerdictOfEachValue() throws {
        let small = AnomalyRule(windowSize: 20, minHistory: 5, threshold: 3)
        let all = series(60) + [200] + series(30)
        let history = Array(all[0..<25].reversed())
        let values = Array(all[25...])
        let bands = small.rollingBands(values: values, history: history)
        #expect(bands.count == values.count)
        for (i, band) in bands.enumerated() {
            let position = 25 + i
            let window = Array(all[..<position].reversed())
            let expected = small.band(window: window)
            #expect(band == expected, "value \(i)")
            let verdict = try #require(small.evaluate(all[position], window: window))
            let b = try #require(band)
            let x = all[position]
            #expect(verdict.isAnomaly == !(b.low < x && x < b.high), "value \(i)")
        }
        // Too little history: no band until minHistory values precede.
        let early = small.rollingBands(values: series(8), history: [])
        #expect(early.prefix(5).allSatisfy { $0 == nil } && early[5] != nil)
    }
}
