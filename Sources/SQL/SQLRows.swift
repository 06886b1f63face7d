/// The rows of a result, copied out of libpq in text format.
package struct SQLRows: Sendable {
    package var columns: [String]
    package var rows: [[String?]]
    /// Rows affected, for INSERT/UPDATE/DELETE.
    package var affected: Int

    package var count: Int { rows.count }
    package var isEmpty: Bool { rows.isEmpty }
}
