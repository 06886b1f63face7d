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
}

/// One device's connection to one target, over either protocol.
enum DeviceLink: Sendable {
    case line(LineConnection)
    case http(HTTPConnection, token: String?)

    /// Connects; on TCP a token is presented at once with the `{"auth":…}` line.
    static func connect(_ target: Target, tls: NIOSSLContext?, token: String?, timeout: TimeAmount) async throws -> DeviceLink {
        if target.isHTTP {
            let c = try await HTTPConnection.connect(host: target.host, port: target.port, tls: target.usesTLS ? tls : nil)
            return .http(c, token: token)
        }
        let c = try await LineConnection.connect(host: target.host, port: target.port, tls: target.usesTLS ? tls : nil)
        if let token {
            let reply = try await c.send("{\"auth\":\(jsonString(token))}", timeout: timeout)
            guard reply == #"{"ok":true}"# else {
                await c.close()
                throw AuthRefused(reply: reply)
            }
        }
        return .line(c)
    }

    var isActive: Bool {
        switch self {
        case .line(let c): return c.isActive
        case .http(let c, _): return c.isActive
        }
    }

    func close() async {
        switch self {
        case .line(let c): await c.close()
        case .http(let c, _): await c.close()
        }
    }

    /// Sends one reading and waits for its fate; a reply later than `timeout` throws `ReplyTimeout`.
    func send(_ reading: Reading, timeout: TimeAmount) async throws -> Outcome {
        let body = ReadingCodec.encode(reading)
        switch self {
        case .line(let c):
            let reply = try await c.send(String(decoding: body, as: UTF8.self), timeout: timeout)
            if reply == "{\"ack\":\(reading.seq)}" { return .acked }
            let object = (try? JSONSerialization.jsonObject(with: Data(reply.utf8))) as? [String: Any]
            if let ack = object?["ack"] as? NSNumber, ack.int64Value == reading.seq { return .acked }
            let error = object?["error"] as? String ?? "unreadable reply '\(reply.prefix(100))'"
            return .refused(reason: "nack: \(error)", retry: true)
        case .http(let c, let token):
            var headers = [("Content-Type", "application/json")]
            if let token { headers.append(("Authorization", "Bearer \(token)")) }
            let reply = try await c.request(.POST, "/v1/readings", headers: headers, body: body, timeout: timeout)
            switch reply.status {
            case 202: return .acked
            case 429, 500...599: return .refused(reason: "HTTP \(reply.status): \(reply.body.prefix(200))", retry: true)
            default: return .refused(reason: "HTTP \(reply.status): \(reply.body.prefix(200))", retry: false)
            }
        }
    }
}
