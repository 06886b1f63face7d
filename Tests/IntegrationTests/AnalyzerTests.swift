import ChaosKit
import AMQPClient
import Foundation
import PipelineCore
import SQL
import Testing

extension Integration {
    /// The analyzer against the real broker and database, through failures.
    @Suite struct AnalyzerTests {
        /// Readings of `devices` devices, `perDevice` each, in seq order per device.
        static func readings(devices: Int, perDevice: Int, prefix: String) -> [Reading] {
            (0..<perDevice).flatMap { seq in
                (0..<devices).map { d in
                    let hr = seq % 97 == 50 ? 190 : 70 + Double((seq * 31 + d * 7) % 9) - 4
                    return Reading(
                        deviceID: "\(prefix)-\(d)", seq: Int64(seq), ts: "2026-11-25T08:00:00Z",
                        metrics: ["heart_rate": hr, "spo2": 97 + Double((seq + d) % 3) * 0.1])
                }
            }
        }

        /// Publishes with confirms, as ingest does, and retries what was not confirmed as its
        /// devices would (RabbitMQ 3.10 may nack the first publishes into a quorum queue that
        /// another connection is declaring at the same moment).
        static func publish(_ readings: [Reading], to stack: TestStack) async throws {
            let publisher = ConfirmPublisher(configuration: stack.amqp, logger: TestStack.logger)
            publisher.start()
            for chunk in stride(from: 0, to: readings.count, by: 1000).map({ readings[$0..<min($0 + 1000, readings.count)] }) {
                let messages = chunk.map { OutgoingMessage(body: ReadingCodec.encode($0), messageID: $0.messageID, acceptedAtMs: 0) }
                for attempt in 1...5 {
                    do {
                        try await publisher.publish(messages)
                        break
                    } catch {
                        if attempt == 5 { throw error }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
            await publisher.shutdown()
        }

        func launchAnalyzer(_ stack: TestStack) throws -> ManagedProcess {
            let arguments = ["analyzer", "--host", "127.0.0.1", "--port", "\(try TestStack.freePort())", "--batch-size", "200"]
            var env = ProcessInfo.processInfo.environment
            env["AMQP_QUEUE"] = stack.queue
            env["DATABASE_URL"] = stack.databaseURL(as: .analyzer)
            env["AMQP_URL"] = try stack.amqp(as: .analyzer).urls[0]
            env["LOG_LEVEL"] = "warning"
            return try TestStack.launch(arguments, environment: env)
        }

        @Test func sigkillMidBatchLosesNothingAndDoublesNothing() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let readings = Self.readings(devices: 100, perDevice: 150, prefix: "kill")
            try await Self.publish(readings, to: stack)

            var analyzer = try launchAnalyzer(stack)
            // Kill it while it is storing: some rows committed, most not yet.
            try await stack.eventually("first batches committed") { try stack.count("SELECT count(*) FROM readings") >= 400 }
            analyzer.signal(SIGKILL)
            #expect(await analyzer.waitForExit(timeout: .seconds(10)))
            let atKill = try stack.count("SELECT count(*) FROM readings")
            #expect(atKill < readings.count, "the analyzer finished before it was killed; the test proves nothing")

            analyzer = try launchAnalyzer(stack)
            defer { analyzer.signal(SIGTERM) }
            try await stack.eventually("every reading stored", timeout: .seconds(120)) {
                try stack.count("SELECT count(*) FROM readings") == readings.count
            }
            #expect(try stack.count("SELECT count(DISTINCT (device_id, seq)) FROM readings") == readings.count)
            #expect(try stack.count("SELECT count(*) FROM metric_values") == readings.count * 2)
            #expect(try stack.count("SELECT count(*) FROM anomalies WHERE metric = 'heart_rate'") > 0)
            analyzer.signal(SIGTERM)
            #expect(await analyzer.waitForExit(timeout: .seconds(30)))
            #expect(analyzer.terminationStatus == 0)
        }

        @Test func databaseOutageUnderLoadLosesNothingAndRecoversByItself() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let first = Self.readings(devices: 50, perDevice: 40, prefix: "outage")
            try await Self.publish(first, to: stack)
            let analyzer = try stack.analyzer()
            try await stack.running(analyzer.services) {
                try await stack.eventually("first readings stored") { try stack.count("SELECT count(*) FROM readings") == first.count }

                try stack.setDatabase(allowConnections: false)
                let second = Self.readings(devices: 50, perDevice: 80, prefix: "outage").filter { $0.seq >= 40 }
                do {
                    try await Self.publish(second, to: stack)
                    let start = ContinuousClock.now
                    try await stack.eventually("analyzer reports the outage", timeout: .seconds(10)) {
                        try await HTTPConnectionForAnalyzer.readyz(port: stack.analyzerPort) == 503
                    }
                    try await Task.sleep(until: start + .seconds(10))
                } catch {
                    try? stack.setDatabase(allowConnections: true)
                    throw error
                }
                try stack.setDatabase(allowConnections: true)

                try await stack.eventually("everything stored after the outage", timeout: .seconds(60)) {
                    try stack.count("SELECT count(*) FROM readings") == first.count + second.count
                }
                #expect(try await HTTPConnectionForAnalyzer.readyz(port: stack.analyzerPort) == 200)
                #expect(try stack.count("SELECT count(*) FROM metric_values") == (first.count + second.count) * 2)
            }
        }
    }
}

extension Integration.AnalyzerTests {
    @Test func poisonGoesToTheDeadLetterQueueWithItsReasonWhileGoodReadingsFlow() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let good = Self.readings(devices: 10, perDevice: 30, prefix: "flow")
        let publisher = ConfirmPublisher(configuration: stack.amqp, logger: TestStack.logger)
        publisher.start()
        var messages = good.map { OutgoingMessage(body: ReadingCodec.encode($0), messageID: $0.messageID, acceptedAtMs: 0) }
        messages.insert(OutgoingMessage(body: Array("this is not a reading".utf8), messageID: "poison:1", acceptedAtMs: 0), at: 5)
        let badDevice = #"{"device_id":"bad id","seq":1,"ts":"2026-11-25T08:00:00Z","metrics":{"a":1}}"#
        messages.insert(OutgoingMessage(body: Array(badDevice.utf8), messageID: "poison:2", acceptedAtMs: 0), at: 150)
        try await publisher.publish(messages)
        await publisher.shutdown()

