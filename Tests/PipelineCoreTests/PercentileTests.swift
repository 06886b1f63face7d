import Testing

@testable import PipelineCore

@Suite struct PercentileTests {
    @Test func nearestRank() {
        let xs = (1...100).map(Double.init).shuffled()
        #expect(Percentile.nearestRank(xs, 0.99) == 99)
        #expect(Percentile.nearestRank(xs, 0.5) == 50)
        #expect(Percentile.nearestRank(xs, 1) == 100)
        #expect(Percentile.nearestRank(xs, 0) == 1)
        #expect(Percentile.nearestRank([7], 0.99) == 7)
        #expect(Percentile.nearestRank([], 0.5).isNaN)
    }
}
