import PipelineCore

/// Conversions between the database's text form of TIMESTAMPTZ (the session
/// runs in UTC) and RFC 3339.
package enum SQLTime {
    /// `2026-11-25 08:00:00.25+00` (PostgreSQL) or `…+00:00` (CockroachDB) → `2026-11-25T08:00:00.250Z`.
    package static func rfc3339(_ text: String) -> String {
        var s = Substring(text)
        if let plus = s.lastIndex(where: { $0 == "+" || $0 == "-" }), plus > s.index(s.startIndex, offsetBy: 10) {
            s = s[..<plus]
        }
        let iso = s.replacingOccurrences(of: " ", with: "T") + "Z"
        if let parsed = Timestamp.parse(iso) { return Timestamp.format(epochMicros: parsed.epochMicros) }
        return iso
    }
}

extension Substring {
    fileprivate func replacingOccurrences(of a: Character, with b: Character) -> String {
        String(map { $0 == a ? b : $0 })
    }
}
