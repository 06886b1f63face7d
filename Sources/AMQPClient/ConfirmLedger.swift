/// Publisher-confirm bookkeeping of one channel, without I/O, so that each case can be tested on
/// its own (`ConfirmLedgerTests`): every published message takes the next delivery tag; an ack or
/// a nack resolves its tag, or with `multiple` every unresolved tag up to it; a `basic.return`
/// marks a message whose ack then resolves it as returned; a lost connection, a blocked broker
/// or a confirm timeout resolves everything at once.
struct ConfirmLedger<Payload> {
    struct Entry {
        var payload: Payload
        var messageID: String
        var sentAt: ContinuousClock.Instant
        /// What the message carries that the caller counts (readings).
        var weight: Int
    }

    enum Outcome: Equatable, Sendable {
        case confirmed, nacked, returned
    }

    private var outstanding: [UInt64: Entry] = [:]
    private var returnedIDs: Set<String> = []
    /// The delivery tag the broker gives the next message published (the channel's count, from 1).
    private(set) var nextTag: UInt64 = 1
    /// No unresolved tag is lower.
    private(set) var lowest: UInt64 = 1
    /// The weights of the messages awaiting their confirm, summed.
    private(set) var weight = 0

    var count: Int { outstanding.count }
    var isEmpty: Bool { outstanding.isEmpty }
    /// When the oldest unresolved message was published.
    var oldestSentAt: ContinuousClock.Instant? { outstanding[lowest]?.sentAt }

    /// Records a message just published; returns its delivery tag.
    @discardableResult
    mutating func publish(_ payload: Payload, messageID: String, weight: Int, at instant: ContinuousClock.Instant) -> UInt64 {
        let tag = nextTag
        outstanding[tag] = Entry(payload: payload, messageID: messageID, sentAt: instant, weight: weight)
        self.weight += weight
        nextTag += 1
        return tag
    }

    /// The broker returned the message as unroutable; its ack follows.
    mutating func markReturned(_ messageID: String) { returnedIDs.insert(messageID) }

    /// An ack (`ack`) or a nack of `tag`, and with `multiple` of every unresolved tag below it.
    /// Tags resolved before or never published resolve nothing.
    mutating func resolve(tag: UInt64, multiple: Bool, ack: Bool) -> [(entry: Entry, outcome: Outcome)] {
        var resolved: [Entry] = []
        if multiple {
            var t = lowest
            while t <= tag, t < nextTag {
                if let e = remove(t) { resolved.append(e) }
                t += 1
            }
        } else if let e = remove(tag) {
            resolved.append(e)
        }
        while lowest < nextTag && outstanding[lowest] == nil { lowest += 1 }
        return resolved.map { e in
            if !ack { return (e, .nacked) }
            return (e, returnedIDs.remove(e.messageID) != nil ? .returned : .confirmed)
        }
    }

    /// Resolves every message at once (connection lost, broker blocked, no confirm in time), oldest first.
    mutating func resolveAll() -> [Entry] {
        let all = outstanding.sorted { $0.key < $1.key }.map(\.value)
        outstanding.removeAll()
        returnedIDs.removeAll()
        weight = 0
        lowest = nextTag
        return all
    }

    /// True when the oldest unresolved message has waited longer than `timeout`.
    func isOverdue(now: ContinuousClock.Instant, timeout: Duration) -> Bool {
        oldestSentAt.map { now - $0 > timeout } ?? false
    }

    private mutating func remove(_ tag: UInt64) -> Entry? {
        guard let e = outstanding.removeValue(forKey: tag) else { return nil }
        weight -= e.weight
        return e
    }
}
