import Foundation

/// What a run looks like now: for the status line and the benchmark's ramp.
package struct SimulatorStatus: Sendable {
    package var elapsed: Duration
    package var sent: Int
    package var acked: Int
    package var failed: Int
    package var retries: Int
    /// Devices holding an open connection.
    package var connected: Int
    /// Readings acknowledged per second since the previous status.
    package var ackedPerSecond: Double
    /// p99 ack latency since the previous status; nil when nothing was acknowledged.
    package var p99Ms: Double?

    /// One line for humans: rate, acked, retries, failures, p99 ack latency.
    package var line: String {
        let seconds = Double(elapsed.components.seconds)
        let p99 = p99Ms.map { String(format: "%.1f ms", $0) } ?? "-"
        return String(
            format: "%5.0fs  connected %d  %.0f acked/s  sent %d  acked %d  retries %d  failed %d  p99 ack %@", seconds,
            connected, ackedPerSecond, sent, acked, retries, failed, p99)
    }
}
