import NIOCore

/// No reply came in time. Raised inside the connection's pipeline, so its
/// handler fails what is pending and closes: a late reply must not be taken
/// for the answer to a later request.
public struct ReplyTimeout: Error, CustomStringConvertible {
    public var description: String { "no reply in time" }

    /// Schedules the timeout on the channel's event loop; cancelled when `result` completes first.
    static func arm<T>(_ timeout: TimeAmount, on channel: any Channel, for result: EventLoopFuture<T>) {
        let task = channel.eventLoop.scheduleTask(in: timeout) {
            channel.pipeline.fireErrorCaught(ReplyTimeout())
        }
        result.whenComplete { _ in task.cancel() }
    }
}
