import Foundation
import NIOCore
import NIOSSL
import PipelineCore

/// What became of one attempt to deliver a reading.
enum Outcome: Sendable {
    case acked
    /// Refused; `retry` tells whether sending it again can help (503, 429, nack) or not (400).
    case refused(reason: String, retry: Bool)
}

/// The server refused the device's token.
struct AuthRefused: Error, CustomStringConvertible {
    var reply: String
    var description: String { "authentication refused: \(reply)" }
    /// `{"error":"unauthorized"}` is final; anything else (such as a 503 while credentials load) may pass later.
    var isFinal: Bool { reply.contains("\"unauthorized\"") }
}

/// One device's connection to one target, on one event loop: `LineLink` (TCP,
/// optionally TLS) or `HTTPLink` (HTTP(S)), made by a `DeviceConnector`.
protocol DeviceLink: Sendable {
    var isActive: Bool { get }
    func close()
    /// Sends one reading; a reply later than `timeout` fails with `ReplyTimeout`.
    func send(_ reading: Reading, timeout: TimeAmount) -> EventLoopFuture<Outcome>
}
