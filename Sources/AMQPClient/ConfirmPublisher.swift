import CRabbitMQ
import Foundation
package import Logging
import Metrics
import PipelineCore

/// Publishes persistent messages with publisher confirms on a connection that
/// lives on its own thread (rabbitmq-c is blocking).
///
/// Publishing is pipelined: the thread publishes whatever is queued as soon as
/// it can, keeps up to `maxInFlight` requests awaiting their confirm, and
/// completes each request the moment the confirm of the message carrying it
/// arrives (`basic.ack`, honouring `multiple`). With `packing`, the requests
/// queued together are packed into `ReadingMessage.packed` messages; without,
/// each is a message of its own, as given. A `basic.nack`, a `basic.return`
/// (unroutable), a lost connection or no confirm within `confirmTimeout`
/// completes every request of the message with an error instead: only the
/// broker's ack ever completes a request successfully, and every request
/// completes exactly once. On connection loss the thread
/// reconnects in the background, rotating through the configured nodes;
/// meanwhile requests fail at once instead of waiting.
///
/// While the broker blocks publishers (`connection.blocked`, sent under a
/// memory or disk alarm) requests fail at once with `.blocked`, and the ones
/// awaiting a confirm are failed too: a blocked broker reads nothing more from
/// the connection until the alarm clears. A watchdog shuts the socket down if
/// a publish call itself stays blocked longer than `confirmTimeout`, so the
/// thread is never stuck inside rabbitmq-c.
package final class ConfirmPublisher: @unchecked Sendable {
    package typealias Completion = @Sendable (Result<Void, AMQPError>) -> Void

    struct Request {
        var message: OutgoingMessage
        var completion: Completion
    }

    let configuration: AMQPConfiguration
    private let logger: Logger
    private let maxInFlight: Int
    private let confirmTimeout: Duration
    let packing: Packing?
    let confirmLatency = Timer(label: "amqp_confirm_latency_seconds")
    let messagesPublished = Counter(label: "amqp_messages_published_total")
    let readingsPublished = Counter(label: "amqp_readings_published_total")
    /// Message ids of packed messages: this publisher's random prefix and a counter.
    let idPrefix = String(UInt32.random(in: .min ... .max), radix: 16)
    var published: UInt64 = 0
    /// When the publisher thread last published a message.
    var lastPublish: ContinuousClock.Instant?

    // Guarded by `condition`.
    let condition = NSCondition()
    private var queue: [Request] = []
    private var stopping = false
    private var connected = false
    private var inFlight = 0
    private var lastError: String = "not connected yet"
    private var started = false
    private var finished = false
    /// Set while the broker blocks this connection's publishes: its reason.
    private var blockedReason: String?
    /// The socket and start of the publish call in progress, for the watchdog.
    var publishing: (fd: Int32, since: ContinuousClock.Instant)?

    package init(
        configuration: AMQPConfiguration, maxInFlight: Int = 10_000, confirmTimeout: Duration = .seconds(5),
        packing: Packing? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.maxInFlight = maxInFlight
        self.confirmTimeout = confirmTimeout
        self.packing = packing
        self.logger = logger
    }

    /// Starts the publisher thread; it connects in the background.
    package func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        Gauge(label: "amqp_publisher_blocked").record(0)
        let thread = Thread { [self] in self.run() }
        thread.name = "amqp-publisher"
        thread.start()
        let watchdog = Thread { [self] in self.watch() }
        watchdog.name = "amqp-publisher-watchdog"
        watchdog.start()
    }

    /// Why the broker blocks publishes right now (a resource alarm), or nil.
    package var blocked: String? {
        condition.lock()
        defer { condition.unlock() }
        return blockedReason
    }

    /// True while a confirm-mode channel to a broker node is open.
    package var isConnected: Bool {
        condition.lock()
        defer { condition.unlock() }
        return connected
    }

    /// Requests published and awaiting their confirm, plus those queued.
    package var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return inFlight + queue.count
    }

    /// Queues one message; `completion` runs on the publisher thread once the
    /// broker confirmed it, or with the reason it was not confirmed.
    package func publish(_ message: OutgoingMessage, completion: @escaping Completion) {
        enqueue([Request(message: message, completion: completion)])
    }

    /// Publishes all messages and returns once every one is confirmed; throws
    /// the first failure otherwise (some may have been confirmed: the
    /// idempotency key makes a retry of the whole set safe).
    package func publish(_ messages: [OutgoingMessage]) async throws(AMQPError) {
        if messages.isEmpty { return }
        let result: Result<Void, AMQPError> = await withCheckedContinuation { continuation in
            let gather = Gather(count: messages.count, continuation: continuation)
            enqueue(messages.map { m in Request(message: m, completion: { gather.complete($0) }) })
        }
        try result.get()
    }

    /// Stops taking new messages, finishes those queued and in flight, closes the connection.
    package func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            condition.broadcast()
            if !started {
                finished = true
            }
            condition.unlock()
            Thread.detachNewThread { [self] in
                condition.lock()
                while !finished { _ = condition.wait(until: Date(timeIntervalSinceNow: 0.05)) }
                condition.unlock()
                continuation.resume()
            }
        }
    }

    private func enqueue(_ requests: [Request]) {
        condition.lock()
        if stopping || blockedReason != nil {
            let error = stopping ? AMQPError.shuttingDown : .blocked(blockedReason ?? "")
            condition.unlock()
            for r in requests { r.completion(.failure(error)) }
            return
        }
        queue.append(contentsOf: requests)
        condition.signal()
        condition.unlock()
    }

    // MARK: - Publisher thread

    /// One open connection and the messages awaiting their confirm on it.
    final class Link {
        let connection: AMQPConnection
        var ledger = ConfirmLedger<[Request]>()

        init(_ connection: AMQPConnection) { self.connection = connection }
    }

    private func run() {
        var link: Link?
        var nextAttempt = ContinuousClock.now
        var failures = 0
        var nodeIndex = 0
        let inFlightGauge = Gauge(label: "amqp_publishes_in_flight")

        func drop(_ l: Link, _ error: AMQPError, _ why: String) {
            l.connection.abandon()
            let entries = l.ledger.resolveAll()
            link = nil
            setBlocked(nil)
            markDisconnected(why)
            for e in entries { for r in e.payload { r.completion(.failure(error)) } }
            nextAttempt = ContinuousClock.now
            nodeIndex += 1
        }

        while true {
            condition.lock()
            if link?.ledger.isEmpty ?? true {
                while queue.isEmpty && !stopping {
                    if link == nil && ContinuousClock.now >= nextAttempt { break }
                    _ = condition.wait(until: Date(timeIntervalSinceNow: 0.25))
                    if queue.isEmpty, !stopping, let l = link {
                        // Idle: let rabbitmq-c exchange heartbeats and notice a closed connection.
                        condition.unlock()
                        if !readConfirms(l, waitMs: 0) {
                            drop(l, .connection("connection lost"), "connection to \(l.connection.endpoint) lost while idle")
                        }
                        condition.lock()
                    }
                }
            }
            let outstanding = link?.ledger.weight ?? 0
            if stopping && queue.isEmpty && outstanding == 0 {
                condition.unlock()
                break
            }
            var take = min(queue.count, max(maxInFlight - outstanding, 0))
            if let packing, let l = link, take % packing.maxReadings != 0, !stopping {
                let sinceLast = lastPublish.map { ContinuousClock.now - $0 }
                if l.ledger.count >= packing.maxPartialInFlight {
                    take -= take % packing.maxReadings  // full messages only, until a confirm comes
                } else if let sinceLast, sinceLast < packing.linger {
                    take -= take % packing.maxReadings  // gathering: full messages only, until the linger is over
                    if take == 0 && l.ledger.isEmpty {
                        _ = condition.wait(until: Date(timeIntervalSinceNow: (packing.linger - sinceLast) / .seconds(1)))
                        condition.unlock()
                        continue
                    }
                }
            }
            let batch = Array(queue.prefix(take))
            queue.removeFirst(take)
            inFlight = outstanding + batch.count
            condition.unlock()
            inFlightGauge.record(outstanding + batch.count)

            if link == nil, !stopping || !batch.isEmpty, ContinuousClock.now >= nextAttempt {
                let (c, index) = connect(startingAt: nodeIndex)
                nodeIndex = index
                if let c {
                    link = Link(c)
                    failures = 0
                } else {
                    failures += 1
                    nextAttempt = ContinuousClock.now + min(.milliseconds(250) * failures, .seconds(5))
                }
            }
            let blockedNow = blocked
            if !batch.isEmpty {
                if let reason = blockedNow {
                    for r in batch { r.completion(.failure(.blocked(reason))) }
                } else if let l = link {
                    if let why = publish(batch, on: l) {
                        drop(l, .connection(why), why)
                    }
                } else {
                    let why = currentError()
                    for r in batch { r.completion(.failure(.unavailable(why))) }
                }
            }
            if let l = link, !l.ledger.isEmpty || blockedNow != nil {
                // Wait a little for confirms only when nothing new is queued.
                if !readConfirms(l, waitMs: batch.isEmpty ? 2 : 0) {
                    drop(l, .connection("connection lost"), "connection to \(l.connection.endpoint) lost")
                } else if l.ledger.isOverdue(now: ContinuousClock.now, timeout: confirmTimeout) {
                    drop(l, .timeout, "no confirm within \(confirmTimeout)")
                }
            }
            let stillOutstanding = link?.ledger.weight ?? 0
            condition.lock()
            inFlight = stillOutstanding
            condition.unlock()
        }
        link?.connection.close()
        inFlightGauge.record(0)
        condition.lock()
        connected = false
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Tries each node once, starting at `startingAt`; returns the connection and the node index used.
    private func connect(startingAt start: Int) -> (AMQPConnection?, Int) {
        do {
            let (c, node) = try AMQPConnection.first(of: configuration, from: start) { [configuration] c throws(AMQPError) in
                try c.declareTopology(configuration)
                try c.confirmSelect()
            }
            condition.lock()
            connected = true
            condition.unlock()
            logger.info("publisher connected", metadata: ["node": "\(c.endpoint)", "queue": "\(configuration.queue)"])
            return (c, node)
        } catch {
            markDisconnected(error.description)
            return (nil, start)
        }
    }

    func setBlocked(_ reason: String?) {
        condition.lock()
        let previous = blockedReason
        blockedReason = reason
        condition.unlock()
        if let reason, previous == nil {
            logger.warning("broker blocks publishing", metadata: ["reason": "\(reason)"])
            Gauge(label: "amqp_publisher_blocked").record(1)
        } else if reason == nil, previous != nil {
            logger.notice("broker accepts publishing again")
            Gauge(label: "amqp_publisher_blocked").record(0)
        }
    }

    /// Shuts the socket down under a publish call that has not returned within
    /// `confirmTimeout` (the broker stopped reading): the call then fails and the
    /// thread drops the connection as after any socket error.
    private func watch() {
        while true {
            condition.lock()
            if finished {
                condition.unlock()
                return
            }
            if let p = publishing, ContinuousClock.now - p.since > confirmTimeout {
                logger.warning("publish call blocked for longer than the confirm timeout; resetting the connection")
                _ = Glibc.shutdown(p.fd, Int32(SHUT_RDWR))
                publishing = nil
            }
            condition.unlock()
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    private func markDisconnected(_ why: String) {
        condition.lock()
        let wasConnected = connected
        let previous = lastError
        connected = false
        lastError = why
        condition.unlock()
        if wasConnected || previous != why {
            logger.warning("publisher disconnected", metadata: ["reason": "\(why)"])
        }
    }

    private func currentError() -> String {
        condition.lock()
        defer { condition.unlock() }
        return lastError
    }
}
