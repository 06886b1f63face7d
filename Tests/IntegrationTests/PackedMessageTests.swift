import AMQPClient
import Foundation
import NIOConcurrencyHelpers
import PipelineCore
import SimulatorKit
import Testing

extension Integration {
    /// Readings packed into broker messages, against the real broker, database and analyzer.
    @Suite struct PackedMessageTests {
        static func reading(_ device: String, _ seq: Int64, _ hr: Double = 70) -> Reading {
            Reading(deviceID: device, seq: seq, ts: "2026-12-02T08:00:00Z", metrics: ["heart_rate": hr])
        }

        static func message(_ r: Reading) -> OutgoingMessage {
            OutgoingMessage(body: ReadingCodec.encode(r), messageID: r.messageID, acceptedAtMs: 1)
        }

        @Test func packsUnderABacklogAndPublishesAloneWithout() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let publisher = ConfirmPublisher(configuration: stack.amqp, packing: Packing(maxReadings: 50), logger: TestStack.logger)
            publisher.start()
            // No backlog: each reading is a message of its own, at once.
            try await publisher.publish([Self.message(Self.reading("alone", 1))])
            try await publisher.publish([Self.message(Self.reading("alone", 2))])
            // A backlog: 1,000 queued together share messages of at most 50.
            let backlog = (0..<1000).map { Self.reading("backlog-\($0 % 10)", Int64($0)) }
            try await publisher.publish(backlog.map(Self.message))
            await publisher.shutdown()

            let delivered = try await stack.takeMessages { taken in
                taken.reduce(0) { $0 + ((try? ReadingMessage.unpack($1.body, format: $1.format).count) ?? 1) } >= 1002
            }
            let unpacked = try delivered.map { d in try ReadingMessage.unpack(d.body, format: d.format).map { try $0.reading.get() } }
            #expect(delivered.allSatisfy { $0.format == ReadingMessage.packed })
            #expect(unpacked.prefix(2).map { $0.map(\.messageID) } == [["alone:1"], ["alone:2"]])
            let packs = unpacked.dropFirst(2)
            #expect(packs.count == 20, "\(packs.map(\.count))")
            #expect(packs.allSatisfy { $0.count <= 50 })
            #expect(packs.flatMap { $0 } == backlog, "every reading once, in order")
            #expect(Set(delivered.compactMap(\.messageID)).count == delivered.count, "message ids are unique")
        }

