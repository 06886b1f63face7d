import Foundation
import Synchronization

/// Loopback ports nothing listens on, drawn below the kernel's ephemeral range as
/// `scripts/stack.sh` draws its own: a port found by binding port 0 lies inside that
/// range, where any outgoing connection may take it as its source port before the
/// process meant to listen on it starts (seen: a chaos-cluster node that failed to
/// boot with `eaddrinuse`). Each port is handed out once per process.
package enum FreePort {
    private static let handedOut = Mutex<Set<Int>>([])

    package static func pick() throws -> Int {
        let (lo, hi) = range()
        for _ in 0..<1000 {
            let port = Int.random(in: lo...hi)
            guard handedOut.withLock({ !$0.contains(port) }), canListen(on: port) else { continue }
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw ChaosError("no free loopback port in \(lo)-\(hi)")
    }

    /// 20000 up to the first ephemeral port (`ip_local_port_range`), or 20000–60000 if it cannot be read.
    static func range() -> (Int, Int) {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) }
        if let first, first > 21_000 { return (20_000, first - 1) }
        return (20_000, 60_000)
    }

    /// True when a listening socket can be bound to the port now (no SO_REUSEADDR, so a
    /// port still held by a closing connection counts as taken).
    static func canListen(on port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
