package import NIOCore
package import NIOHTTP1
import NIOPosix
package import NIOSSL

/// A response as the simulator and the tests need it.
package struct HTTPReply: Sendable {
    package var status: Int
    package var headers: [(String, String)]
    package var body: String

    package func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A persistent HTTP/1.1 (or HTTPS) connection; requests go one at a time.
package final class HTTPConnection: Sendable {
    struct Request {
        var head: HTTPRequestHead
        var body: ByteBuffer?
        var promise: EventLoopPromise<HTTPReply>
        /// When the reply must have come; nil waits as long as the connection lives.
        var deadline: NIODeadline? = nil
    }

    let channel: any Channel
    let host: String

    init(channel: any Channel, host: String) {
        self.channel = channel
        self.host = host
    }

    package static func connect(
        host: String, port: Int, tls: NIOSSLContext?, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(5)
    ) async throws -> HTTPConnection {
        try await connecting(host: host, port: port, tls: tls, group: group, timeout: timeout).get()
    }

    static func connecting(
        host: String, port: Int, tls: NIOSSLContext?, group: any EventLoopGroup, timeout: TimeAmount
    ) -> EventLoopFuture<HTTPConnection> {
        ClientChannel.connect(host: host, port: port, tls: tls, group: group, timeout: timeout) { sync in
            try sync.addHTTPClientHandlers()
            try sync.addHandler(HTTPClientHandler())
        }.map { HTTPConnection(channel: $0, host: host) }
    }

    /// Sends a request and returns the whole response; with a `timeout`, as `LineConnection.send`.
    package func request(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: TimeAmount? = nil
    ) async throws -> HTTPReply {
        try await requesting(method, path, headers: headers, body: body, timeout: timeout).get()
    }

    /// As `request`, as a future.
    func requesting(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)], body: [UInt8]?, timeout: TimeAmount?
    ) -> EventLoopFuture<HTTPReply> {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        for (k, v) in headers { head.headers.add(name: k, value: v) }
        if let body { head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count)) }
        let promise = channel.eventLoop.makePromise(of: HTTPReply.self)
        let request = Request(
            head: head, body: body.map { ByteBuffer(bytes: $0) }, promise: promise, deadline: timeout.map { .now() + $0 })
        channel.writeAndFlush(request, promise: nil)
        return promise.futureResult
    }

    package var isActive: Bool { channel.isActive }

    package func close() async {
        try? await channel.close()
    }
}

final class HTTPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPConnection.Request
    typealias OutboundOut = HTTPClientRequestPart

    private let pending = PendingReplies<HTTPReply>()
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        pending.append(request.promise, deadline: request.deadline, context: context)
        context.write(Self.wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body { context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(Self.wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.clear()
        case .body(var b):
            body.writeBuffer(&b)
        case .end:
            guard let h = head, let promise = pending.popFirst() else { return }
            head = nil
            promise.succeed(
                HTTPReply(status: Int(h.status.code), headers: h.headers.map { ($0.name, $0.value) }, body: String(buffer: body)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending.failAll(LineClientHandler.ConnectionClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        pending.failAll(error)
        context.close(promise: nil)
    }
}
