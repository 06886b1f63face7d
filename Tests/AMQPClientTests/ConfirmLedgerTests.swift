import Testing

@testable import AMQPClient

/// The confirm bookkeeping ingest's publisher relies on, case by case, without a broker.
@Suite struct ConfirmLedgerTests {
    let t0 = ContinuousClock.now

    /// A ledger with messages "m1"… published, each carrying `weight` readings.
    func ledger(_ n: Int, weight: Int = 2) -> ConfirmLedger<String> {
        var l = ConfirmLedger<String>()
        for i in 1...n { l.publish("p\(i)", messageID: "m\(i)", weight: weight, at: t0 + .milliseconds(i)) }
        return l
    }

    func payloads(_ r: [(entry: ConfirmLedger<String>.Entry, outcome: ConfirmLedger<String>.Outcome)]) -> [String] {
        r.map { $0.entry.payload }
    }

    @Test func tagsCountFromOneAndAnAckResolvesItsOwn() {
        var l = ledger(3)
        #expect(l.nextTag == 4)
        #expect(l.weight == 6)
        let r = l.resolve(tag: 2, multiple: false, ack: true)
        #expect(payloads(r) == ["p2"] && r[0].outcome == .confirmed)
        #expect(l.count == 2 && l.weight == 4)
        #expect(l.lowest == 1, "tag 1 is still unresolved")
        let first = l.resolve(tag: 1, multiple: false, ack: true)
        #expect(payloads(first) == ["p1"])
        #expect(l.lowest == 3, "past every resolved tag")
        #expect(l.oldestSentAt == t0 + .milliseconds(3))
    }

    @Test func multipleResolvesEveryUnresolvedTagUpToIt() {
        var l = ledger(5)
        _ = l.resolve(tag: 2, multiple: false, ack: true)
        let r = l.resolve(tag: 4, multiple: true, ack: true)
        #expect(payloads(r) == ["p1", "p3", "p4"])
        #expect(r.allSatisfy { $0.outcome == .confirmed })
        #expect(l.count == 1 && l.lowest == 5 && l.weight == 2)
    }

    @Test func aNackFailsWhatItCovers() {
        var l = ledger(4)
        let single = l.resolve(tag: 3, multiple: false, ack: false)
        #expect(payloads(single) == ["p3"] && single[0].outcome == .nacked)
        let many = l.resolve(tag: 4, multiple: true, ack: false)
        #expect(payloads(many) == ["p1", "p2", "p4"])
        #expect(many.allSatisfy { $0.outcome == .nacked })
        #expect(l.isEmpty && l.weight == 0)
    }

    @Test func aReturnedMessageResolvesAsReturnedOnItsAck() {
        var l = ledger(3)
        l.markReturned("m2")
        let r = l.resolve(tag: 3, multiple: true, ack: true)
        #expect(r.map { $0.outcome } == [.confirmed, .returned, .confirmed])
        // The mark is used up: a later message with another id is not affected.
        l.publish("p4", messageID: "m4", weight: 1, at: t0)
        let fourth = l.resolve(tag: 4, multiple: false, ack: true)
        #expect(fourth.map { $0.outcome } == [.confirmed])
    }

    @Test func tagsResolvedBeforeOrNeverPublishedResolveNothing() {
        var l = ledger(2)
        _ = l.resolve(tag: 1, multiple: false, ack: true)
        let twice = l.resolve(tag: 1, multiple: false, ack: true)
        #expect(twice.isEmpty, "acked twice")
        let never = l.resolve(tag: 9, multiple: false, ack: true)
        #expect(never.isEmpty, "never published")
        let upTo = l.resolve(tag: 9, multiple: true, ack: true)
        #expect(payloads(upTo) == ["p2"], "multiple stops at the last published")
        #expect(l.lowest == 3)
    }

    @Test func resolveAllTakesEverythingOldestFirstAndTagsGoOn() {
        var l = ledger(4, weight: 3)
        l.markReturned("m1")
        _ = l.resolve(tag: 2, multiple: false, ack: true)
        let all = l.resolveAll()
        #expect(all.map(\.payload) == ["p1", "p3", "p4"])
        #expect(l.isEmpty && l.weight == 0 && l.lowest == 5)
        let late = l.resolve(tag: 4, multiple: true, ack: true)
        #expect(late.isEmpty, "a late ack of the old tags")
        let tag = l.publish("p5", messageID: "m1", weight: 1, at: t0)
        #expect(tag == 5)
        let fifth = l.resolve(tag: 5, multiple: false, ack: true)
        #expect(fifth.map { $0.outcome } == [.confirmed], "the return mark went with the rest")
    }

    @Test func overdueWhenTheOldestWaitedLongerThanTheTimeout() {
        var l = ledger(2)
        #expect(!l.isOverdue(now: t0 + .seconds(5), timeout: .seconds(5)))
        #expect(l.isOverdue(now: t0 + .milliseconds(5_002), timeout: .seconds(5)))
        _ = l.resolve(tag: 1, multiple: false, ack: true)
        #expect(!l.isOverdue(now: t0 + .milliseconds(5_001), timeout: .seconds(5)), "the next oldest was published 1 ms later")
        _ = l.resolve(tag: 2, multiple: false, ack: true)
        #expect(!l.isOverdue(now: t0 + .seconds(60), timeout: .seconds(5)), "nothing outstanding")
    }
}
