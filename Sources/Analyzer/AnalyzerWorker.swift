import AMQPClient
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import PipelineCore
import SQL
import ServiceSupport
import Storage

/// The consume → store → detect → commit → ack loop. It owns one broker
/// connection and one database connection, both blocking, so it runs on a
/// thread of its own. A delivery is acknowledged only after its rows are
/// committed; anything else leaves it with the broker.
final class AnalyzerWorker: @unchecked Sendable {
    private let configuration: AnalyzerConfiguration
    private let logger: Logger
    private let detector: Detector
    private let deadLetters: DeadLetterPublisher
    private let metrics: AnalyzerMetrics
    private let state = NIOLockedValueBox(State())

    struct State {
        var stopping = false
        var brokerUp = false
        var databaseUp = false
        var brokerError = "not connected yet"
        var databaseError = "not connected yet"
    }

    init(configuration: AnalyzerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.detector = Detector(rule: configuration.rule, incidentRule: configuration.incidentRule)
        self.deadLetters = DeadLetterPublisher(configuration: configuration.amqp)
        self.metrics = AnalyzerMetrics(metricLabelLimit: configuration.metricLabelLimit)
    }

    var snapshot: State { state.withLockedValue { $0 } }

    func stop() { state.withLockedValue { $0.stopping = true } }

    private var stopping: Bool { state.withLockedValue { $0.stopping } }

    // MARK: - Loop

    func run() {
        let consumer = AMQPConsumer(configuration: configuration.amqp, prefetch: configuration.prefetch)
        var db: SQLConnection?
        var failures = 0
        var nextDepthCheck = ContinuousClock.now
        while !stopping {
            if !consumer.isConnected {
                do {
                    try consumer.connect()
                    state.withLockedValue { $0.brokerUp = true }
                    logger.info("consuming", metadata: ["node": "\(consumer.endpoint ?? "")", "queue": "\(configuration.amqp.queue)"])
                } catch {
                    setBroker(down: error.description)
                    failures += 1
                    pause(failures)
                    continue
                }
            }
            if db == nil {
                db = connectDatabase(markUp: true)
                if db == nil {
                    failures += 1
                    pause(failures)
                    continue
                }
            }
            failures = 0
            if ContinuousClock.now >= nextDepthCheck {
                // What waits in the dead-letter queue, for the dashboard and an alert.
                nextDepthCheck = ContinuousClock.now + .seconds(15)
                if let n = try? deadLetters.depth() { metrics.deadLetterDepth.record(n) }
            }
            let batch: [Delivery]
            do {
                batch = try collectBatch(consumer)
            } catch {
                setBroker(down: error.description)
                continue
            }
            if batch.isEmpty { continue }
            process(batch, consumer: consumer, db: &db)
        }
        consumer.disconnect()
        deadLetters.close()
        state.withLockedValue { $0.brokerUp = false }
        logger.info("analyzer stopped")
    }

    private func collectBatch(_ consumer: AMQPConsumer) throws(AMQPError) -> [Delivery] {
        guard let first = try consumer.next(timeout: .milliseconds(250)) else { return [] }
        var batch = [first]
        var readings = Self.readingCount(first)
        let deadline = ContinuousClock.now + configuration.batchWindow
        while readings < configuration.batchSize {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { break }
            guard let d = try consumer.next(timeout: min(remaining, .milliseconds(5))) else {
                if ContinuousClock.now >= deadline { break }
                continue
            }
            batch.append(d)
            readings += Self.readingCount(d)
        }
        return batch
    }

