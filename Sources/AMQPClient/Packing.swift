/// How many of the readings waiting to be published one broker message may carry,
/// and when a message that is not full may go. A reading that finds no message
/// awaiting its confirm and comes `linger` or more after the last publish goes out
/// at once, alone if nothing else waits: a device sending alone never waits.
/// Otherwise only full messages go out, and the readings arriving meanwhile gather
/// for the next one, which leaves once fewer than `maxPartialInFlight` messages
/// await their confirm and the linger is over: under load a message carries what
/// arrived in a confirm's time or the linger, whichever is longer.
package struct Packing: Sendable, Equatable {
    /// Readings per message at most; 1 publishes every reading in a message of its own.
    package var maxReadings: Int
    /// Body bytes per message at most (a reading larger than this goes alone).
    package var maxBytes: Int
    /// Messages awaiting their confirm past which a message goes out only when full.
    package var maxPartialInFlight: Int
    /// Within this of the last publish, a message goes out only when full: readings
    /// arriving closer together than this gather. `make bench` at 2,000/s measured
    /// 10 readings per message with 5 ms and 40 with 20 ms, for a p99 ack of 26 ms
    /// (docs/interfaces.md, Broker messages). Zero turns it off.
    package var linger: Duration

    package init(
        maxReadings: Int = 100, maxBytes: Int = 256 * 1024, maxPartialInFlight: Int = 1, linger: Duration = .milliseconds(20)
    ) {
        self.maxReadings = max(1, maxReadings)
        self.maxBytes = maxBytes
        self.maxPartialInFlight = max(1, maxPartialInFlight)
        self.linger = linger
    }

    /// One reading per message, still in the packed format.
    package static let off = Packing(maxReadings: 1)
}
