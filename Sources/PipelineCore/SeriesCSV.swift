/// One series as `timestamp,value` rows, oldest first: what `pipeline detect` reads
/// and the detection benchmark's labelled series are stored as.
package enum SeriesCSV {
    /// One row; `valueText` is the value as written, so that output repeats it exactly.
    package struct Row: Sendable, Equatable {
        package var timestamp: String
        package var valueText: String
        package var value: Double
    }

    /// An error naming the line at fault (1-based, counting the header).
    package struct ParseError: Error, Equatable, CustomStringConvertible {
        package var line: Int
        package var message: String
        package var description: String { "line \(line): \(message)" }
    }

    /// Parses the rows; a first line whose value is not a number is taken as the
    /// header. Blank lines are skipped; `\r\n` and `\n` both end a line.
    package static func parse(_ text: String) throws(ParseError) -> [Row] {
        var rows: [Row] = []
        // "\r\n" is one Character in Swift, so it is matched as such.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, raw) in lines.enumerated() {
            var line = Substring(raw)
            if line.last == "\r" { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " }) { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 2 else {
                throw ParseError(line: index + 1, message: "expected 2 fields (timestamp,value), found \(fields.count)")
            }
            let valueText = fields[1].trimmingSpaces
            guard let value = Double(valueText), value.isFinite else {
                if index == 0 && rows.isEmpty { continue }  // the header
                throw ParseError(line: index + 1, message: "value '\(valueText.prefix(40))' is not a finite number")
            }
            rows.append(Row(timestamp: String(fields[0].trimmingSpaces), valueText: String(valueText), value: value))
        }
        return rows
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
