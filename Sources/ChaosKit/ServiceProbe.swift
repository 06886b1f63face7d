import SimulatorKit

/// A running service read from outside, as an operator's tooling reads it: its
/// `/readyz` and its Prometheus text. Shared by the chaos run, the benchmarks and the tests.
package enum ServiceProbe {
    /// Polls `/readyz` of an admin listener (plain HTTP, loopback) until it answers 200
    /// (true), `timeout` passes or `isAlive` reports the process gone (false).
    package static func waitUntilReady(
        port: Int, timeout: Duration = .seconds(60), isAlive: () -> Bool = { true }
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let c = try? await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil) {
                let status = try? await c.request(.GET, "/readyz", timeout: .seconds(2)).status
                await c.close()
                if status == 200 { return true }
            }
            guard isAlive() else { return false }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// The sum of every sample of `metric` (all its label sets) in a text exposition; nil when it has none.
    package static func sum(of metric: String, in text: String) -> Double? {
        var total: Double?
        for line in text.split(separator: "\n") {
            guard line.hasPrefix(metric), let next = line.dropFirst(metric.count).first, next == " " || next == "{",
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            total = (total ?? 0) + value
        }
        return total
    }

    /// The series names of a text exposition (`foo_bucket`, `foo_sum` … included).
    package static func seriesNames(in text: String) -> Set<String> {
        var names: Set<String> = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if let end = line.firstIndex(where: { $0 == "{" || $0 == " " }) { names.insert(String(line[..<end])) }
        }
        return names
    }
}
