import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Admits an HTTP(S) connection through the `ConnectionLimiter` (closing it at
/// once when refused), counts it as proven once it was answered with a 2xx (a
/// device's accepted upload), and closes it when a request's body does not
/// arrive within `bodyTimeout` of its head: a slow upload holds a connection
/// and its bytes for that long at most. (Waiting for a head, headers included,
/// is bounded by the server's idle timeout.)
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limiter: ConnectionLimiter
    private let bodyTimeout: TimeAmount
    private var bodyDeadline: Scheduled<Void>?
    private var ticket: ConnectionLimiter.Ticket?
    private var started = false
    private var proven = false
    /// A request's head came and its end not yet.
    private var receiving = false
    private var closeAfterResponse = false

    init(limiter: ConnectionLimiter, bodyTimeout: TimeAmount) {
        self.limiter = limiter
        self.bodyTimeout = bodyTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            receiving = true
            bodyDeadline?.cancel()
            let channel = context.channel
            bodyDeadline = context.eventLoop.scheduleTask(in: bodyTimeout) { channel.close(promise: nil) }
        case .end:
            receiving = false
            bodyDeadline?.cancel()
            bodyDeadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        switch limiter.admit(address: context.channel.remoteAddress?.ipAddress ?? "unknown") {
        case .success(let t): ticket = t
        case .failure: context.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if !proven, head.status.kind == .successful {
                proven = true
                if let ticket { limiter.prove(ticket) }
            }
            closeAfterResponse = head.headerFields[.connection]?.lowercased() == "close"
            context.write(data, promise: promise)
        case .end where closeAfterResponse && receiving:
            // Answered before its body was read (a refused token, a spent budget): close now
            // rather than wait for, or read, the rest of the upload.
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
        default:
            context.write(data, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { release() }

    private func release() {
        bodyDeadline?.cancel()
        bodyDeadline = nil
        if let ticket { limiter.release(ticket) }
        ticket = nil
    }
}
