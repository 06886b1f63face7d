import Foundation

/// Resident memory (MiB) and CPU time (s) of the services, from /proc.
enum ProcessStats {
    /// VmRSS of one process.
    static func rssMiB(_ pid: Int32) -> Double? {
        field("VmRSS", in: "/proc/\(pid)/status").map { $0 / 1024 }
    }

    /// Proportional set size of a process and its children (PostgreSQL's backends share
    /// its buffers; summing their RSS would count them once per backend).
    static func treePssMiB(_ root: Int32) -> Double? {
        var total = 0.0
        var found = false
        for pid in [root] + children(of: root) {
            if let kb = field("Pss", in: "/proc/\(pid)/smaps_rollup") {
                total += kb
                found = true
            }
        }
        return found ? total / 1024 : nil
    }

    /// User and system CPU seconds of a process (and its children's, with `tree`).
    static func cpuSeconds(_ pid: Int32, tree: Bool = false) -> Double? {
        var total = 0.0
        var found = false
        for p in [pid] + (tree ? children(of: pid) : []) {
            guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // Fields after "pid (comm) ": state is the 1st, utime the 12th, stime the 13th.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            total += (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
            found = true
        }
        return found ? total : nil
    }

    static func children(of parent: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap(Int32.init).filter { pid in
            field("PPid", in: "/proc/\(pid)/status").map { Int32($0) == parent } ?? false
        }
    }

    /// The number after `name:` in a /proc key-value file.
    static func field(_ name: String, in path: String) -> Double? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Double(line.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace).first ?? "")
        }
        return nil
    }

    /// The first line of a pid file, as a pid.
    static func pid(fromFile path: String) -> Int32? {
        (try? String(contentsOfFile: path, encoding: .utf8))
            .flatMap { Int32($0.split(separator: "\n").first?.trimmingCharacters(in: .whitespaces) ?? "") }
    }
}
