import NIOConcurrencyHelpers

/// Counters of a run, shared by every device task.
final class SimulatorStats: Sendable {
    struct State {
        var sent = 0
        var acked = 0
        var failed = 0
        var retries = 0
        var latenciesMs: [Double] = []
        var injected: [InjectedAnomaly] = []
        var ackedPairs: [(String, Int64)] = []
    }

    private let state = NIOLockedValueBox(State())

    func sent(_ injected: InjectedAnomaly?) {
        state.withLockedValue {
            $0.sent += 1
            if let injected { $0.injected.append(injected) }
        }
    }

    func acked(_ deviceID: String, _ seq: Int64, latencyMs: Double) {
        state.withLockedValue {
            $0.acked += 1
            $0.latenciesMs.append(latencyMs)
            $0.ackedPairs.append((deviceID, seq))
        }
    }

    func retried() { state.withLockedValue { $0.retries += 1 } }
    func failed() { state.withLockedValue { $0.failed += 1 } }

    var snapshot: State { state.withLockedValue { $0 } }

    /// Counters only, cheap enough for a status line.
    var counters: (sent: Int, acked: Int, failed: Int, retries: Int, p99: Double?) {
        state.withLockedValue { s in
            let recent = s.latenciesMs.suffix(5000).sorted()
            return (s.sent, s.acked, s.failed, s.retries, Self.percentile(recent, 0.99))
        }
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
