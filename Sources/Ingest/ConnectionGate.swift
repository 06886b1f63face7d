import NIOCore
import PipelineCore

/// Admits a TCP connection through the `ConnectionLimiter` while its pipeline is
/// being set up, before any other handler exists: a refused connection costs no
/// TLS state, no handshake and no teardown of handlers. An admitted one keeps
/// its ticket here, first in the pipeline, until it closes; later handlers
/// `prove` it.
final class ConnectionGate: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Why a connection was refused, for the channel initializer to fail with (over TLS,
    /// which could not carry a message without a handshake: NIO closes the connection unregistered).
    struct Refused: Error {
        var refusal: ConnectionLimiter.Refusal
    }

    private let limiter: ConnectionLimiter
    private var ticket: ConnectionLimiter.Ticket?
    private var proven = false

    private init(limiter: ConnectionLimiter, ticket: ConnectionLimiter.Ticket) {
        self.limiter = limiter
        self.ticket = ticket
    }

    /// Admits `channel` and adds the gate holding its ticket; a refused plain-TCP
    /// connection gets only the handler that writes the error line and closes.
    static func install(on channel: any Channel, limiter: ConnectionLimiter, tls: Bool) throws -> ConnectionGate? {
        let sync = channel.pipeline.syncOperations
        switch limiter.admit(address: channel.remoteAddress?.ipAddress ?? "unknown") {
        case .success(let ticket):
            let gate = ConnectionGate(limiter: limiter, ticket: ticket)
            do {
                try sync.addHandler(gate)
            } catch {
                limiter.release(ticket)
                throw error
            }
            return gate
        case .failure(let refusal):
            if tls { throw Refused(refusal: refusal) }
            try sync.addHandler(RefusalLine(refusal.message))
            return nil
        }
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

    /// Writes one error line to a refused connection once it is active, then closes it.
    private final class RefusalLine: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let line: String

        init(_ message: String) { line = LineReply.error(message).line }

        func channelActive(context: ChannelHandlerContext) {
            let channel = context.channel
            context.writeAndFlush(NIOAny(ByteBuffer(string: line))).whenComplete { _ in channel.close(promise: nil) }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }
}
