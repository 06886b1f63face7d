/// Where a simulated device sends: `tcp://host:port`, `tls://host:port`
/// (TCP with TLS), `https://host:port` or `http://host:port`.
package struct Target: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable { case tcp, tls, http, https }

    package var kind: Kind
    package var host: String
    package var port: Int

    package init(kind: Kind, host: String, port: Int) {
        self.kind = kind
        self.host = host
        self.port = port
    }

    package init?(_ s: String) {
        guard let sep = s.range(of: "://"), let kind = Kind(rawValue: String(s[..<sep.lowerBound]).lowercased()) else {
            return nil
        }
        var rest = s[sep.upperBound...]
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
            (1...65535).contains(port), colon > rest.startIndex
        else { return nil }
        self.init(kind: kind, host: String(rest[..<colon]), port: port)
    }

    package var usesTLS: Bool { kind == .tls || kind == .https }
    package var isHTTP: Bool { kind == .http || kind == .https }
    package var description: String { "\(kind.rawValue)://\(host):\(port)" }
}
