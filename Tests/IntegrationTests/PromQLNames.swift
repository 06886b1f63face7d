import Foundation

/// The metric names a PromQL expression reads, for checking dashboards against
/// what the services really expose. Not a parser: it removes what cannot be a
/// metric name (strings, label matchers, ranges, grouping clauses, variables)
/// and keeps the identifiers that are not functions or keywords.
enum PromQLNames {
    static let keywords: Set<String> = [
        "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf",
        "nan",
    ]

    static func metricNames(in expression: String) -> Set<String> {
        var text = expression
        for pattern in [
            #""(?:[^"\\]|\\.)*""#, #"'(?:[^'\\]|\\.)*'"#,  // strings
            #"\{[^}]*\}"#,  // label matchers
            #"\[[^\]]*\]"#,  // ranges and subqueries
            #"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#,  // grouping clauses
            #"\$\{?\w+\}?"#,  // Grafana variables
        ] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        var names: Set<String> = []
        let identifier = try! NSRegularExpression(pattern: #"[A-Za-z_:][A-Za-z0-9_:]*"#)
        let ns = text as NSString
        for match in identifier.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let name = ns.substring(with: match.range)
            let before = match.range.location > 0 ? ns.substring(with: NSRange(location: match.range.location - 1, length: 1)) : " "
            let after = ns.substring(from: match.range.location + match.range.length).drop { $0 == " " || $0 == "\n" }
            if after.first == "(" || keywords.contains(name.lowercased()) { continue }  // a function or keyword
            if before.first.map({ $0.isNumber || $0 == "." }) == true { continue }  // 1e3, 5m
            names.insert(name)
        }
        return names
    }

    /// Every `expr` of every panel (rows' panels included) of a Grafana dashboard.
    static func expressions(inDashboard data: Data) throws -> [String] {
        func walk(_ value: Any, into out: inout [String]) {
            if let object = value as? [String: Any] {
                if let expr = object["expr"] as? String { out.append(expr) }
                for child in object.values { walk(child, into: &out) }
            } else if let array = value as? [Any] {
                for child in array { walk(child, into: &out) }
            }
        }
        var out: [String] = []
        walk(try JSONSerialization.jsonObject(with: data), into: &out)
        return out
    }
}
