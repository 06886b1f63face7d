import AMQPClient
import Foundation
import NIOCore
import PipelineCore

/// Serves the TCP line protocol on one connection. Lines may be pipelined:
/// each reading is published as soon as it is read (after the connection's
/// authentication resolved), and replies are written in the order the lines
/// arrived, each only after its broker confirm.
final class ReadingLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let acceptor: ReadingAcceptor
    private let admission: Admission
    /// Completes when every reply so far has been written.
    private var tail: EventLoopFuture<Void>?
    /// The device this connection authenticated as; nil until an auth line succeeded.
    private var device: EventLoopFuture<String?>?
    private var closing = false
    private var sawLine = false

    init(acceptor: ReadingAcceptor, admission: Admission) {
        self.acceptor = acceptor
        self.admission = admission
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let line = Self.unwrapInboundIn(data)
        if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        let first = !sawLine
        sawLine = true
        let eventLoop = context.eventLoop
        let bytes = Data(line.readableBytesView)
        switch LineRequest.parse(bytes) {
        case .failure(let error):
            acceptor.recordRejected(.tcp, reason: "invalid")
            enqueueReply(eventLoop.makeSucceededFuture(error.reply), context: context)
        case .success(.auth(let token)):
            guard first else {
                enqueueReply(eventLoop.makeSucceededFuture(.error("auth must be the first line")), context: context)
                return
            }
            authenticate(token, context: context)
        case .success(.reading(let reading)):
            if admission.authenticator != nil {
                let device = self.device ?? eventLoop.makeSucceededFuture(nil)
                let channel = context.channel
                enqueueReply(
                    device.assumeIsolated().flatMap { [self] d in
                        guard let d else {
                            // No valid auth line: refuse and close after this reply.
                            acceptor.recordRejected(.tcp, reason: "unauthorized")
                            closeAfterReplies(channel)
                            return eventLoop.makeSucceededFuture(.unauthorized)
                        }
                        return publish(reading, raw: bytes, device: d, on: eventLoop)
                    }.nonisolated(), context: context)
            } else {
                enqueueReply(publish(reading, raw: bytes, device: nil, on: eventLoop), context: context)
            }
        }
    }

    private func authenticate(_ token: String, context: ChannelHandlerContext) {
        let eventLoop = context.eventLoop
        guard let authenticator = admission.authenticator else {
            enqueueReply(eventLoop.makeSucceededFuture(.authOK), context: context)
            return
        }
        let verdict = eventLoop.makePromise(of: DeviceAuthenticator.Verdict.self)
        verdict.completeWithTask { await authenticator.verify(token) }
        device = verdict.futureResult.map { v in
            if case .authorized(let d) = v { return d }
            return nil
        }
        let reply = verdict.futureResult.map { [acceptor] v -> LineReply in
            switch v {
            case .authorized: return .authOK
            case .unauthorized:
                acceptor.recordRejected(.tcp, reason: "unauthorized")
                return .unauthorized
            case .unavailable(let why):
                acceptor.recordRejected(.tcp, reason: "auth_unavailable")
                return .error(why)
            }
        }
        enqueueReply(reply, context: context)
        let channel = context.channel
        verdict.futureResult.assumeIsolated().whenSuccess { [self] v in
            if case .authorized = v { return }
            closeAfterReplies(channel)
        }
    }

    private func publish(
        _ reading: Reading, raw: Data, device: String?, on eventLoop: any EventLoop
    ) -> EventLoopFuture<LineReply> {
        switch admission.admit([reading], device: device) {
        case .admitted: break
        case .wrongDevice(_, let message):
            acceptor.recordRejected(.tcp, reason: "unauthorized")
            return eventLoop.makeSucceededFuture(.nack(seq: reading.seq, error: message))
        case .limited(let retryAfter, let message):
            acceptor.recordRejected(.tcp, reason: "rate_limited")
            return eventLoop.makeSucceededFuture(.nack(seq: reading.seq, error: message, retryAfter: retryAfter))
        }
        let promise = eventLoop.makePromise(of: LineReply.self)
        acceptor.accept(reading, validatedJSON: Array(raw), via: .tcp) { result in
            switch result {
            case .success: promise.succeed(.ack(seq: reading.seq))
            case .failure(let error): promise.succeed(.nack(seq: reading.seq, error: error.description, retryAfter: 1))
            }
        }
        return promise.futureResult
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closing else { return }
        if error is LineFrameDecoder.LineTooLong {
            acceptor.recordRejected(.tcp, reason: "too_large")
            let reply = LineReply.error("line exceeds \(ReadingLimits.maxLineBytes) bytes; closing")
            enqueueReply(context.eventLoop.makeSucceededFuture(reply), context: context)
        }
        closeAfterReplies(context.channel)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TCPIngestServer.Drain {
            // Graceful shutdown: answer what was read, then close.
            closeAfterReplies(context.channel)
        } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            enqueueReply(context.eventLoop.makeSucceededFuture(.error("idle timeout; closing")), context: context)
            closeAfterReplies(context.channel)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Stops reading lines and closes once every reply owed so far is written. Runs on
    /// the next tick, so a reply being enqueued right now is part of `tail` too.
    private func closeAfterReplies(_ channel: any Channel) {
        closing = true
        channel.eventLoop.assumeIsolated().execute { [self] in
            (tail ?? channel.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func enqueueReply(_ reply: EventLoopFuture<LineReply>, context: ChannelHandlerContext) {
        let channel = context.channel
        let previous = tail ?? context.eventLoop.makeSucceededVoidFuture()
        tail = previous.flatMap { reply }.assumeIsolated().flatMap { [self] r in
            let written = channel.write(ByteBuffer(string: r.line))
            scheduleFlush(channel)
            return written
        }.nonisolated().recover { _ in }
    }

    private var flushScheduled = false

    /// One flush per event-loop tick for all the replies that became ready in it
    /// (confirms arrive in bursts): one syscall instead of one per reply.
    private func scheduleFlush(_ channel: any Channel) {
        guard !flushScheduled else { return }
        flushScheduled = true
        channel.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            channel.flush()
        }
    }
}
