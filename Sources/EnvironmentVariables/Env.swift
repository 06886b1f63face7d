import Foundation

/// Reads configuration from environment variables (flags override them in the executables).
public enum Env {
    public static func string(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }

    public static func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }

    /// `1`, `true`, `on`, `yes` are true; `0`, `false`, `off`, `no` are false.
    public static func bool(_ name: String) -> Bool? { string(name).flatMap(flag) }

    /// The same words as `bool`, for a flag's value.
    public static func flag(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "1", "true", "on", "yes": return true
        case "0", "false", "off", "no": return false
        default: return nil
        }
    }
}
