import CRabbitMQ
import Foundation
import Logging

/// A message for the readings queue.
public struct OutgoingMessage: Sendable {
    public var body: [UInt8]
    /// `device_id:seq`, the idempotency key.
    public var messageID: String
    /// When ingest accepted the reading, stamped so the analyzer can measure end-to-end latency.
    public var acceptedAtMs: Int64

    public init(body: [UInt8], messageID: String, acceptedAtMs: Int64) {
        self.body = body
        self.messageID = messageID
        self.acceptedAtMs = acceptedAtMs
    }
}

/// Publishes persistent messages with publisher confirms on a connection that
/// lives on its own thread (rabbitmq-c is blocking).
///
/// Requests queue up while a batch is on the wire; the thread then publishes
/// everything queued as the next batch and reads confirms (honouring
/// `multiple`) until each message of the batch is acked, nacked, returned or
/// timed out. Every request completes exactly once, and only an ack from the
/// broker completes it successfully. On any connection failure the thread
/// reconnects in the background, rotating through the configured nodes.
public final class ConfirmPublisher: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<Void, AMQPError>) -> Void

    struct Request {
        var message: OutgoingMessage
        var completion: Completion
    }

    private let configuration: AMQPConfiguration
    private let logger: Logger
    private let maxBatch: Int
    private let confirmTimeout: Duration

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Request] = []
    private var stopping = false
    private var connected = false
    private var inFlight = 0
    private var lastError: String = "not connected yet"
    private var started = false
    private var finished = false

    public init(
        configuration: AMQPConfiguration, maxBatch: Int = 2000, confirmTimeout: Duration = .seconds(5),
        logger: Logger
    ) {
        self.configuration = configuration
        self.maxBatch = maxBatch
        self.confirmTimeout = confirmTimeout
        self.logger = logger
    }

    /// Starts the publisher thread; it connects in the background.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        let thread = Thread { [self] in self.run() }
        thread.name = "amqp-publisher"
        thread.start()
    }

    /// True while a confirm-mode channel to a broker node is open.
    public var isConnected: Bool {
        condition.lock()
        defer { condition.unlock() }
        return connected
    }

    /// Messages published and awaiting their confirm, plus those queued.
    public var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return inFlight + queue.count
    }

    /// Queues one message; `completion` runs on the publisher thread once the
    /// broker confirmed it, or with the reason it was not confirmed.
    public func publish(_ message: OutgoingMessage, completion: @escaping Completion) {
        enqueue([Request(message: message, completion: completion)])
    }

    /// Publishes all messages and returns once every one is confirmed; throws
    /// the first failure otherwise (some may have been confirmed: the
    /// idempotency key makes a retry of the whole set safe).
    public func publish(_ messages: [OutgoingMessage]) async throws(AMQPError) {
        if messages.isEmpty { return }
        let result: Result<Void, AMQPError> = await withCheckedContinuation { continuation in
            let gather = Gather(count: messages.count, continuation: continuation)
            enqueue(messages.map { m in Request(message: m, completion: { gather.complete($0) }) })
        }
        try result.get()
    }

    /// Stops taking new messages, finishes those queued and in flight, closes the connection.
    public func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            condition.broadcast()
            if !started {
                finished = true
            }
            condition.unlock()
            // Poll for the thread to finish; shutdown is rare and short.
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
        if stopping {
            condition.unlock()
            for r in requests { r.completion(.failure(.shuttingDown)) }
            return
        }
        queue.append(contentsOf: requests)
        condition.signal()
        condition.unlock()
    }

    // MARK: - Publisher thread

    private func run() {
        var connection: AMQPConnection?
        var nextAttempt = ContinuousClock.now
        var failures = 0
        var nodeIndex = 0

        while true {
            condition.lock()
            while queue.isEmpty && !stopping {
                if connection == nil && ContinuousClock.now >= nextAttempt { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.25))
                if queue.isEmpty, let c = connection, !stopping {
                    // Idle: let rabbitmq-c exchange heartbeats and notice a closed connection.
                    condition.unlock()
                    if !Self.idlePoll(c) {
                        connection = nil
                        markDisconnected("connection to \(c.endpoint) lost while idle")
                        nextAttempt = ContinuousClock.now
                    }
                    condition.lock()
                }
            }
            if queue.isEmpty && stopping {
                condition.unlock()
                break
            }
            let take = min(queue.count, maxBatch)
            let batch = Array(queue.prefix(take))
            queue.removeFirst(take)
            inFlight = batch.count
            condition.unlock()

            if connection == nil, ContinuousClock.now >= nextAttempt {
                (connection, nodeIndex) = connect(startingAt: nodeIndex)
                if connection == nil {
                    failures += 1
                    nextAttempt = ContinuousClock.now + min(.milliseconds(250) * failures, .seconds(5))
                } else {
                    failures = 0
                }
            }
            if let c = connection {
                if !publish(batch, on: c) {
                    connection = nil
                    nextAttempt = ContinuousClock.now
                    nodeIndex += 1
                }
            } else {
                let why = currentError()
                for r in batch { r.completion(.failure(.unavailable(why))) }
            }
            condition.lock()
            inFlight = 0
            condition.unlock()
        }
        if let c = connection {
            c.close()
        }
        condition.lock()
        connected = false
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Tries each node once, starting at `startingAt`; returns the connection and the node index used.
    private func connect(startingAt start: Int) -> (AMQPConnection?, Int) {
        let urls = configuration.urls
        guard !urls.isEmpty else {
            markDisconnected("AMQP_URL is empty")
            return (nil, start)
        }
        var errors: [String] = []
        for k in 0..<urls.count {
            let index = (start + k) % urls.count
            do {
                let c = try AMQPConnection(url: urls[index], configuration: configuration)
                try c.declareTopology(configuration)
                try c.confirmSelect()
                condition.lock()
                connected = true
                condition.unlock()
                logger.info("publisher connected", metadata: ["node": "\(c.endpoint)", "queue": "\(configuration.queue)"])
                return (c, index)
            } catch {
                errors.append(error.description)
            }
        }
        markDisconnected(errors.joined(separator: "; "))
        return (nil, start)
    }

    private func markDisconnected(_ why: String) {
        condition.lock()
        let wasConnected = connected
        connected = false
        lastError = why
        condition.unlock()
        if wasConnected {
            logger.warning("publisher disconnected", metadata: ["reason": "\(why)"])
        } else {
            logger.debug("publisher cannot connect", metadata: ["reason": "\(why)"])
        }
    }

    private func currentError() -> String {
        condition.lock()
        defer { condition.unlock() }
        return lastError
    }

    /// Publishes a batch and waits for its confirms. Returns false when the
    /// connection must be dropped; every request is completed either way.
    private func publish(_ batch: [Request], on c: AMQPConnection) -> Bool {
        var results = [Result<Void, AMQPError>?](repeating: nil, count: batch.count)
        var unresolved = batch.count
        var healthy = true
        defer {
            if !healthy {
                c.abandon()
            }
            for (i, r) in batch.enumerated() {
                r.completion(results[i] ?? .failure(.connection("not confirmed")))
            }
        }
        // Delivery tags count publishes on the channel, starting at 1.
        let firstTag = c.nextDeliveryTag
        for r in batch {
            let rc = r.message.body.withUnsafeBytes { body in
                pipeline_publish(
                    c.state, c.channel, configuration.queue, body.baseAddress, body.count, r.message.messageID,
                    r.message.acceptedAtMs)
            }
            if rc != AMQP_STATUS_OK.rawValue {
                let why = "publish: \(AMQPConnection.statusString(rc))"
                markDisconnected(why)
                healthy = false
                for i in results.indices where results[i] == nil { results[i] = .failure(.connection(why)) }
                return false
            }
            c.nextDeliveryTag += 1
        }
        var returned = Set<String>()
        let deadline = ContinuousClock.now + confirmTimeout
        var tag: UInt64 = 0
        var multiple: Int32 = 0
        var status: Int32 = 0
        var returnedID = [CChar](repeating: 0, count: 256)
        while unresolved > 0 {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero {
                markDisconnected("confirm timeout after \(confirmTimeout)")
                healthy = false
                for i in results.indices where results[i] == nil { results[i] = .failure(.timeout) }
                return false
            }
            let ms = Int32(min(max(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000, 1), 1000))
            let kind = pipeline_wait_confirm(
                c.state, c.channel, ms, &tag, &multiple, &returnedID, returnedID.count, &status)
            switch kind {
            case PIPELINE_FRAME_ACK, PIPELINE_FRAME_NACK:
                let isAck = kind == PIPELINE_FRAME_ACK
                let last = Int(Int64(tag) - Int64(firstTag))
                guard last >= 0, last < batch.count else { continue }
                let range = multiple != 0 ? 0...last : last...last
                for i in range where results[i] == nil {
                    if !isAck {
                        results[i] = .failure(.nacked)
                    } else if returned.contains(batch[i].message.messageID) {
                        results[i] = .failure(.returned)
                    } else {
                        results[i] = .success(())
                    }
                    unresolved -= 1
                }
            case PIPELINE_FRAME_RETURN:
                returned.insert(String(nulTerminated: returnedID))
            case PIPELINE_FRAME_TIMEOUT, PIPELINE_FRAME_OTHER:
                continue
            default:
                let why = kind == PIPELINE_FRAME_CLOSED
                    ? "broker closed the channel" : AMQPConnection.statusString(status)
                markDisconnected(why)
                healthy = false
                for i in results.indices where results[i] == nil { results[i] = .failure(.connection(why)) }
                return false
            }
        }
        amqp_maybe_release_buffers(c.state)
        return true
    }

    /// Processes pending frames without blocking; false when the connection is gone.
    private static func idlePoll(_ c: AMQPConnection) -> Bool {
        var tag: UInt64 = 0
        var multiple: Int32 = 0
        var status: Int32 = 0
        var returnedID = [CChar](repeating: 0, count: 8)
        let kind = pipeline_wait_confirm(c.state, c.channel, 0, &tag, &multiple, &returnedID, returnedID.count, &status)
        if kind == PIPELINE_FRAME_ERROR || kind == PIPELINE_FRAME_CLOSED {
            c.abandon()
            return false
        }
        return true
    }
}

/// Completes a continuation once all of `count` results arrived, with the first failure if any.
private final class Gather: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int
    private var failure: AMQPError?
    private let continuation: CheckedContinuation<Result<Void, AMQPError>, Never>

    init(count: Int, continuation: CheckedContinuation<Result<Void, AMQPError>, Never>) {
        self.remaining = count
        self.continuation = continuation
    }

    func complete(_ result: Result<Void, AMQPError>) {
        lock.lock()
        if case .failure(let e) = result, failure == nil { failure = e }
        remaining -= 1
        let done = remaining == 0
        let failure = self.failure
        lock.unlock()
        if done { continuation.resume(returning: failure.map { .failure($0) } ?? .success(())) }
    }
}
