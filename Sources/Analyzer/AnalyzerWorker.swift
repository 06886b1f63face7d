import AMQPClient
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import PipelineCore
import SQL
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
        self.detector = Detector(rule: configuration.rule)
        self.deadLetters = DeadLetterPublisher(configuration: configuration.amqp)
        // Exposed at zero from the start, so a dashboard's rate() has a series before the first event.
        for result in ["stored", "duplicate", "dead_lettered"] {
            _ = Counter(label: "analyzer_messages_total", dimensions: [("result", result)])
        }
        for result in ["hit", "miss"] { _ = Counter(label: "analyzer_window_cache_total", dimensions: [("result", result)]) }
        _ = Counter(label: "analyzer_redeliveries_total")
        _ = Counter(label: "analyzer_verdicts_revised_total")
    }

    var snapshot: State { state.withLockedValue { $0 } }

    func stop() { state.withLockedValue { $0.stopping = true } }

    private var stopping: Bool { state.withLockedValue { $0.stopping } }

    // MARK: - Loop

    func run() {
        let consumer = AMQPConsumer(configuration: configuration.amqp, prefetch: configuration.prefetch)
        var db: SQLConnection?
        var failures = 0
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
                db = connectDatabase()
                if db == nil {
                    failures += 1
                    pause(failures)
                    continue
                }
            }
            failures = 0
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
        let deadline = ContinuousClock.now + configuration.batchWindow
        while batch.count < configuration.batchSize {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { break }
            guard let d = try consumer.next(timeout: min(remaining, .milliseconds(5))) else {
                if ContinuousClock.now >= deadline { break }
                continue
            }
            batch.append(d)
        }
        return batch
    }

    /// Stores a batch and acknowledges it. On a database outage the batch is
    /// kept and retried until it commits or the worker stops (then the broker
    /// redelivers it to whoever consumes next).
    private func process(_ batch: [Delivery], consumer: AMQPConsumer, db: inout SQLConnection?) {
        var good: [(Delivery, IncomingReading)] = []
        var poison: [(Delivery, String)] = []
        for d in batch {
            do throws(ReadingError) {
                let reading = try ReadingCodec.decodeOne(d.body)
                good.append((d, IncomingReading(reading: reading, acceptedAtMs: d.acceptedAtMs)))
            } catch {
                poison.append((d, error.message))
            }
        }
        Recorder(label: "analyzer_batch_size").record(batch.count)
        let redelivered = batch.filter(\.redelivered).count
        if redelivered > 0 { Counter(label: "analyzer_redeliveries_total").increment(by: redelivered) }
        if good.count < batch.count { logger.debug("batch", metadata: ["size": "\(batch.count)", "poison": "\(poison.count)"]) }

        var failures = 0
        var stored = false
        while !stored {
            if db == nil {
                db = connectDatabase()
                if db == nil {
                    if stopping { return }
                    failures += 1
                    pause(failures)
                    continue
                }
            }
            do {
                let rejected = try store(good, on: db!)
                for (d, why) in rejected {
                    if let i = good.firstIndex(where: { $0.0.tag == d }) {
                        poison.append((good[i].0, why))
                        good.remove(at: i)
                    }
                }
                stored = true
            } catch {
                setDatabase(down: error.description)
                db = nil
                if stopping { return }
                failures += 1
                pause(failures)
            }
        }
        do {
            // Poison goes to the dead-letter queue with its reason, confirmed before the
            // original is acknowledged; if that fails it is requeued (and after the
            // queue's delivery limit the broker dead-letters it by itself).
            var settled = good.map(\.0.tag)
            for (d, why) in poison {
                do {
                    try deadLetters.send(body: d.body, messageID: d.messageID, reason: why)
                    settled.append(d.tag)
                    logger.warning("dead-lettered a message", metadata: ["message_id": "\(d.messageID ?? "?")", "reason": "\(why)"])
                    Counter(label: "analyzer_messages_total", dimensions: [("result", "dead_lettered")]).increment()
                } catch {
                    logger.warning("cannot dead-letter a message; requeued", metadata: ["error": "\(error)"])
                    try consumer.reject(d.tag, requeue: true)
                }
            }
            if let last = settled.max() {
                try consumer.ack(last, multiple: true)
                Counter(label: "analyzer_messages_total", dimensions: [("result", "stored")]).increment(by: good.count)
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                for (_, item) in good {
                    if let t = item.acceptedAtMs {
                        Timer(label: "analyzer_ingest_to_commit_seconds").recordMilliseconds(max(0, now - t))
                    }
                }
            }
        } catch {
            // The broker connection broke after the commit: the deliveries come back and are
            // recognised as already stored, so nothing is lost or doubled.
            setBroker(down: error.description)
        }
    }

    /// One transaction for the batch. A statement error that is not transient
    /// (data the database refuses) makes it fall back to one reading per
    /// transaction, so only the offending readings are rejected; their tags
    /// and reasons are returned.
    private func store(_ items: [(Delivery, IncomingReading)], on db: SQLConnection) throws(SQLError) -> [(UInt64, String)] {
        do {
            try storeTransaction(items.map(\.1), on: db)
            return []
        } catch where !error.isTransient {
            var rejected: [(UInt64, String)] = []
            for (d, item) in items {
                do {
                    try storeTransaction([item], on: db)
                } catch where !error.isTransient {
                    rejected.append((d.tag, "database refused the reading: \(error.description)"))
                }
            }
            return rejected
        }
    }

    private func storeTransaction(_ items: [IncomingReading], on db: SQLConnection) throws(SQLError) {
        let start = ContinuousClock.now
        do {
            let outcome = try db.transaction { db -> Detector.Outcome in
                let devices = try ReadingStore.lockDevices(Set(items.map(\.reading.deviceID)), on: db)
                let inserted = try ReadingStore.insert(items, on: db)
                let stored = items.filter { inserted.contains(ReadingKey(deviceID: $0.reading.deviceID, seq: $0.reading.seq)) }
                let outcome = try detector.judge(stored.map(\.reading), devices: devices, on: db)
                try ReadingStore.recordStored(stored, on: db)
                try ReadingStore.insertAnomalies(outcome.anomalies, on: db)
                try ReadingStore.deleteAnomalies(outcome.cleared, on: db)
                for a in outcome.anomalies {
                    Counter(label: "analyzer_anomalies_total", dimensions: [("metric", a.metric)]).increment()
                }
                if outcome.revisited > 0 {
                    Counter(label: "analyzer_verdicts_revised_total").increment(by: outcome.revisited)
                }
                if inserted.count < items.count {
                    Counter(label: "analyzer_messages_total", dimensions: [("result", "duplicate")])
                        .increment(by: items.count - inserted.count)
                }
                return outcome
            }
            detector.committed(outcome)
            Counter(label: "analyzer_window_cache_total", dimensions: [("result", "hit")]).increment(by: outcome.cacheHits)
            Counter(label: "analyzer_window_cache_total", dimensions: [("result", "miss")]).increment(by: outcome.cacheMisses)
        } catch let error as SQLError {
            throw error
        } catch {
            throw SQLError(sqlState: nil, message: "\(error)", connectionLost: false)
        }
        Timer(label: "analyzer_db_seconds").recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
    }

    private func connectDatabase() -> SQLConnection? {
        do {
            let c = try SQLConnection(configuration.databaseURL, applicationName: "pipeline-analyzer")
            try Schema.migrate(c)
            state.withLockedValue {
                $0.databaseUp = true
                $0.databaseError = ""
            }
            logger.info("database connected")
            return c
        } catch {
            setDatabase(down: "\(error)")
            return nil
        }
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
