import NIOCore
import PipelineCore

/// A device posting each reading to `/v1/readings`, its token as a bearer token.
struct HTTPLink: DeviceLink {
    let connection: HTTPConnection
    let token: String?

    var isActive: Bool { connection.isActive }

    func close() { connection.channel.close(promise: nil) }

    func send(_ reading: Reading, timeout: TimeAmount) -> EventLoopFuture<Outcome> {
        var headers = [("Content-Type", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return connection.requesting(.POST, "/v1/readings", headers: headers, body: ReadingCodec.encode(reading), timeout: timeout)
            .map { reply in
                switch reply.status {
                case 202: return .acked
                case 429, 500...599: return .refused(reason: "HTTP \(reply.status): \(reply.body.prefix(200))", retry: true)
                default: return .refused(reason: "HTTP \(reply.status): \(reply.body.prefix(200))", retry: false)
                }
            }
    }
}
