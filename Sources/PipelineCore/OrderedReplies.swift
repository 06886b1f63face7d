/// The replies owed on one connection, in the order of the lines they answer: each line takes a
/// slot when it is read, a reply fills its slot whenever it is known (confirms come back in any
/// order), and the filled slots at the head are then due, in line order. Pure, so that the order
/// is tested on its own (`OrderedRepliesTests`); ingest's TCP handler writes what it hands out.
package struct OrderedReplies<Reply> {
    private var slots: [Reply?] = []
    /// Index in `slots` of the first reply still owed; `base` is its slot number.
    private var head = 0
    private var base = 0

    package init() {}

    /// Replies owed (reserved and not yet due).
    package var count: Int { slots.count - head }
    package var isEmpty: Bool { count == 0 }

    /// True when `slot` is reserved and not yet due.
    package func owes(_ slot: Int) -> Bool { slot - base >= 0 && slot - base < count }

    /// A slot for the next line read; its number.
    package mutating func reserve() -> Int {
        slots.append(nil)
        return base + count - 1
    }

    /// Fills `slot` and hands every reply now due to `emit`, in line order; returns how many.
    /// A slot already due, or never reserved, is ignored.
    @discardableResult
    package mutating func fill(_ slot: Int, _ reply: Reply, emit: (Reply) -> Void) -> Int {
        guard owes(slot) else { return 0 }
        slots[head + slot - base] = reply
        var emitted = 0
        while head < slots.count, let r = slots[head] {
            emit(r)
            slots[head] = nil
            head += 1
            base += 1
            emitted += 1
        }
        if head == slots.count {
            slots.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= slots.count {
            slots.removeFirst(head)
            head = 0
        }
        return emitted
    }

    /// Forgets every slot after `slot`: the lines read after a refused auth line get no reply.
    package mutating func drop(after slot: Int) {
        let keep = slot - base + 1
        if count > keep { slots.removeLast(count - max(keep, 0)) }
    }
}
