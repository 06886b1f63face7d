/// PostgreSQL array literals, for statements that take a batch's rows as one array
/// parameter per column (`unnest($1::TEXT[], $2::INT8[])`): the statement's text, and
/// its parse and plan, stay the same whatever the batch's size. CockroachDB reads
/// the same literals.
package enum SQLArray {
    /// Strings, every element quoted (built byte by byte: the analyzer writes several per batch).
    package static func text(_ values: [String]) -> String {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var out: [UInt8] = []
        out.reserveCapacity(values.reduce(2) { $0 + $1.utf8.count + 4 })
        out.append(UInt8(ascii: "{"))
        for (i, value) in values.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(quote)
            for b in value.utf8 {
                if b == quote || b == backslash { out.append(backslash) }
                out.append(b)
            }
            out.append(quote)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Integers; nil is NULL.
    package static func int(_ values: [Int64?]) -> String {
        "{" + values.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }

    package static func int(_ values: [Int64]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// Finite numbers, in Swift's shortest form that reads back exactly; nil is NULL.
    package static func number(_ values: [Double?]) -> String {
        "{" + values.map { $0.map { "\($0)" } ?? "NULL" }.joined(separator: ",") + "}"
    }

    package static func number(_ values: [Double]) -> String {
        "{" + values.map { "\($0)" }.joined(separator: ",") + "}"
    }
}