        try await stack.running(stack.analyzer().services) {
            try await stack.eventually("good readings stored") { try stack.count("SELECT count(*) FROM readings") == good.count }
        }
        let dead = try await stack.takeMessages(deadLetters: true) { $0.count >= 2 }
        #expect(dead.count == 2)
        let reasons = Dictionary(uniqueKeysWithValues: dead.map { ($0.messageID ?? "", $0.deadLetterReason ?? "") })
        #expect(reasons["poison:1"] == "invalid JSON")
        #expect(reasons["poison:2"]?.contains("device_id") == true)
        #expect(dead.first { $0.messageID == "poison:1" }?.body == Array("this is not a reading".utf8))
    }
}

/// Runs blocking code (rabbitmq-c, libpq) on a thread of its own.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

extension Integration.AnalyzerTests {
    /// Readings with spikes, a level shift and a constant stretch, so every branch of the rule is met.
    static func eventfulHistory(devices: Int, perDevice: Int) -> [Reading] {
        (0..<devices).flatMap { d in
            (0..<perDevice).map { seq in
                var hr = 70 + Double((seq * 37 + d * 11) % 9) - 4
                if seq % 41 == 40 { hr += 60 }
                if seq > perDevice * 2 / 3 { hr += 25 }
                let spo2 = seq < 60 ? 97 : 97 + Double((seq + d) % 4) * 0.5 - (seq % 53 == 52 ? 9 : 0)
                return Reading(
                    deviceID: "shuffle-\(d)", seq: Int64(seq), ts: "2026-11-25T08:00:00Z",
                    metrics: ["heart_rate": hr, "spo2": spo2])
            }
        }
    }

    /// The contract's rule applied directly, in seq order, to the complete data.
    static func expectedAnomalies(_ readings: [Reading]) -> [String: Double?] {
        var expected: [String: Double?] = [:]
        let byDevice = Dictionary(grouping: readings, by: \.deviceID)
        for (device, list) in byDevice {
            let sorted = list.sorted { $0.seq < $1.seq }
            for metric in ["heart_rate", "spo2"] {
                let values = sorted.map { $0.metrics[metric]! }
                for (i, r) in sorted.enumerated() {
                    let window = values[..<i].reversed()
                    if let v = AnomalyRule.default.evaluate(values[i], window: Array(window)), v.isAnomaly {
                        expected["\(device):\(r.seq):\(metric)"] = v.score
                    }
                }
            }
        }
        return expected
    }

