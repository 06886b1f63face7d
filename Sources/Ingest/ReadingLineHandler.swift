import AMQPClient
import Foundation
import NIOCore
import PipelineCore

/// Serves the TCP line protocol on one connection. Lines may be pipelined:
/// each reading is published as soon as it is read (once the connection's
/// authentication resolved), and replies are written in the order the lines
/// arrived, each only after its broker confirm.
///
/// Every line gets a slot in `owed`, filled when its reply is known; the
/// filled slots at the head are written together, with one flush per tick.
///
/// It also guards the connection (admitted by the `ConnectionGate` ahead of
/// it): closed when authentication is on and no auth line came within
/// `authTimeout`, and closed when no complete line came for `idleTimeout`
/// (bytes that never end a line do not keep it open).
final class ReadingLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Auth {
        /// No auth line (yet); with authentication on, a reading now is refused.
        case none
        /// The token is being checked; readings wait in `waiting`.
        case pending
        case authorized(String)
        case refused
    }

    private let acceptor: ReadingAcceptor
    private let admission: Admission
    private let gate: ConnectionGate
    private let authTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var started = false
    private var proven = false
    /// When the last complete line came, on the event loop's clock (which tests drive).
    private var lastLine = NIODeadline.uptimeNanoseconds(0)
    private var timers: [Scheduled<Void>] = []
    private var idleTimer: Scheduled<Void>?
    /// Replies owed, in line order.
    private var owed = OrderedReplies<LineReply>()
    private var auth = Auth.none
    /// Readings read while their connection's token was being checked.
    private var waiting: [(slot: Int, reading: Reading)] = []
    private var closing = false
    private var sawLine = false
    private var flushScheduled = false
    private var context: ChannelHandlerContext?

    init(
        acceptor: ReadingAcceptor, admission: Admission, gate: ConnectionGate, authTimeout: TimeAmount,
        idleTimeout: TimeAmount
    ) {
        self.acceptor = acceptor
        self.admission = admission
        self.gate = gate
        self.authTimeout = authTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    /// Arms the connection's deadlines.
    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let loop = context.eventLoop.assumeIsolated()
        if admission.authenticator != nil {
            timers.append(loop.scheduleTask(in: authTimeout) { [self] in
                guard !proven, !closing else { return }
                acceptor.recordRejected(.tcp, reason: "unauthorized")
                fill(reserve(), .error("no auth line within \(authTimeout.nanoseconds / 1_000_000_000) s; closing"))
                closeWhenAnswered()
            })
        }
        lastLine = context.eventLoop.now
        armIdleTimer(loop, at: lastLine + idleTimeout)
    }

    /// Closes the connection once no complete line came for `idleTimeout`.
    private func armIdleTimer(_ loop: NIOIsolatedEventLoop, at deadline: NIODeadline) {
        idleTimer = loop.scheduleTask(deadline: deadline) { [self] in
            guard !closing else { return }
            let due = lastLine + idleTimeout
            if due <= loop.nonisolated().now {
                fill(reserve(), .error("idle timeout; closing"))
                closeWhenAnswered()
            } else {
                armIdleTimer(loop, at: due)
            }
        }
    }

    private func stop() {
        for t in timers { t.cancel() }
        timers = []
        idleTimer?.cancel()
        idleTimer = nil
    }

    /// The connection showed it is a device.
    private func prove() {
        guard !proven else { return }
        proven = true
        gate.prove()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let line = Self.unwrapInboundIn(data)
        if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        lastLine = context.eventLoop.now
        let first = !sawLine
        sawLine = true
        let raw = Array(line.readableBytesView)
        switch LineRequest.parse(raw) {
        case .failure(let error):
            acceptor.recordRejected(.tcp, reason: "invalid")
            fill(reserve(), error.reply)
        case .success(.auth(let token)):
            let slot = reserve()
            guard first else {
                fill(slot, .error("auth must be the first line"))
                return
            }
            authenticate(token, slot: slot, context: context)
        case .success(.reading(let reading)):
            let slot = reserve()
            guard admission.authenticator != nil else {
                prove()
                publish(reading, device: nil, slot: slot)
                return
            }
            switch auth {
            case .authorized(let device):
                publish(reading, device: device, slot: slot)
            case .pending:
                waiting.append((slot, reading))
            case .none, .refused:
                // No valid auth line: refuse and close after this reply.
                acceptor.recordRejected(.tcp, reason: "unauthorized")
                fill(slot, .unauthorized)
                closeWhenAnswered()
            }
        }
    }

    private func authenticate(_ token: String, slot: Int, context: ChannelHandlerContext) {
        guard let authenticator = admission.authenticator else {
            fill(slot, .authOK)
            return
        }
        auth = .pending
        let verdict = context.eventLoop.makePromise(of: DeviceAuthenticator.Verdict.self)
        verdict.completeWithTask { await authenticator.verify(token) }
        verdict.futureResult.assumeIsolated().whenSuccess { [self] v in
            switch v {
            case .authorized(let device):
                auth = .authorized(device)
                prove()
                fill(slot, .authOK)
                let ready = waiting
                waiting = []
                for w in ready { publish(w.reading, device: device, slot: w.slot) }
            case .unauthorized:
                acceptor.recordRejected(.tcp, reason: "unauthorized")
                refuse(slot, .unauthorized)
            case .unavailable(let why):
                acceptor.recordRejected(.tcp, reason: "auth_unavailable")
                refuse(slot, .error(why))
            }
        }
    }

    /// A failed auth line: its reply, then close; readings sent after it get no reply.
    private func refuse(_ slot: Int, _ reply: LineReply) {
        auth = .refused
        waiting = []
        owed.drop(after: slot)
        fill(slot, reply)
        closeWhenAnswered()
    }

    private func publish(_ reading: Reading, device: String?, slot: Int) {
        switch admission.admit([reading], device: device) {
        case .admitted: break
        case .wrongDevice(_, let message):
            acceptor.recordRejected(.tcp, reason: "unauthorized")
            fill(slot, .nack(seq: reading.seq, error: message))
            return
        case .limited(let retryAfter, let message):
            acceptor.recordRejected(.tcp, reason: "rate_limited")
            fill(slot, .nack(seq: reading.seq, error: message, retryAfter: retryAfter))
            return
        }
        guard let eventLoop = context?.eventLoop else { return }
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        // Published re-encoded, compactly: padding a line costs the device its bytes, not the broker.
        acceptor.accept(reading, via: .tcp) { result in
            let reply: LineReply
            switch result {
            case .success: reply = .ack(seq: reading.seq)
            case .failure(let error): reply = .nack(seq: reading.seq, error: error.publicDescription, retryAfter: error.retryAfter)
            }
            eventLoop.execute { handler.value.fill(slot, reply) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closing else { return }
        if let tooLong = error as? LineFrameDecoder.LineTooLong {
            acceptor.recordRejected(.tcp, reason: "too_large")
            fill(reserve(), .error("\(tooLong.first ? "auth line" : "line") exceeds \(tooLong.limit) bytes; closing"))
        }
        closeWhenAnswered()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TCPIngestServer.Drain {
            // Graceful shutdown: answer what was read, then close.
            closeWhenAnswered()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: - Replies in order

    /// Lines a connection may have unanswered before ingest stops reading from it, so a
    /// device that pipelines without reading its replies cannot exhaust memory.
    static let maxOwed = 4096
    private var paused = false

    private func reserve() -> Int {
        let slot = owed.reserve()
        if owed.count >= Self.maxOwed, !paused, let context {
            paused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
        return slot
    }

    private func resumeIfDrained(_ context: ChannelHandlerContext) {
        guard paused, owed.count < Self.maxOwed / 2, !closing else { return }
        paused = false
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        context.read()
    }

    /// Records a reply and writes every reply that is now due.
    private func fill(_ slot: Int, _ reply: LineReply) {
        guard owed.owes(slot), let context else { return }
        let wrote = owed.fill(slot, reply) { r in
            context.write(Self.wrapOutboundOut(ByteBuffer(string: r.line)), promise: nil)
        }
        if wrote > 0 {
            scheduleFlush(context)
            resumeIfDrained(context)
        }
        if closing && owed.isEmpty { close(context) }
    }

    /// One flush per event-loop tick for all the replies that became due in it
    /// (confirms arrive in bursts): one syscall instead of one per reply.
    private func scheduleFlush(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            self.context?.flush()
        }
    }

    /// Stops reading lines and closes once every reply owed is written.
    private func closeWhenAnswered() {
        closing = true
        if owed.isEmpty, let context { close(context) }
    }

    private func close(_ context: ChannelHandlerContext) {
        context.flush()
        context.close(promise: nil)
    }
}