    /// The readings a delivery carries, as its lines: what bounds a batch's transaction.
    static func readingCount(_ d: Delivery) -> Int {
        d.format == ReadingMessage.packed ? d.body.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 } : 1
    }

    /// What cannot be stored, with why: a whole delivery (it could not be read as a
    /// message), or one reading of it, dead-lettered alone as a message of one reading.
    struct Poison {
        var delivery: Int
        var body: [UInt8]
        var messageID: String?
        var format: String?
        var reason: String
    }

    /// Stores a batch and acknowledges it. Only a reading the database refuses
    /// for its own data (SQLSTATE classes 22 and 23), or one that reuses a stored
    /// seq with other content, is dead-lettered, alone: the rest of its message is
    /// stored. Any other failure is an outage: the batch is kept, `/readyz` fails
    /// with the reason, and the transaction is retried with backoff on a new
    /// connection until it commits or the worker stops (then the broker redelivers
    /// it to whoever consumes next).
    private func process(_ batch: [Delivery], consumer: AMQPConsumer, db: inout SQLConnection?) {
        // The readings of every delivery, each with the index of the delivery carrying it.
        var good: [(delivery: Int, item: IncomingReading)] = []
        var poison: [Poison] = []
        for (k, d) in batch.enumerated() {
            do throws(ReadingError) {
                for (i, entry) in try ReadingMessage.unpack(d.body, format: d.format).enumerated() {
                    switch entry.reading {
                    case .success(let reading):
                        good.append((k, IncomingReading(reading: reading, acceptedAtMs: d.acceptedAtMs)))
                    case .failure(let error):
                        let id = d.format == nil ? d.messageID : "\(d.messageID ?? "?")#\(i)"
                        poison.append(Poison(delivery: k, body: entry.bytes, messageID: id, format: d.format, reason: error.message))
                    }
                }
            } catch {
                poison.append(Poison(delivery: k, body: d.body, messageID: d.messageID, format: d.format, reason: error.message))
            }
        }
        metrics.batchSize.record(good.count + poison.count)
        let redelivered = batch.filter(\.redelivered).count
        if redelivered > 0 { metrics.redeliveries.increment(by: redelivered) }
        if !poison.isEmpty { logger.debug("batch", metadata: ["size": "\(batch.count)", "poison": "\(poison.count)"]) }

        var failures = 0
        while true {
            if db == nil {
                db = connectDatabase(markUp: false)
                if db == nil {
                    if stopping { return }
                    failures += 1
                    pause(failures)
                    continue
                }
            }
            do {
                let refused = try store(good.map(\.item), on: db!)
                for (i, why) in refused.sorted(by: { $0.key > $1.key }) {
                    let (k, item) = good.remove(at: i)
                    poison.append(
                        Poison(
                            delivery: k, body: ReadingCodec.encode(item.reading), messageID: item.reading.messageID,
                            format: batch[k].format == nil ? nil : ReadingMessage.packed, reason: why))
                }
                setDatabaseUp()
                break
            } catch {
                metrics.databaseError(sqlState: error.sqlState).increment()
                setDatabase(down: "storing readings: \(error.description)")
                db = nil
                if stopping { return }
                failures += 1
                pause(failures)
            }
        }
        do {
            // Poison goes to the dead-letter queue with its reason, confirmed before the
            // delivery carrying it is acknowledged; if that fails the delivery is requeued
            // (its stored readings are recognised when it comes back, and after the
            // queue's delivery limit the broker dead-letters it by itself).
            var requeued = Set<Int>()
            for p in poison where !requeued.contains(p.delivery) {
                do {
                    try deadLetters.send(body: p.body, messageID: p.messageID, format: p.format, reason: p.reason)
                    logger.warning("dead-lettered", metadata: ["message_id": "\(p.messageID ?? "?")", "reason": "\(p.reason)"])
                    metrics.deadLettered.increment()
                } catch {
                    logger.warning("cannot dead-letter; the message is requeued", metadata: ["error": "\(error)"])
                    try consumer.reject(batch[p.delivery].tag, requeue: true)
                    requeued.insert(p.delivery)
                }
            }
            let settled = batch.indices.filter { !requeued.contains($0) }.map { batch[$0].tag }
            if let last = settled.max() {
                try consumer.ack(last, multiple: true)
                let stored = good.filter { !requeued.contains($0.delivery) }
                metrics.stored.increment(by: stored.count)
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                for (_, item) in stored {
                    if let t = item.acceptedAtMs {
                        metrics.ingestToCommit.recordMilliseconds(max(0, now - t))
                    }
                }
            }
        } catch {
            // The broker connection broke after the commit: the deliveries come back and are
            // recognised as already stored, so nothing is lost or doubled.
            setBroker(down: error.description)
        }
    }

    /// One transaction for the batch; returns the readings (indices into `items`) that
    /// must not be stored, with the reason. When the database refuses the batch for its
    /// data, each reading is stored in a transaction of its own, so only the offending
    /// ones are refused. Every other error is thrown: an outage.
    private func store(_ items: [IncomingReading], on db: SQLConnection) throws(SQLError) -> [Int: String] {
        do {
            return try storeTransaction(items, on: db)
        } catch where error.isAboutData {
            var refused: [Int: String] = [:]
            for (i, item) in items.enumerated() {
                do {
                    if try !storeTransaction([item], on: db).isEmpty { refused[i] = Self.conflictReason(item.reading) }
                } catch where error.isAboutData {
                    refused[i] = "database refused the reading: \(error.description)"
                }
            }
            return refused
        }
    }

    static func conflictReason(_ r: Reading) -> String {
        "seq \(r.seq) of device \(r.deviceID) is already stored with other content (the device reused a sequence number)"
    }

    /// Stores the readings and their verdicts in one transaction; returns the readings that
    /// reuse a stored seq with other content, which are left out.
    private func storeTransaction(_ items: [IncomingReading], on db: SQLConnection) throws(SQLError) -> [Int: String] {
        let start = ContinuousClock.now
        do {
            let (outcome, inserted) = try db.transaction { db -> (Detector.Outcome, ReadingStore.InsertOutcome) in
                let devices = try ReadingStore.lockDevices(Set(items.map(\.reading.deviceID)), on: db)
                let inserted = try ReadingStore.insert(items, on: db)
                let stored = inserted.stored.map { items[$0] }
                let outcome = try detector.judge(stored.map(\.reading), devices: devices, on: db)
                try ReadingStore.recordStored(stored, on: db)
                try ReadingStore.insertAnomalies(outcome.anomalies, on: db)
                try ReadingStore.deleteAnomalies(outcome.cleared, on: db)
                try IncidentStore.widen(outcome.blocks, on: db)
                try IncidentStore.save(outcome.incidents, on: db)
                return (outcome, inserted)
            }
            detector.committed(outcome)
            for a in outcome.anomalies {
                metrics.anomalies(of: a.metric).increment()
            }
            if outcome.incidentsOpened > 0 {
                metrics.incidentsOpened.increment(by: outcome.incidentsOpened)
            }
            if outcome.incidentsClosed > 0 {
                metrics.incidentsClosed.increment(by: outcome.incidentsClosed)
            }
            if outcome.revisited > 0 { metrics.verdictsRevised.increment(by: outcome.revisited) }
            if inserted.duplicates > 0 {
                metrics.duplicates.increment(by: inserted.duplicates)
            }
            if !inserted.conflicting.isEmpty {
                metrics.conflicts.increment(by: inserted.conflicting.count)
            }
            metrics.cacheHits.increment(by: outcome.cacheHits)
            metrics.cacheMisses.increment(by: outcome.cacheMisses)
            metrics.databaseTime.recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
            return Dictionary(uniqueKeysWithValues: inserted.conflicting.map { ($0, Self.conflictReason(items[$0].reading)) })
        } catch let error as SQLError {
            throw error
        } catch {
            throw SQLError(sqlState: nil, message: "\(error)", connectionLost: false)
        }
    }

    /// Connects and sets the session's limits. `markUp` is false while a batch waits
    /// to be stored: only its commit shows that the database accepts writes again.
    private func connectDatabase(markUp: Bool) -> SQLConnection? {
        do {
            let c = try SQLConnection(configuration.databaseURL, applicationName: "pipeline-analyzer")
            try c.execute("SET statement_timeout = \(configuration.statementTimeoutMs)")
            try c.execute("SET lock_timeout = \(configuration.lockTimeoutMs)")
            try Schema.requireCurrent(c)
            logger.info("database connected")
            if markUp { setDatabaseUp() }
            return c
        } catch {
            setDatabase(down: "\(error)")
            return nil
        }
    }

    private func setDatabaseUp() {
        let was = state.withLockedValue { s in
            defer { s.databaseUp = true; s.databaseError = "" }
            return s.databaseUp
        }
        if !was { logger.notice("database accepts writes") }
    }

    private func setBroker(down why: String) {
        let (was, previous) = state.withLockedValue { s in
            defer { s.brokerUp = false; s.brokerError = why }
            return (s.brokerUp, s.brokerError)
        }
        if was || previous != why { logger.warning("broker unavailable", metadata: ["reason": "\(why)"]) }
    }

    private func setDatabase(down why: String) {
        let (was, previous) = state.withLockedValue { s in
            defer { s.databaseUp = false; s.databaseError = why }
            return (s.databaseUp, s.databaseError)
        }
        if was || previous != why { logger.warning("database unavailable", metadata: ["reason": "\(why)"]) }
    }

    /// Backoff between reconnect attempts: 250 ms, 500 ms … capped at 5 s, cut short by stop().
    private func pause(_ failures: Int) {
        let delay = min(0.25 * Double(failures), 5)
        let until = Date(timeIntervalSinceNow: delay)
        while Date() < until, !stopping { Thread.sleep(forTimeInterval: 0.05) }
    }
}
