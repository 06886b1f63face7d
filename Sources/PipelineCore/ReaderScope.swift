/// Which devices a reader key sees: all, or those whose id starts with a prefix
/// (`ward-3-`), so a ward's screen never shows another ward's patients.
package enum ReaderScope: Sendable, Hashable, CustomStringConvertible {
    case all
    case prefix(String)

    /// `all` or `prefix:<device-id prefix>` (1–64 device-id characters); nil otherwise.
    package init?(_ text: String) {
        if text == "all" {
            self = .all
        } else if text.hasPrefix("prefix:"), case let p = String(text.dropFirst("prefix:".count)), Validation.isValidDeviceID(p) {
            self = .prefix(p)
        } else {
            return nil
        }
    }

    package var description: String {
        switch self {
        case .all: "all"
        case .prefix(let p): "prefix:\(p)"
        }
    }

    package func contains(_ deviceID: String) -> Bool {
        switch self {
        case .all: true
        case .prefix(let p): deviceID.hasPrefix(p)
        }
    }
}
