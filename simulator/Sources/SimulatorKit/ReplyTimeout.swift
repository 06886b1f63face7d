/// No reply came in time (`PendingReplies`): every request pending on the
/// connection fails with it, and the connection closes.
package struct ReplyTimeout: Error, CustomStringConvertible {
    package var description: String { "no reply in time" }
}
