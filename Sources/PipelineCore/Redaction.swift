/// Hides the secrets of connection strings before they are printed (`--help`,
/// logs, errors): an operator sees where a service connects, never with what.
package enum Redaction {
    /// `scheme://user:password@host…` and libpq's `password=…` with the password as `***`;
    /// a comma-separated list (`AMQP_URL`) element by element.
    package static func connectionString(_ s: String) -> String {
        s.split(separator: ",", omittingEmptySubsequences: false).map { redactOne(String($0)) }.joined(separator: ",")
    }

    private static func redactOne(_ s: String) -> String {
        if let scheme = s.range(of: "://") {
            let rest = s[scheme.upperBound...]
            guard let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return s }
            return String(s[..<rest.index(after: colon)]) + "***" + String(rest[at...])
        }
        // libpq key=value: password=secret or password='secret with spaces'.
        var out = ""
        var rest = Substring(s)
        while let r = rest.range(of: "password=") {
            out += rest[..<r.upperBound] + "***"
            var tail = rest[r.upperBound...]
            if tail.first == "'" {
                tail = tail.dropFirst()
                while let c = tail.first, c != "'" { tail = tail.dropFirst(c == "\\" ? 2 : 1) }
                tail = tail.dropFirst()
            } else {
                tail = tail.drop { $0 != " " }
            }
            rest = tail
        }
        return out + rest
    }
}
