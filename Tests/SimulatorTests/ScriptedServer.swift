import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix

/// A stand-in for ingest that misbehaves on purpose: for each reading it
/// receives (line protocol, or `POST /v1/readings` over HTTP) it asks `policy`
/// what to do, records what it did, and does it.
final class ScriptedServer: Sendable {
    enum Action: Sendable, Equatable {
        /// Line: `{"ack":seq}`; HTTP: 202.
        case ack
        /// Line: a nack; HTTP: 503.
        case nack
        /// HTTP 429.
        case tooMany
        /// HTTP 400 (a request that sending again cannot fix).
        case reject
        /// Close the connection without a reply.
        case drop
        /// Keep the connection and never reply.
        case silent
    }

    struct Received: Sendable {
        var at: ContinuousClock.Instant
        var port: Int
        var device: String
        var seq: Int64
        var action: Action
    }

    /// Decides for the `attempt`-th time (1-based) this server sees (device, seq).
    typealias Policy = @Sendable (_ device: String, _ seq: Int64, _ attempt: Int) -> Action

    let port: Int
    private let channel: any Channel
    private let log: NIOLockedValueBox<[Received]>

    private init(port: Int, channel: any Channel, log: NIOLockedValueBox<[Received]>) {
        self.port = port
        self.channel = channel
        self.log = log
    }

    static func start(http: Bool = false, policy: @escaping Policy) async throws -> ScriptedServer {
        let log = NIOLockedValueBox<[Received]>([])
        let attempts = NIOLockedValueBox<[String: Int]>([:])
        let portBox = NIOLockedValueBox(0)
        let decide: @Sendable (Data) -> (String, Int64, Action)? = { body in
            guard let o = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any], let device = o["device_id"] as? String,
                let seq = (o["seq"] as? NSNumber)?.int64Value
            else { return nil }
            let n = attempts.withLockedValue { $0["\(device):\(seq)", default: 0] += 1; return $0["\(device):\(seq)"]! }
            let action = policy(device, seq, n)
            log.withLockedValue {
                $0.append(Received(at: .now, port: portBox.withLockedValue { $0 }, device: device, seq: seq, action: action))
            }
            return (device, seq, action)
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if http {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(HTTPScript(decide: decide))
                    } else {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(LineScript(decide: decide))
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        portBox.withLockedValue { $0 = port }
        return ScriptedServer(port: port, channel: channel, log: log)
    }

    var received: [Received] { log.withLockedValue { $0 } }

    func stop() async { try? await channel.close() }

    /// A loopback port with nothing listening: connects to it are refused.
    static func closedPort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress!.port!
        try channel.close().wait()
        return port
    }
}

private final class LineScript: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let decide: @Sendable (Data) -> (String, Int64, ScriptedServer.Action)?

    init(decide: @escaping @Sendable (Data) -> (String, Int64, ScriptedServer.Action)?) { self.decide = decide }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Data(Self.unwrapInboundIn(data).readableBytesView)
        guard let (_, seq, action) = decide(line) else {
            context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: "{\"error\":\"not a reading\"}\n")), promise: nil)
            return
        }
        switch action {
        case .ack: reply(context, "{\"ack\":\(seq)}")
        case .nack, .tooMany, .reject: reply(context, "{\"nack\":\(seq),\"error\":\"scripted nack\"}")
        case .drop: context.close(promise: nil)
        case .silent: break
        }
    }

    private func reply(_ context: ChannelHandlerContext, _ line: String) {
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: line + "\n")), promise: nil)
    }
}

private final class HTTPScript: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let decide: @Sendable (Data) -> (String, Int64, ScriptedServer.Action)?
    private var body = ByteBuffer()

    init(decide: @escaping @Sendable (Data) -> (String, Int64, ScriptedServer.Action)?) { self.decide = decide }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head: body.clear()
        case .body(var b): body.writeBuffer(&b)
        case .end:
            guard let (_, _, action) = decide(Data(body.readableBytesView)) else { return respond(context, .badRequest) }
            switch action {
            case .ack: respond(context, .accepted)
            case .nack: respond(context, .serviceUnavailable)
            case .tooMany: respond(context, .tooManyRequests)
            case .reject: respond(context, .badRequest)
            case .drop: context.close(promise: nil)
            case .silent: break
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus) {
        let text = "{\"scripted\":\(status.code)}"
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "Content-Length", value: String(text.utf8.count))
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }
}
