import Testing

@testable import PipelineCore

/// The analyzer's batch logic for one series (`SeriesBatch`), fed the way the
/// analyzer feeds it: whatever order the readings arrive in, the anomalies it
/// leaves stored equal the rule applied to the complete series; fed in order,
/// it opens the incidents `pipeline detect` (`SeriesDetection`) opens.
@Suite struct SeriesBatchTests {
    static let rule = AnomalyRule()
    static let incidentRule = IncidentRule.default

    /// 600 readings of bounded noise with spikes, a level shift and a dip: every kind of verdict.
    static let series: [(seq: Int64, value: Double)] = {
        var rng = SplitMix(seed: 42)
        func noise() -> Double { Double.random(in: -0.5..<0.5, using: &rng) }
        return (1...600).map { i -> (Int64, Double) in
            var v = 70 + 4 * noise()
            if [240, 330, 331, 520].contains(i) { v += 40 }
            if (380..<440).contains(i) { v += 25 }
            if i == 570 { v -= 30 }
            return (Int64(i), (v * 10).rounded() / 10)
        }
    }()

    /// The stored readings as the database would serve them, in seq order.
    struct Store {
        private(set) var rows: [(seq: Int64, value: Double)] = []

        /// Where `seq` is or would go.
        func index(of seq: Int64) -> Int {
            var lo = 0
            var hi = rows.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if rows[mid].seq < seq { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }

        mutating func insert(_ seq: Int64, _ value: Double) { rows.insert((seq, value), at: index(of: seq)) }

        /// The up to `windowSize` values with the highest seqs below `seq`, newest first.
        func window(_ seq: Int64) -> SeriesBatch.Window {
            let end = index(of: seq)
            return rows[max(0, end - SeriesBatchTests.rule.windowSize)..<end].reversed()
        }

        /// The stored readings whose windows the new ones enter, in seq order: after each new
        /// reading, the first `windowSize` stored ones that are not new (as the analyzer fetches them).
        func later(than new: Set<Int64>) -> [SeriesBatch.Item] {
            var seqs = Set<Int64>()
            for seq in new {
                seqs.formUnion(rows[index(of: seq + 1)...].lazy.map(\.seq).filter { !new.contains($0) }.prefix(SeriesBatchTests.rule.windowSize))
            }
            return rows.filter { seqs.contains($0.seq) }.map { ($0.seq, $0.value, "t\($0.seq)") }
        }
    }

    /// Feeds the series in `batches` (lists of indexes into it), as the analyzer does: each batch's
    /// readings stored first, then judged with the stored readings after them. Returns the anomalies
    /// left stored (seq → score) and every incident's opening seq.
    static func run(_ batches: [[Int]]) -> (anomalies: [Int64: Double?], opened: [Int64]) {
        var store = Store()
        var anomalies: [Int64: Double?] = [:]
        var record = incidentRule.newRecord()
        var entries: [IncidentLedger.Entry] = []
        for batch in batches {
            let newest = store.rows.last?.seq
            let new = batch.map { (seq: series[$0].seq, value: series[$0].value, ts: "t\(series[$0].seq)") }
            for r in new { store.insert(r.seq, r.value) }
            let later = store.later(than: Set(new.map(\.seq)))
            var judged = SeriesBatch(
                rule: rule, incidentRule: incidentRule, record: record,
                ledger: IncidentLedger(rule: incidentRule, entries: entries.map { .init(incident: $0.incident, isOpen: $0.isOpen) }, newestSeq: newest))
            judged.judge(new: new, later: later, window: store.window)
            for a in judged.anomalies { anomalies[a.seq] = a.verdict.score }
            for seq in judged.cleared { anomalies[seq] = nil }
            record = judged.record
            entries = judged.ledger.entries
        }
        return (anomalies, entries.map(\.incident.openedSeq))
    }

    /// The rule applied to the complete series, reading by reading.
    static var expected: [Int64: Double?] {
        var out: [Int64: Double?] = [:]
        for (i, r) in series.enumerated() {
            let window = series[max(0, i - rule.windowSize)..<i].reversed().map(\.value)
            if let v = rule.evaluate(r.value, window: window), v.isAnomaly { out[r.seq] = v.score }
        }
        return out
    }

    static func inOrder(batch size: Int) -> [[Int]] {
        stride(from: 0, to: series.count, by: size).map { Array($0..<min($0 + size, series.count)) }
    }

    @Test func inOrderTheAnomaliesAreTheRulesAndTheIncidentsThoseOfPipelineDetect() {
        let expected = Self.expected
        #expect(expected.count >= 5, "the series has anomalies to find")
        var detection = SeriesDetection(anomalyRule: Self.rule, incidentRule: Self.incidentRule)
        let detected = Self.series.compactMap { r in detection.next(seq: r.seq, ts: "t\(r.seq)", value: r.value).opened?.openedSeq }
        #expect(!detected.isEmpty, "the series opens incidents")
        for size in [1, 7, 100] {
            let run = Self.run(Self.inOrder(batch: size))
            #expect(run.anomalies == expected, "batches of \(size)")
            #expect(run.opened == detected, "batches of \(size)")
        }
    }

    @Test(arguments: [1, 2, 3])
    func shuffledTheStoredAnomaliesAreStillTheRules(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var order = Array(Self.series.indices)
        order.shuffle(using: &rng)
        let batches = stride(from: 0, to: order.count, by: 25).map { Array(order[$0..<min($0 + 25, order.count)]) }
        let run = Self.run(batches)
        #expect(run.anomalies == Self.expected)
    }

    @Test func aLateReadingRejudgesOnlyTheReadingsWhoseWindowItEnters() {
        var store = Store()
        for r in Self.series { store.insert(r.seq, r.value) }
        let later = store.later(than: [300])
        var judged = SeriesBatch(
            rule: Self.rule, incidentRule: Self.incidentRule, record: Self.incidentRule.newRecord(),
            ledger: IncidentLedger(rule: Self.incidentRule, entries: [], newestSeq: 600))
        judged.judge(new: [(300, Self.series[299].value, "")], later: later, window: store.window)
        #expect(judged.revisited == Self.rule.windowSize, "seqs 301…500 hold it in their window, 501 on do not")
    }
}

/// A small seeded generator, so that a shuffle is the same at every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
