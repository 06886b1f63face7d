import NIOConcurrencyHelpers

/// Counters of a run, shared by every device task. Latencies go into
/// histograms, so memory stays flat however long the run.
final class SimulatorStats: Sendable {
    struct State {
        var sent = 0
        var acked = 0
        var failed = 0
        var retries = 0
        var connected = 0
        var maxConnected = 0
        var latency = LatencyHistogram()
        var injected: [InjectedAnomaly] = []
        /// Device index and seq of each acknowledged reading, when the run keeps them.
        var ackedPairs: [AckedPair] = []
        /// When the run started: gap times count from here.
        var start = ContinuousClock.now
        /// When each device's newest reading was acked (ms since the start; -1 before the first).
        var lastAckMs: [Int64] = []
        /// Silences between two acks of a device longer than the threshold.
        var gaps: [AckGap] = []
        /// Since the last status: acked count and latencies.
        var windowAcked = 0
        var windowLatency = LatencyHistogram()
    }

    struct AckedPair: Sendable {
        var device: Int32
        var seq: Int64
    }

    private let state: NIOLockedValueBox<State>
    let keepsPairs: Bool
    let gapThresholdMs: Int64

    init(keepsPairs: Bool, devices: Int, gapThresholdMs: Int64) {
        self.keepsPairs = keepsPairs
        self.gapThresholdMs = gapThresholdMs
        var s = State()
        s.lastAckMs = [Int64](repeating: -1, count: devices)
        state = NIOLockedValueBox(s)
    }

    func sent(_ injected: [InjectedAnomaly]) {
        state.withLockedValue {
            $0.sent += 1
            if !injected.isEmpty { $0.injected += injected }
        }
    }

    func acked(device: Int, seq: Int64, latencyMs: Double) {
        let keepsPairs = self.keepsPairs
        let threshold = gapThresholdMs
        let instant = ContinuousClock.now
        state.withLockedValue {
            let now = Int64((instant - $0.start) / .milliseconds(1))
            let last = $0.lastAckMs[device]
            if last >= 0, now - last > threshold { $0.gaps.append(AckGap(device: device, fromMs: last, toMs: now)) }
            $0.lastAckMs[device] = now
            $0.acked += 1
            $0.windowAcked += 1
            $0.latency.record(ms: latencyMs)
            $0.windowLatency.record(ms: latencyMs)
            if keepsPairs { $0.ackedPairs.append(AckedPair(device: Int32(device), seq: seq)) }
        }
    }

    func started(at instant: ContinuousClock.Instant) { state.withLockedValue { $0.start = instant } }

    func retried() { state.withLockedValue { $0.retries += 1 } }
    func failed() { state.withLockedValue { $0.failed += 1 } }

    func connectionOpened() {
        state.withLockedValue {
            $0.connected += 1
            $0.maxConnected = max($0.maxConnected, $0.connected)
        }
    }

    func connectionClosed() { state.withLockedValue { $0.connected -= 1 } }

    var snapshot: State { state.withLockedValue { $0 } }

    /// Counters, plus the acked count and latencies since the previous call (which it resets).
    func takeWindow() -> (state: State, windowAcked: Int, windowLatency: LatencyHistogram) {
        state.withLockedValue { s in
            var copy = s
            copy.ackedPairs = []
            copy.injected = []
            copy.gaps = []
            copy.lastAckMs = []
            let window = (s.windowAcked, s.windowLatency)
            s.windowAcked = 0
            s.windowLatency = LatencyHistogram()
            return (copy, window.0, window.1)
        }
    }
}
