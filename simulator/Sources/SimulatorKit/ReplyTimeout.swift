/// No reply came in time (`PendingReplies`): every request pending on the
/// connection fails with it, and the connection closes.
public struct ReplyTimeout: Error, CustomStringConvertible {
    public var description: String { "no reply in time" }
}