    @Test func shuffledReadingsThroughTwoAnalyzersGiveTheRulesAnswer() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        var generator = SystemRandomNumberGenerator()
        let readings = Self.eventfulHistory(devices: 10, perDevice: 250)
        try await Self.publish(readings.shuffled(using: &generator), to: stack)
        let expected = Self.expectedAnomalies(readings)
        #expect(expected.count > 20, "the data should hold anomalies to compare")

        let one = try stack.analyzer(batchSize: 40)
        let two = try stack.analyzer(port: try TestStack.freePort(), batchSize: 40)
        try await stack.running(one.services + two.services) {
            try await stack.eventually("all stored", timeout: .seconds(120)) {
                try stack.count("SELECT count(*) FROM readings") == readings.count
            }
        }
        try Self.expectStoredAnomalies(stack, equal: expected)
    }
}

extension Integration.AnalyzerTests {
    @Test func constantHistoryThenAChangeIsStoredWithANullScore() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let readings = (0..<62).map { seq in
            Reading(deviceID: "flat-1", seq: Int64(seq), ts: "2026-11-25T08:00:00Z", metrics: ["spo2": seq == 61 ? 97.5 : 97])
        }
        try await Self.publish(readings, to: stack)
        try await stack.running(stack.analyzer().services) {
            try await stack.eventually("stored") { try stack.count("SELECT count(*) FROM readings") == readings.count }
        }
        let rows = try stack.db().execute("SELECT seq, score, median, mad, window_size FROM anomalies").rows
        #expect(rows.count == 1)
        #expect(rows.first?[0] == "61")
        #expect(rows.first?[1] == nil)
        #expect(rows.first?[3] == "0")
    }
}

extension Integration.AnalyzerTests {
    /// In order, windows come from each analyzer's cache; with two analyzers taking turns on the
    /// same devices, each cache goes stale whenever the other one stores: the answers must not change.
    @Test func windowCachesOfTwoAnalyzersGiveTheRulesAnswer() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let readings = Self.eventfulHistory(devices: 6, perDevice: 400)
        let inOrder = (0..<400).flatMap { seq in readings.filter { $0.seq == Int64(seq) } }
        try await Self.publish(inOrder, to: stack)
        let expected = Self.expectedAnomalies(readings)

        let one = try stack.analyzer(batchSize: 15)
        let two = try stack.analyzer(port: try TestStack.freePort(), batchSize: 15)
        try await stack.running(one.services + two.services) {
            try await stack.eventually("all stored", timeout: .seconds(120)) {
                try stack.count("SELECT count(*) FROM readings") == readings.count
            }
        }
        try Self.expectStoredAnomalies(stack, equal: expected)
    }

    /// Every stored anomaly is expected, every expected one is stored, with the same score (null included).
    static func expectStoredAnomalies(_ stack: TestStack, equal expected: [String: Double?]) throws {
        let rows = try stack.db().execute("SELECT device_id, seq, metric, score FROM anomalies").rows
        var stored: [String: Double?] = [:]
        for r in rows {
            let score: Double? = r[3].flatMap { Double($0) }
            stored["\(r[0]!):\(r[1]!):\(r[2]!)"] = .some(score)  // a null score is a value here, not a removal
        }
        let missing = Set(expected.keys).subtracting(stored.keys).sorted()
        let extra = Set(stored.keys).subtracting(expected.keys).sorted()
        #expect(
            missing.isEmpty && extra.isEmpty,
            "\(missing.count) missing, e.g. \(missing.prefix(5)); \(extra.count) extra, e.g. \(extra.prefix(5)); of \(expected.count)")
        for (key, score) in expected {
            guard let s = stored[key] else { continue }
            switch (s, score) {
            case (nil, nil): break
            case (let a?, let b?): #expect(abs(a - b) < 1e-9, "\(key): \(a) vs \(b)")
            default: Issue.record("\(key): score \(String(describing: s)) vs \(String(describing: score))")
            }
        }
    }
}
