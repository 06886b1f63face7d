import NIOConcurrencyHelpers
package import NIOCore
import NIOExtras
import NIOPosix
package import NIOSSL

/// A persistent TCP (or TCP+TLS) connection speaking the line protocol.
/// Requests may be pipelined; replies complete them in order.
package final class LineConnection: Sendable {
    struct Request {
        var line: ByteBuffer
        var promise: EventLoopPromise<String>
        /// When the reply must have come; nil waits as long as the connection lives.
        var deadline: NIODeadline? = nil
    }

    let channel: any Channel

    init(channel: any Channel) { self.channel = channel }

    /// Connects; `tls` adds a TLS client handler that verifies `host` against the trust roots.
    package static func connect(
        host: String, port: Int, tls: NIOSSLContext?, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(5)
    ) async throws -> LineConnection {
        try await connecting(host: host, port: port, tls: tls, group: group, timeout: timeout).get()
    }

    static func connecting(
        host: String, port: Int, tls: NIOSSLContext?, group: any EventLoopGroup, timeout: TimeAmount
    ) -> EventLoopFuture<LineConnection> {
        ClientChannel.connect(host: host, port: port, tls: tls, group: group, timeout: timeout) { sync in
            try sync.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
            try sync.addHandler(LineClientHandler())
        }.map { LineConnection(channel: $0) }
    }

    /// Sends one line (a newline is appended) and returns the reply line. With a
    /// `timeout`, a reply that does not come in time fails every pending request
    /// with `ReplyTimeout` and closes the connection (later replies could not be matched).
    package func send(_ line: String, timeout: TimeAmount? = nil) async throws -> String {
        try await sending(line, timeout: timeout).get()
    }

    /// As `send`, as a future. On the channel's event loop the line is written at
    /// once; from elsewhere, lines sent in the same moment share one flush (one syscall).
    func sending(_ line: String, timeout: TimeAmount?) -> EventLoopFuture<String> {
        let promise = channel.eventLoop.makePromise(of: String.self)
        var buffer = channel.allocator.buffer(capacity: line.utf8.count + 1)
        buffer.writeString(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
        let request = Request(line: buffer, promise: promise, deadline: timeout.map { .now() + $0 })
        // A write that fails (the connection closed before it) fails the request too:
        // no reply can come for a line that was never sent.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { promise.fail($0) }
        if channel.eventLoop.inEventLoop {
            channel.writeAndFlush(request, promise: written)
            return promise.futureResult
        }
        channel.eventLoop.execute { [channel, flushScheduled] in
            // On the event loop, so every line written before the flush runs is part of it.
            channel.write(request, promise: written)
            if !flushScheduled.withLockedValue({ $0 }) {
                flushScheduled.withLockedValue { $0 = true }
                channel.eventLoop.execute {
                    flushScheduled.withLockedValue { $0 = false }
                    channel.flush()
                }
            }
        }
        return promise.futureResult
    }

    /// Lines sent in the same moment share one flush (one syscall).
    private let flushScheduled = NIOLockedValueBox(false)

    /// Writes all `lines` at once (one flush, so they leave together) and returns a future
    /// reply for each, in order: a client that pipelines a whole batch.
    package func pipeline(_ lines: [String]) -> [EventLoopFuture<String>] {
        let requests = lines.map { line in
            var buffer = channel.allocator.buffer(capacity: line.utf8.count + 1)
            buffer.writeString(line)
            buffer.writeInteger(UInt8(ascii: "\n"))
            return Request(line: buffer, promise: channel.eventLoop.makePromise(of: String.self))
        }
        channel.eventLoop.execute { [channel] in
            for r in requests {
                let written = channel.eventLoop.makePromise(of: Void.self)
                written.futureResult.whenFailure { r.promise.fail($0) }
                channel.write(r, promise: written)
            }
            channel.flush()
        }
        return requests.map(\.promise.futureResult)
    }

    /// Sends raw bytes without waiting for anything (for tests of malformed input).
    package func sendRaw(_ bytes: [UInt8], expectReply: Bool) async throws -> String? {
        let promise = channel.eventLoop.makePromise(of: String.self)
        channel.writeAndFlush(Request(line: ByteBuffer(bytes: bytes), promise: promise), promise: nil)
        if !expectReply { promise.succeed(""); return nil }
        return try await promise.futureResult.get()
    }

    package var isActive: Bool { channel.isActive }

    package func close() async {
        try? await channel.close()
    }
}

/// Matches reply lines to requests in order; fails what is pending when the connection goes.
final class LineClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = LineConnection.Request
    typealias OutboundOut = ByteBuffer

    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "connection closed" }
    }

    private let pending = PendingReplies<String>()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        pending.append(request.promise, deadline: request.deadline, context: context)
        context.write(Self.wrapOutboundOut(request.line), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = String(buffer: Self.unwrapInboundIn(data))
        if let promise = pending.popFirst() {
            promise.succeed(line)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending.failAll(ConnectionClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        pending.failAll(error)
        context.close(promise: nil)
    }
}
