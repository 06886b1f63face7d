import AMQPClient
@testable import Ingest
import NIOCore
import NIOEmbedded
import PipelineCore
import Testing

/// The TCP line protocol's connection handler on an `EmbeddedChannel`, against a
/// broker whose confirms come in the order each test chooses: replies leave in the
/// order the lines came, each only after its confirm, whatever order confirms take.
@Suite struct ReadingLineHandlerTests {
    struct Connection {
        let channel: EmbeddedChannel
        let broker: ScriptedBroker

        init(idleTimeout: TimeAmount = .seconds(60)) throws {
            channel = EmbeddedChannel()
            broker = ScriptedBroker()
            let gate = try #require(try ConnectionGate.install(on: channel, limiter: ConnectionLimiter(), tls: false))
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: ReadingLimits.maxLineBytes, firstLineMax: nil)))
            try sync.addHandler(
                ReadingLineHandler(
                    acceptor: ReadingAcceptor(publisher: broker), admission: Admission(authenticator: nil, limiter: nil), gate: gate,
                    authTimeout: .seconds(10), idleTimeout: idleTimeout))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7070)).wait()
        }

        func send(_ text: String) throws { try channel.writeInbound(ByteBuffer(string: text)) }

        /// Every reply written so far, once the loop ran what was scheduled (confirms, the flush).
        func replies() throws -> [String] {
            channel.embeddedEventLoop.run()
            var lines: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                lines += String(buffer: buffer).split(separator: "\n").map(String.init)
            }
            return lines
        }
    }

    static func reading(_ seq: Int64) -> String {
        "{\"device_id\":\"d1\",\"seq\":\(seq),\"ts\":\"2026-11-25T08:00:00Z\",\"metrics\":{\"heart_rate\":70}}\n"
    }

    @Test func repliesKeepLineOrderWhateverOrderConfirmsCome() throws {
        let c = try Connection()
        try c.send(Self.reading(1) + Self.reading(2) + Self.reading(3))
        #expect(c.broker.published == ["d1:1", "d1:2", "d1:3"], "each reading is published as soon as it is read")
        #expect(try c.replies().isEmpty)
        c.broker.answer("d1:3")
        c.broker.answer("d1:2")
        #expect(try c.replies().isEmpty, "nothing is written while the first line is unconfirmed")
        c.broker.answer("d1:1")
        #expect(try c.replies() == [#"{"ack":1}"#, #"{"ack":2}"#, #"{"ack":3}"#])
    }

    @Test func aBadLineIsAnsweredInItsPlace() throws {
        let c = try Connection()
        try c.send(Self.reading(1) + "not json\n" + Self.reading(3))
        #expect(c.broker.published == ["d1:1", "d1:3"])
        c.broker.answer("d1:3")
        #expect(try c.replies().isEmpty, "the bad line's error waits for the reading before it")
        c.broker.answer("d1:1")
        let replies = try c.replies()
        #expect(replies.count == 3)
        #expect(replies.first == #"{"ack":1}"#)
        #expect(replies.dropFirst().first?.hasPrefix(#"{"error":"#) == true, "\(replies)")
        #expect(replies.last == #"{"ack":3}"#)
    }

    @Test func aRefusedPublishIsANackTheDeviceRetries() throws {
        let c = try Connection()
        try c.send(Self.reading(1) + Self.reading(2))
        c.broker.answer("d1:1", .failure(.nacked))
        c.broker.answer("d1:2", .failure(.blocked("disk alarm")))
        let replies = try c.replies()
        #expect(replies.count == 2)
        #expect(replies[0].hasPrefix(#"{"nack":1,"error":"#), "\(replies)")
        #expect(replies[1].hasPrefix(#"{"nack":2,"error":"#) && replies[1].contains("retry_after"), "\(replies)")
        #expect(c.channel.isActive, "a refused publish does not close the connection")
    }

    @Test func anIdleConnectionIsClosedOnceItsRepliesAreWritten() throws {
        let c = try Connection(idleTimeout: .seconds(5))
        try c.send(Self.reading(1))
        c.channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        #expect(c.channel.isActive, "it waits for the reply it owes")
        c.broker.answer("d1:1")
        let replies = try c.replies()
        #expect(replies.first == #"{"ack":1}"#)
        #expect(replies.last?.contains("idle timeout") == true, "\(replies)")
        #expect(!c.channel.isActive)
    }

    @Test func aLineThatNeverEndsDoesNotKeepTheConnectionOpen() throws {
        let c = try Connection(idleTimeout: .seconds(5))
        for _ in 0..<10 {
            try c.send("{\"device_id\":")
            c.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        #expect(try c.replies().last?.contains("idle timeout") == true)
        #expect(!c.channel.isActive)
    }
}
