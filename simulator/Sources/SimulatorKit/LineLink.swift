import Foundation
import NIOCore
import PipelineCore

/// A device on the TCP line protocol: one reading per line, an `{"ack":seq}` back.
struct LineLink: DeviceLink {
    let connection: LineConnection

    var isActive: Bool { connection.isActive }

    func close() { connection.channel.close(promise: nil) }

    func send(_ reading: Reading, timeout: TimeAmount) -> EventLoopFuture<Outcome> {
        connection.sending(String(decoding: ReadingCodec.encode(reading), as: UTF8.self), timeout: timeout).map { reply in
            if reply == "{\"ack\":\(reading.seq)}" { return .acked }
            let object = (try? JSONSerialization.jsonObject(with: Data(reply.utf8))) as? [String: Any]
            if let ack = object?["ack"] as? NSNumber, ack.int64Value == reading.seq { return .acked }
            let error = object?["error"] as? String ?? "unreadable reply '\(reply.prefix(100))'"
            return .refused(reason: "nack: \(error)", retry: true)
        }
    }
}
