import AMQPClient
import Foundation
import NIOCore
import PipelineCore

/// Serves the TCP line protocol on one connection. Lines may be pipelined:
/// each reading is published as soon as it is read, and replies are written in
/// the order the lines arrived, each only after its broker confirm.
final class ReadingLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let acceptor: ReadingAcceptor
    /// Completes when every reply so far has been written.
    private var tail: EventLoopFuture<Void>?
    private var closing = false

    init(acceptor: ReadingAcceptor) {
        self.acceptor = acceptor
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let line = Self.unwrapInboundIn(data)
        if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        enqueueReply(reply(to: line, on: context.eventLoop), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closing else { return }
        if error is LineFrameDecoder.LineTooLong {
            acceptor.recordRejected(.tcp, reason: "too_large")
            let reply = LineReply.error("line exceeds \(ReadingLimits.maxLineBytes) bytes; closing")
            enqueueReply(context.eventLoop.makeSucceededFuture(reply), context: context)
        }
        closing = true
        let channel = context.channel
        (tail ?? context.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TCPIngestServer.Drain {
            // Graceful shutdown: answer what was read, then close.
            closing = true
            let channel = context.channel
            (tail ?? context.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func enqueueReply(_ reply: EventLoopFuture<LineReply>, context: ChannelHandlerContext) {
        let channel = context.channel
        let previous = tail ?? context.eventLoop.makeSucceededVoidFuture()
        tail = previous.flatMap { reply }.flatMap { r in
            channel.writeAndFlush(ByteBuffer(string: r.line))
        }.recover { _ in }
    }

    private func reply(to line: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<LineReply> {
        switch LineRequest.parse(Data(line.readableBytesView)) {
        case .failure(let error):
            acceptor.recordRejected(.tcp, reason: "invalid")
            return eventLoop.makeSucceededFuture(error.reply)
        case .success(.auth):
            // Device authentication is not enforced yet: the token is accepted.
            return eventLoop.makeSucceededFuture(.authOK)
        case .success(.reading(let reading)):
            let promise = eventLoop.makePromise(of: LineReply.self)
            acceptor.accept(reading, via: .tcp) { result in
                switch result {
                case .success: promise.succeed(.ack(seq: reading.seq))
                case .failure(let error): promise.succeed(.nack(seq: reading.seq, error: error.description))
                }
            }
            return promise.futureResult
        }
    }
}
