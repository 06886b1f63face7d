import Foundation
import Synchronization

/// Reads configuration from environment variables (flags override them in the executables).
///
/// A value that is set but cannot be parsed (`ALERTS_PORT=80a`) is never taken for unset: the
/// readers return nil for it and remember it, and the executable refuses to start, naming every
/// such variable (`problems`, checked once the command line is parsed).
package enum Env {
    package static func string(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }

    package static func int(_ name: String) -> Int? { parsed(name, as: "an integer") { Int($0) } }

    package static func int64(_ name: String) -> Int64? { parsed(name, as: "an integer") { Int64($0) } }

    package static func uint64(_ name: String) -> UInt64? { parsed(name, as: "a non-negative integer") { UInt64($0) } }

    /// A finite number (`1.5`, `2e3`; not `nan` or `inf`).
    package static func double(_ name: String) -> Double? {
        parsed(name, as: "a number") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
    }

    /// `1`, `true`, `on`, `yes` are true; `0`, `false`, `off`, `no` are false.
    package static func bool(_ name: String) -> Bool? { parsed(name, as: "on or off (also 1/0, true/false, yes/no)", flag) }

    /// The same words as `bool`, for a flag's value.
    package static func flag(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "1", "true", "on", "yes": return true
        case "0", "false", "off", "no": return false
        default: return nil
        }
    }

    /// One line per variable that was read and could not be parsed, in the order they were read.
    package static var problems: [String] { state.withLock { $0.problems } }

    private static func parsed<T>(_ name: String, as kind: String, _ parse: (String) -> T?) -> T? {
        guard let raw = string(name) else { return nil }
        let value = raw.trimmingCharacters(in: .whitespaces)
        if let v = parse(value) { return v }
        state.withLock { s in
            guard s.named.insert(name).inserted else { return }
            s.problems.append("\(name)='\(raw)' is not \(kind)")
        }
        return nil
    }

    private struct State: Sendable {
        var named: Set<String> = []
        var problems: [String] = []
    }

    private static let state = Mutex(State())
}
