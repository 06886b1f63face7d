/// The lowest and highest value one series showed over a long span of seqs, kept
/// as one (low, high) pair per block of seqs so that it stays small (a few dozen
/// pairs) however long the span. It is a set function of the stored readings: the
/// order in which they arrived does not change it.
public struct SeriesRecord: Sendable, Equatable {
    /// The extremes of one block.
    public struct Extremes: Sendable, Equatable {
        public var low: Double
        public var high: Double

        public init(low: Double, high: Double) {
            self.low = low
            self.high = high
        }

        mutating func include(_ value: Double) {
            low = min(low, value)
            high = max(high, value)
        }
    }

    /// Seqs per block.
    public let blockSize: Int64
    /// Whole blocks before a reading's own block that its record covers.
    public let blocks: Int64
    /// Block index (`seq / blockSize`, rounded down) → extremes of its values.
    public private(set) var extremes: [Int64: Extremes] = [:]

    public init(blockSize: Int64, blocks: Int64) {
        precondition(blockSize >= 1 && blocks >= 1)
        self.blockSize = blockSize
        self.blocks = blocks
    }

    public static func block(of seq: Int64, size: Int64) -> Int64 {
        seq >= 0 ? seq / size : (seq - size + 1) / size
    }

    /// Adds one stored value; blocks too old for any later reading's record are dropped.
    public mutating func add(seq: Int64, value: Double) {
        let b = Self.block(of: seq, size: blockSize)
        if var e = extremes[b] {
            e.include(value)
            extremes[b] = e
        } else {
            extremes[b] = Extremes(low: value, high: value)
        }
        if let newest = extremes.keys.max(), extremes.count > Int(blocks) + 1 {
            extremes = extremes.filter { $0.key >= newest - blocks }
        }
    }

    /// The extremes over the whole blocks before the one holding `seq` (at most
    /// `blocks` of them); nil when none of them holds a value. The reading's own
    /// block is left to its window, which holds its newest earlier values.
    public func extremes(before seq: Int64) -> Extremes? {
        let b = Self.block(of: seq, size: blockSize)
        var result: Extremes?
        for (key, e) in extremes where key < b && key >= b - blocks {
            if result == nil { result = e } else { result!.include(e.low); result!.include(e.high) }
        }
        return result
    }
}
