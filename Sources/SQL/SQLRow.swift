/// One row of a result read by column name, refusing what it cannot read: a NULL
/// where a value must be, or text that is not the column's type. Reordering a
/// SELECT cannot then serve another column's values, nor zeros.
package struct SQLRow: Sendable {
    let index: [String: Int]
    let values: [String?]

    package func text(_ column: String) throws(SQLError) -> String {
        guard let v = try optionalText(column) else { throw Self.unreadable(column, "NULL") }
        return v
    }

    package func optionalText(_ column: String) throws(SQLError) -> String? {
        guard let i = index[column] else { throw SQLError(sqlState: nil, message: "no column \(column) in the result", connectionLost: false) }
        return values[i]
    }

    package func int(_ column: String) throws(SQLError) -> Int64 {
        guard let v = try optionalInt(column) else { throw Self.unreadable(column, "NULL") }
        return v
    }

    package func optionalInt(_ column: String) throws(SQLError) -> Int64? {
        guard let t = try optionalText(column) else { return nil }
        guard let v = Int64(t) else { throw Self.unreadable(column, t) }
        return v
    }

    package func double(_ column: String) throws(SQLError) -> Double {
        guard let v = try optionalDouble(column) else { throw Self.unreadable(column, "NULL") }
        return v
    }

    package func optionalDouble(_ column: String) throws(SQLError) -> Double? {
        guard let t = try optionalText(column) else { return nil }
        guard let v = Double(t) else { throw Self.unreadable(column, t) }
        return v
    }

    /// The text form of BOOL (`t`/`f`; `true`/`false` also read).
    package func bool(_ column: String) throws(SQLError) -> Bool {
        switch try text(column) {
        case "t", "true": return true
        case "f", "false": return false
        case let t: throw Self.unreadable(column, t)
        }
    }

    static func unreadable(_ column: String, _ value: String) -> SQLError {
        SQLError(sqlState: nil, message: "column \(column) holds \(value.prefix(40)), not a value of its type", connectionLost: false)
    }
}

extension SQLRows {
    /// Each row, read by column name.
    package func map<T>(_ body: (SQLRow) throws(SQLError) -> T) throws(SQLError) -> [T] {
        var index: [String: Int] = [:]
        for (i, c) in columns.enumerated() where index[c] == nil { index[c] = i }
        var result: [T] = []
        result.reserveCapacity(rows.count)
        for r in rows { result.append(try body(SQLRow(index: index, values: r))) }
        return result
    }

    /// The first row, read by column name; nil when there is none.
    package func first<T>(_ body: (SQLRow) throws(SQLError) -> T) throws(SQLError) -> T? {
        guard let r = rows.first else { return nil }
        var index: [String: Int] = [:]
        for (i, c) in columns.enumerated() where index[c] == nil { index[c] = i }
        return try body(SQLRow(index: index, values: r))
    }
}
