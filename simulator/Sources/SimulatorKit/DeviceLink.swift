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

/// One device's connection to one target, over either protocol, on one event loop.
enum DeviceLink: Sendable {
    case line(LineConnection)
    case http(HTTPConnection, token: String?)

    /// Connects on `loop`; on TCP a token is presented at once with the `{"auth":…}` line.
    static func connect(
        _ target: Target, tls: NIOSSLContext?, token: String?, timeout: TimeAmount, on loop: any EventLoop
    ) -> EventLoopFuture<DeviceLink> {
        let tls = target.usesTLS ? tls : nil
        if target.isHTTP {
            return HTTPConnection.connecting(host: target.host, port: target.port, tls: tls, group: loop, timeout: .seconds(5))
                .map { .http($0, token: token) }
        }
        return LineConnection.connecting(host: target.host, port: target.port, tls: tls, group: loop, timeout: .seconds(5))
            .flatMap { c in
                guard let token else { return loop.makeSucceededFuture(.line(c)) }
                return c.sending("{\"auth\":\(jsonString(token))}", timeout: timeout).flatMapThrowing { reply in
                    guard reply == #"{"ok":true}"# else {
                        c.channel.close(promise: nil)
                        throw AuthRefused(reply: reply)
                    }
                    return .line(c)
                }
            }
    }

    var isActive: Bool {
        switch self {
        case .line(let c): return c.isActive
        case .http(let c, _): return c.isActive
        }
    }

    func close() {
        switch self {
        case .line(let c): c.channel.close(promise: nil)
        case .http(let c, _): c.channel.close(promise: nil)
        }
    }

    /// Sends one reading; a reply later than `timeout` fails with `ReplyTimeout`.
    func send(_ reading: Reading, timeout: TimeAmount) -> EventLoopFuture<Outcome> {
        let body = ReadingCodec.encode(reading)
        switch self {
        case .line(let c):
            return c.sending(String(decoding: body, as: UTF8.self), timeout: timeout).map { reply in
                if reply == "{\"ack\":\(reading.seq)}" { return .acked }
                let object = (try? JSONSerialization.jsonObject(with: Data(reply.utf8))) as? [String: Any]
                if let ack = object?["ack"] as? NSNumber, ack.int64Value == reading.seq { return .acked }
                let error = object?["error"] as? String ?? "unreadable reply '\(reply.prefix(100))'"
                return .refused(reason: "nack: \(error)", retry: true)
            }
        case .http(let c, let token):
            var headers = [("Content-Type", "application/json")]
            if let token { headers.append(("Authorization", "Bearer \(token)")) }
            return c.requesting(.POST, "/v1/readings", headers: headers, body: body, timeout: timeout).map { reply in
                switch reply.status {
                case 202: return .acked
                case 429, 500...599: return .refused(reason: "HTTP \(reply.status): \(reply.body.prefix(200))", retry: true)
                default: return .refused(reason: "HTTP \(reply.status): \(reply.body.prefix(200))", retry: false)
                }
            }
        }
    }
}
