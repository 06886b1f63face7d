import NIOCore

/// The requests of one connection awaiting their reply, oldest first, each with the
/// time by which its reply must come.
///
/// One timer per connection, not one per request: it is not cancelled when a reply
/// comes (cancelling a scheduled task per request took a quarter of the simulator's
/// CPU with 10,000 connections, `make bench`), and when it fires it either finds a
/// request past its deadline, which fails everything pending with `ReplyTimeout` and
/// closes the connection (a late reply must not be taken for the answer to a later
/// request), or re-arms for the earliest deadline still pending. Used on the channel's
/// event loop only.
final class PendingReplies<Value> {
    private var queue = CircularBuffer<(promise: EventLoopPromise<Value>, deadline: NIODeadline?)>()
    private var timer: Scheduled<Void>?

    func append(_ promise: EventLoopPromise<Value>, deadline: NIODeadline?, context: ChannelHandlerContext) {
        queue.append((promise, deadline))
        if deadline != nil, timer == nil { arm(context) }
    }

    /// The oldest request, which the reply just read answers.
    func popFirst() -> EventLoopPromise<Value>? { queue.popFirst()?.promise }

    func failAll(_ error: any Error) {
        timer?.cancel()
        timer = nil
        while let entry = queue.popFirst() { entry.promise.fail(error) }
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard let next = queue.lazy.compactMap({ $0.deadline }).min() else { return }
        let loop = context.eventLoop
        let pending = NIOLoopBound(self, eventLoop: loop)
        let bound = NIOLoopBound(context, eventLoop: loop)
        timer = loop.scheduleTask(deadline: next) { pending.value.fire(bound.value) }
    }

    private func fire(_ context: ChannelHandlerContext) {
        timer = nil
        let now = NIODeadline.now()
        if queue.contains(where: { $0.deadline.map { $0 <= now } ?? false }) {
            failAll(ReplyTimeout())
            context.close(promise: nil)
        } else {
            arm(context)
        }
    }
}
