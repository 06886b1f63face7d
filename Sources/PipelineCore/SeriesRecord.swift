/// The lowest and highest values one series showed over a long span of seqs (its
/// readings, and the means of its last few readings), kept as one (low, high) pair
/// per block of seqs so that it stays small (a few dozen pairs) however long the
/// span. The value extremes are a set function of the stored readings: the order
/// in which they arrived does not change them.
package struct SeriesRecord: Sendable, Equatable {
    /// The extremes of one block.
    package struct Extremes: Sendable, Equatable {
        package var low: Double
        package var high: Double

        package init(low: Double, high: Double) {
            self.low = low
            self.high = high
        }

        package mutating func include(_ value: Double) {
            low = min(low, value)
            high = max(high, value)
        }
    }

    /// Seqs per block.
    package let blockSize: Int64
    /// Whole blocks before a reading's own block that its record covers.
    package let blocks: Int64
    /// Block index (`seq / blockSize`, rounded down) → extremes of its values.
    package private(set) var extremes: [Int64: Extremes] = [:]
    /// Block index → extremes of the short means ending at its readings.
    package private(set) var meanExtremes: [Int64: Extremes] = [:]

    package init(blockSize: Int64, blocks: Int64) {
        precondition(blockSize >= 1 && blocks >= 1)
        self.blockSize = blockSize
        self.blocks = blocks
    }

    package static func block(of seq: Int64, size: Int64) -> Int64 {
        seq >= 0 ? seq / size : (seq - size + 1) / size
    }

    /// Adds one stored value, and the short mean ending at it when there is one;
    /// blocks too old for any later reading's record are dropped.
    package mutating func add(seq: Int64, value: Double, mean: Double? = nil) {
        let b = Self.block(of: seq, size: blockSize)
        Self.include(value, block: b, in: &extremes, keeping: blocks)
        if let mean { Self.include(mean, block: b, in: &meanExtremes, keeping: blocks) }
    }

    /// Sets one block's extremes outright (a record rebuilt from stored blocks).
    package mutating func set(block: Int64, values: Extremes, means: Extremes?) {
        extremes[block] = values
        if let means { meanExtremes[block] = means }
    }

    /// The value extremes over the whole blocks before the one holding `seq` (at
    /// most `blocks` of them); nil when none of them holds a value. The reading's
    /// own block is left to its window, which holds its newest earlier values.
    package func extremes(before seq: Int64) -> Extremes? { Self.union(extremes, before: seq, size: blockSize, blocks: blocks) }

    /// The extremes of the short means over the same blocks and the one holding `seq`:
    /// fed in order, that block holds the means of the readings before `seq` (the means
    /// depend on the order of arrival anyway, so nothing is gained by leaving it to the window).
    package func meanExtremes(through seq: Int64) -> Extremes? {
        Self.union(meanExtremes, before: seq, size: blockSize, blocks: blocks, own: true)
    }

    static func include(_ value: Double, block b: Int64, in table: inout [Int64: Extremes], keeping blocks: Int64) {
        if var e = table[b] {
            e.include(value)
            table[b] = e
        } else {
            table[b] = Extremes(low: value, high: value)
            if table.count > Int(blocks) + 1, let newest = table.keys.max() {
                table = table.filter { $0.key >= newest - blocks }
            }
        }
    }

    static func union(_ table: [Int64: Extremes], before seq: Int64, size: Int64, blocks: Int64, own: Bool = false)
        -> Extremes?
    {
        let b = block(of: seq, size: size)
        let upper = own ? b : b - 1
        var result: Extremes?
        for (key, e) in table where key <= upper && key >= b - blocks {
            if result == nil { result = e } else { result!.include(e.low); result!.include(e.high) }
        }
        return result
    }
}
