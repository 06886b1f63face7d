import AMQPClient
import Analyzer
import Foundation
import PipelineCore
import SQL
import Storage
import Testing

extension Integration.DataSafetyTests {
    /// Runs `pipeline ARGS` on the test stack's queue; returns its status and standard output.
    static func pipeline(_ stack: TestStack, _ args: [String]) throws -> (status: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment
        env["AMQP_QUEUE"] = stack.queue
        return try TestStack.run(TestStack.pipelineBinary, args, environment: env)
    }

    /// A device that has 100,000 stored readings sends its new readings together with one
    /// whose seq is old and unused: the batch re-judges at most the window's worth of
    /// later readings, and other devices' readings keep flowing.
    @Test func aLateReadingCostsTheWindowNotTheHistory() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let db = try stack.db()
        try Schema.migrate(db)
        try db.execute(
            """
            INSERT INTO readings (device_id, seq, ts, metrics)
            SELECT 'hist-1', g * 2, '2026-11-01T00:00:00Z'::TIMESTAMPTZ + g * interval '10 seconds',
                   jsonb_build_object('heart_rate', 70 + g % 5)
            FROM generate_series(0, 99999) AS g
            """)
        try db.execute(
            """
            INSERT INTO metric_values (device_id, metric, seq, value)
            SELECT 'hist-1', 'heart_rate', g * 2, 70 + g % 5 FROM generate_series(0, 99999) AS g
            """)
        try db.execute("INSERT INTO devices (device_id, max_seq, version, reading_count) VALUES ('hist-1', 199998, 1, 100000)")
        try db.execute("ANALYZE")
        let analyzer = try stack.analyzer()
        let others = Integration.AnalyzerTests.readings(devices: 20, perDevice: 60, prefix: "flow")
        let ts = "2026-11-25T08:00:00Z"
        let batch = [
            Reading(deviceID: "hist-1", seq: 1001, ts: ts, metrics: ["heart_rate": 250]),
            Reading(deviceID: "hist-1", seq: 200_000, ts: ts, metrics: ["heart_rate": 72]),
            Reading(deviceID: "hist-1", seq: 200_002, ts: ts, metrics: ["heart_rate": 71]),
        ]
        try await stack.running(analyzer.services) {
            try await Self.publish(Array(others.prefix(600)), to: stack)
            try await stack.eventually("the first readings of other devices stored") {
                try stack.count("SELECT count(*) FROM readings WHERE device_id LIKE 'flow-%'") == 600
            }
            let start = ContinuousClock.now
            try await Self.publish(batch + others.dropFirst(600), to: stack)
            try await stack.eventually("the late reading stored", timeout: .seconds(60)) {
                try stack.count("SELECT count(*) FROM readings WHERE device_id = 'hist-1' AND seq IN (1001, 200000, 200002)") == 3
            }
            let took = ContinuousClock.now - start
            print("late reading among 100,000 stored: stored \(took) after its publish was confirmed")
            #expect(took < .seconds(5))
            try await stack.eventually("other devices' readings stored", timeout: .seconds(30)) {
                try stack.count("SELECT count(*) FROM readings WHERE device_id LIKE 'flow-%'") == others.count
            }
        }
        // Judged against the 200 values below it, the late reading is an anomaly; the newest are not.
        #expect(try stack.count("SELECT count(*) FROM anomalies WHERE device_id = 'hist-1' AND seq = 1001") == 1)
        #expect(try stack.count("SELECT count(*) FROM anomalies WHERE device_id = 'hist-1' AND seq >= 200000") == 0)
    }

    /// A seq reused with other content is dead-lettered with its reason (the stored copy
    /// stays), an exact copy is a silent no-op; the operator lists it and, once the cause
    /// is fixed, replays it, and it is stored.
    @Test func aReusedSeqIsVisibleAndReplayedOnceFixed() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let ts = "2026-11-25T08:00:00Z"
        let first = Reading(deviceID: "reuse-1", seq: 5, ts: ts, metrics: ["heart_rate": 70])
        let other = Reading(deviceID: "reuse-1", seq: 5, ts: ts, metrics: ["heart_rate": 99])
        try await stack.running(stack.analyzer().services) {
            try await Self.publish([first], to: stack)
            try await stack.eventually("first copy stored") { try stack.count("SELECT count(*) FROM readings") == 1 }
            try await Self.publish([first, other, first], to: stack)
            try await stack.eventually("the other content dead-lettered") { try await Self.deadLetters(stack) == 1 }
            try await Task.sleep(for: .seconds(1))
            #expect(try await Self.deadLetters(stack) == 1)
            #expect(try stack.count("SELECT count(*) FROM readings WHERE (metrics->>'heart_rate')::FLOAT8 = 70") == 1)

            let (status, listed) = try Self.pipeline(stack, ["dead-letters", "list", "--json"])
            #expect(status == 0)
            let item = try Integration.IngestTests.object(listed.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(item["message_id"] as? String == "reuse-1:5")
            #expect((item["reason"] as? String)?.contains("reused a sequence number") == true, "\(listed)")
            #expect((item["body"] as? String)?.contains("99") == true)

            // Here the stored copy was the wrong one: the operator removes it and replays.
            try stack.db().execute("DELETE FROM metric_values WHERE device_id = 'reuse-1' AND seq = 5")
            try stack.db().execute("DELETE FROM readings WHERE device_id = 'reuse-1' AND seq = 5")
            let (replayStatus, replayed) = try Self.pipeline(stack, ["dead-letters", "replay"])
            #expect(replayStatus == 0)
            #expect(replayed.contains("replayed 1 dead letter"), "\(replayed)")
            try await stack.eventually("the replayed reading stored") {
                try stack.count("SELECT count(*) FROM readings WHERE (metrics->>'heart_rate')::FLOAT8 = 99") == 1
            }
            #expect(try await Self.deadLetters(stack) == 0)
            let (_, empty) = try Self.pipeline(stack, ["dead-letters", "list"])
            #expect(empty.contains("0 dead letter(s)"), "\(empty)")
        }
    }

    /// A queue declared with other arguments (here another delivery limit, as an earlier
    /// version's would be) is used as it is; the policy of docs/reliability.md applies to it.
    @Test func aQueueDeclaredWithOtherArgumentsKeepsWorking() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        var older = stack.amqp
        older.deliveryLimit = 5
        let ts = "2026-11-25T08:00:00Z"
        for (configuration, seq) in [(older, Int64(1)), (stack.amqp, 2)] {
            let publisher = ConfirmPublisher(configuration: configuration, logger: TestStack.logger)
            publisher.start()
            let r = Reading(deviceID: "legacy-1", seq: seq, ts: ts, metrics: ["heart_rate": 70])
            try await publisher.publish([OutgoingMessage(body: ReadingCodec.encode(r), messageID: r.messageID, acceptedAtMs: 0)])
            await publisher.shutdown()
        }
        try await stack.running(stack.analyzer().services) {
            try await stack.eventually("both stored") { try stack.count("SELECT count(*) FROM readings") == 2 }
        }
        // The policy of docs/reliability.md gives such a queue at-least-once dead-lettering.
        let policy = "pipeline-\(stack.queue)"
        try stack.stackctl(
            "ctl", "set_policy", "--apply-to", "queues", policy, "^\(stack.queue)$",
            #"{"dead-letter-strategy":"at-least-once","overflow":"reject-publish"}"#)
        defer { _ = try? stack.stackctl("ctl", "clear_policy", policy) }
        try await stack.eventually("the policy applies to the queue") {
            try stack.stackctl("ctl", "list_queues", "-s", "name", "policy").split(separator: "\n")
                .contains { $0.split(separator: "\t").map(String.init) == [stack.queue, policy] }
        }
        // A queue this version declares has it in its arguments from the start.
        let declared = try stack.stackctl("ctl", "list_queues", "-s", "name", "arguments").split(separator: "\n")
            .filter { $0.hasPrefix("\(stack.queue)\t") }
        #expect(declared.count == 1)
        #expect(declared.first?.contains(#"{"x-dead-letter-strategy","at-least-once"}"#) == true, "\(declared)")
        #expect(declared.first?.contains(#"{"x-overflow","reject-publish"}"#) == true, "\(declared)")
    }

    /// A statement that waits too long for a device's lock (another session holds it) is
    /// cancelled by the session's lock timeout: an outage, retried, never a dead letter.
    @Test func aLockTimeoutIsRetriedNotDeadLettered() async throws {
        let stack = try TestStack.make()
        defer { stack.dropDatabase() }
        let analyzer = AnalyzerService(
            configuration: .init(amqp: stack.amqp, databaseURL: stack.databaseURL(as: .analyzer), lockTimeoutMs: 300), host: "127.0.0.1",
            port: stack.analyzerPort, logger: TestStack.logger)
        let ts = "2026-11-25T08:00:00Z"
        let readings = (0..<11).map { Reading(deviceID: "lock-1", seq: Int64($0), ts: ts, metrics: ["heart_rate": 70]) }
        try await stack.running(analyzer.services) {
            try await Self.publish([readings[0]], to: stack)
            try await stack.eventually("first stored") { try stack.count("SELECT count(*) FROM readings") == 1 }
            let holder = try stack.db()
            try holder.execute("BEGIN")
            try holder.execute("SELECT * FROM devices WHERE device_id = 'lock-1' FOR UPDATE")
            try await Self.undoing({ try holder.execute("COMMIT") }) {
                try await Self.publish(Array(readings.dropFirst()), to: stack)
                try await stack.eventually("readiness names the lock timeout", timeout: .seconds(15)) {
                    let r = try await Self.readyz(stack.analyzerPort)
                    return r.status == 503 && r.body.contains("lock timeout")
                }
                #expect(try await Self.deadLetters(stack) == 0)
                #expect(try stack.count("SELECT count(*) FROM readings") == 1)
            }
            try await stack.eventually("stored once the lock is released", timeout: .seconds(30)) {
                try stack.count("SELECT count(*) FROM readings") == readings.count
            }
            #expect(try await Self.readyz(stack.analyzerPort).status == 200)
        }
        #expect(try await Self.deadLetters(stack) == 0)
    }
}
