import Testing

@testable import PipelineCore

/// The order of replies on a TCP connection: each line's reply in line order, whatever order the
/// confirms come back in.
@Suite struct OrderedRepliesTests {
    @Test func repliesAreDueInLineOrderWhateverOrderTheyAreKnownIn() {
        var owed = OrderedReplies<String>()
        let slots = (0..<4).map { _ in owed.reserve() }
        #expect(slots == [0, 1, 2, 3])
        var written: [String] = []
        #expect(owed.fill(2, "c") { written.append($0) } == 0, "line 2 waits for 0 and 1")
        #expect(owed.fill(1, "b") { written.append($0) } == 0)
        #expect(owed.fill(0, "a") { written.append($0) } == 3)
        #expect(written == ["a", "b", "c"])
        #expect(owed.count == 1 && owed.owes(3) && !owed.owes(2))
        #expect(owed.reserve() == 4, "slot numbers go on")
        owed.fill(4, "e") { written.append($0) }
        owed.fill(3, "d") { written.append($0) }
        #expect(written == ["a", "b", "c", "d", "e"])
        #expect(owed.isEmpty)
    }

    @Test func aSlotAlreadyDueOrNeverReservedIsIgnored() {
        var owed = OrderedReplies<String>()
        let s = owed.reserve()
        var written: [String] = []
        owed.fill(s, "first") { written.append($0) }
        #expect(owed.fill(s, "again") { written.append($0) } == 0)
        #expect(owed.fill(7, "never") { written.append($0) } == 0)
        #expect(owed.fill(-1, "never") { written.append($0) } == 0)
        #expect(written == ["first"])
    }

    @Test func dropAfterForgetsTheLinesReadAfterARefusedAuth() {
        var owed = OrderedReplies<String>()
        let auth = owed.reserve()
        _ = owed.reserve()
        _ = owed.reserve()
        owed.drop(after: auth)
        #expect(owed.count == 1)
        var written: [String] = []
        owed.fill(auth, "error unauthorized") { written.append($0) }
        #expect(written == ["error unauthorized"] && owed.isEmpty)
        #expect(owed.fill(auth + 1, "late") { written.append($0) } == 0, "a dropped slot gets nothing")
    }

    @Test func aLongConnectionKeepsItsOrderAcrossCompaction() {
        var owed = OrderedReplies<Int>()
        var written: [Int] = []
        var open: [Int] = []
        for line in 0..<20_000 {
            open.append(owed.reserve())
            // Keep a few unanswered, answering newer ones first now and then.
            if open.count > 3 {
                let s = open.removeLast()
                owed.fill(s, s) { written.append($0) }
                let t = open.removeFirst()
                owed.fill(t, t) { written.append($0) }
            }
            #expect(owed.count < 8, "line \(line)")
        }
        for s in open.reversed() { owed.fill(s, s) { written.append($0) } }
        #expect(written == Array(0..<20_000))
        #expect(owed.isEmpty)
    }
}
