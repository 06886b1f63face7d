/// The rows of a result, copied out of libpq in text format.
public struct SQLRows: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    /// Rows affected, for INSERT/UPDATE/DELETE.
    public var affected: Int

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }
}
