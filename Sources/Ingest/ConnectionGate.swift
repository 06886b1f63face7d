import NIOCore
import PipelineCore

/// The first handler of a TCP connection, ahead of TLS: admits the connection
/// through the `ConnectionLimiter` before any handshake is spent on it. A
/// refused plain-TCP connection gets the error line; over TLS, which could not
/// carry it without a handshake, it is closed. Later handlers `prove` it.
final class ConnectionGate: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limiter: ConnectionLimiter
    private let tls: Bool
    private var ticket: ConnectionLimiter.Ticket?
    private var started = false
    private var proven = false

    init(limiter: ConnectionLimiter, tls: Bool) {
        self.limiter = limiter
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        // A refused connection goes no further: the handlers behind never see it active.
        if ticket != nil { context.fireChannelActive() }
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        switch limiter.admit(address: context.channel.remoteAddress?.ipAddress ?? "unknown") {
        case .success(let t): ticket = t
        case .failure(let why):
            if !tls { context.writeAndFlush(NIOAny(ByteBuffer(string: LineReply.error(why.message).line)), promise: nil) }
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard ticket != nil else { return }
        context.fireChannelRead(data)
    }

    /// The connection showed it is a device (a valid auth line, or reading).
    func prove() {
        guard !proven, let ticket else { return }
        proven = true
        limiter.prove(ticket)
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { release() }

    private func release() {
        if let ticket { limiter.release(ticket) }
        ticket = nil
    }
}