        @Test func aLostConnectionFailsEachReadingOfAPackOnce() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let publisher = ConfirmPublisher(configuration: stack.amqp, packing: Packing(maxReadings: 100), logger: TestStack.logger)
            publisher.start()
            try await stack.eventually("publisher connected") { publisher.isConnected }
            // Readings are published without pause while rabbitmqctl (a second to start) drops the
            // connection, so packed messages are in flight when it goes; tried again until it hit some.
            let capacity = 400_000
            let outcomes = NIOLockedValueBox([Int](repeating: 0, count: capacity))
            let failures = NIOLockedValueBox(0)
            var total = 0
            for _ in 1...5 where failures.withLockedValue({ $0 }) == 0 {
                let done = NIOLockedValueBox(false)
                let closer = Task.detached {
                    defer { done.withLockedValue { $0 = true } }
                    _ = try stack.stackctl("ctl", "close_all_connections", "test: a lost connection")
                }
                var closedAt: ContinuousClock.Instant?
                // Publish while it runs, and 300 ms after it returned.
                while closedAt.map({ ContinuousClock.now - $0 < .milliseconds(300) }) ?? true, total + 200 <= capacity {
                    for i in total..<total + 200 {
                        publisher.publish(Self.message(Self.reading("lost-\(i % 50)", Int64(i)))) { result in
                            outcomes.withLockedValue { $0[i] += 1 }
                            if case .failure = result { failures.withLockedValue { $0 += 1 } }
                        }
                    }
                    total += 200
                    try await Task.sleep(for: .milliseconds(5))
                    if closedAt == nil, done.withLockedValue({ $0 }) { closedAt = .now }
                }
                try await closer.value
                try await stack.eventually("publisher reconnected", timeout: .seconds(30)) { publisher.isConnected }
            }
            try await stack.eventually("every reading completed", timeout: .seconds(30)) {
                outcomes.withLockedValue { $0.reduce(0, +) } >= total
            }
            try await Task.sleep(for: .milliseconds(500))
            await publisher.shutdown()
            #expect(outcomes.withLockedValue { $0[0..<total].allSatisfy { $0 == 1 } && $0[total...].allSatisfy { $0 == 0 } }, "each reading completed exactly once")
            #expect(failures.withLockedValue { $0 } > 0, "the lost connection failed readings")
        }

        @Test func aFleetRetryingThroughLostConnectionsIsStoredExactlyAsAcknowledged() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.ingest(rateLimit: nil)
            try await stack.running(ingest.services + stack.analyzer().services, ready: ingest) {
                let metrics = { try await stack.client(port: stack.ingestAdminPort).request(.GET, "/metrics").body }
                let before = try await metrics()
                let config = SimulatorConfiguration(
                    devices: 100, interval: .milliseconds(100),
                    targets: [Target(kind: .tls, host: "127.0.0.1", port: stack.tcpPort)],
                    duration: .seconds(6), anomalyRate: 0, seed: 3, devicePrefix: "retry-", seqStart: 1, caFile: stack.certificate)
                let fleet = Task { try await Simulator(configuration: config, logger: TestStack.logger).run() }
                for _ in 0..<2 {
                    try await Task.sleep(for: .seconds(2))
                    _ = try stack.stackctl("ctl", "close_all_connections", "test: a lost connection")
                }
                let report = try await fleet.value
                #expect(report.failed == 0)
                #expect(report.retries > 0, "the lost connections were felt")
                try await stack.eventually("every acknowledged reading stored", timeout: .seconds(30)) {
                    try stack.count("SELECT count(*) FROM readings") >= report.acked
                }
                let rows = try stack.db().execute("SELECT device_id, seq FROM readings").rows
                let stored = rows.map { "\($0[0]!):\($0[1]!)" }
                #expect(Set(stored).count == stored.count)
                #expect(Set(report.ackedPairs.map { "\($0.0):\($0.1)" }).isSubset(of: Set(stored)))
                let after = try await metrics()
                let readings = Self.value("amqp_readings_published_total", after) - Self.value("amqp_readings_published_total", before)
                let messages = Self.value("amqp_messages_published_total", after) - Self.value("amqp_messages_published_total", before)
                #expect(messages > 0 && readings > messages, "readings shared messages: \(readings) in \(messages)")
            }
        }

        static func value(_ series: String, _ metrics: String) -> Double {
            metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) } ?? 0
        }

        @Test func oldSingleAndNewPackedMessagesInOneQueueAreAllStored() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            // An ingest from before packing (one JSON reading per message, no format header)
            // and a packing one, publishing into the same queue during a rolling upgrade.
            let old = ConfirmPublisher(configuration: stack.amqp, logger: TestStack.logger)
            let new = ConfirmPublisher(configuration: stack.amqp, packing: Packing(), logger: TestStack.logger)
            old.start()
            new.start()
            let readings = (0..<600).map { Self.reading("mixed-\($0 % 6)", Int64($0 / 6)) }
            for chunk in stride(from: 0, to: 600, by: 100).map({ Array(readings[$0..<$0 + 100]) }) {
                let (a, b) = (chunk.filter { $0.seq % 2 == 0 }, chunk.filter { $0.seq % 2 == 1 })
                try await old.publish(a.map(Self.message))
                try await new.publish(b.map(Self.message))
            }
            await old.shutdown()
            await new.shutdown()
            try await stack.running(stack.analyzer().services) {
                try await stack.eventually("every reading stored") { try stack.count("SELECT count(*) FROM readings") == 600 }
            }
            #expect(try stack.count("SELECT count(*) FROM metric_values") == 600)
        }

        @Test func oneRefusedReadingOfAPackIsDeadLetteredAloneAndTheRestStored() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let publisher = ConfirmPublisher(configuration: stack.amqp, packing: Packing(), logger: TestStack.logger)
            publisher.start()
            try await stack.running(stack.analyzer().services) {
                try await publisher.publish([Self.message(Self.reading("pack-x", 1, 70))])
                try await stack.eventually("the first reading stored") { try stack.count("SELECT count(*) FROM readings") == 1 }
                // One message: good readings, the same seq of pack-x with other content, and a line that is no reading.
                var pack = (2..<12).map { Self.message(Self.reading("pack-x", Int64($0))) }
                pack.insert(Self.message(Self.reading("pack-x", 1, 99)), at: 3)
                pack.insert(OutgoingMessage(body: Array("not a reading".utf8), messageID: "junk", acceptedAtMs: 1), at: 7)
                try await publisher.publish(pack)
                try await stack.eventually("the good readings stored") { try stack.count("SELECT count(*) FROM readings") == 11 }
            }
            await publisher.shutdown()
            let dead = try await stack.takeMessages(deadLetters: true) { $0.count >= 2 }
            #expect(dead.count == 2)
            let conflict = try #require(dead.first { $0.messageID == "pack-x:1" })
            #expect(conflict.deadLetterReason?.contains("already stored with other content") == true)
            #expect(try ReadingMessage.unpack(conflict.body, format: conflict.format).map { try $0.reading.get() } == [Self.reading("pack-x", 1, 99)])
            let junk = try #require(dead.first { $0.messageID != "pack-x:1" })
            #expect(junk.body == Array("not a reading".utf8))
            #expect(junk.deadLetterReason == "invalid JSON")
            #expect(junk.format == ReadingMessage.packed)
            #expect(try stack.count("SELECT count(*) FROM readings WHERE device_id = 'pack-x' AND seq = 1") == 1)
        }
    }
}
