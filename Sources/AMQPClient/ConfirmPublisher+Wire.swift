import CRabbitMQ
import Foundation
import PipelineCore

/// The publisher thread's side of the wire: publishing a batch (packed or not) on
/// one connection, and reading the confirms, returns and alarms that come back.
extension ConfirmPublisher {
    /// Publishes every request of the batch, packed when `packing` is set; returns why
    /// when the connection broke (then every request not yet published is failed).
    func publish(_ batch: [Request], on l: Link) -> String? {
        let now = ContinuousClock.now
        condition.lock()
        publishing = (amqp_get_sockfd(l.connection.state), now)
        condition.unlock()
        defer {
            condition.lock()
            publishing = nil
            condition.unlock()
        }
        var start = 0
        while start < batch.count {
            let end = packing.map { Self.packEnd(batch, from: start, $0) } ?? start + 1
            let requests = Array(batch[start..<end])
            let body: [UInt8]
            let messageID: String
            let format: String
            if packing != nil {
                body = requests.count == 1 ? requests[0].message.body : ReadingMessage.pack(requests.map(\.message.body))
                published += 1
                messageID = "\(idPrefix)-\(published)"
                format = ReadingMessage.packed
            } else {
                (body, messageID, format) = (requests[0].message.body, requests[0].message.messageID, "")
            }
            let acceptedAt = requests.lazy.map(\.message.acceptedAtMs).min() ?? 0
            let rc = body.withUnsafeBytes { b in
                pipeline_publish(
                    l.connection.state, l.connection.channel, configuration.queue, b.baseAddress, b.count, messageID, acceptedAt,
                    format)
            }
            if rc != AMQP_STATUS_OK.rawValue {
                let why = "publish: \(AMQPConnection.statusString(rc))"
                for rest in batch[start...] { rest.completion(.failure(.connection(why))) }
                return why
            }
            l.ledger.publish(requests, messageID: messageID, weight: requests.count, at: now)
            lastPublish = now
            messagesPublished.increment()
            readingsPublished.increment(by: requests.count)
            start = end
        }
        return nil
    }

    /// Where the message starting at `start` ends: as many of the queued requests as
    /// fit the limits (at least one).
    static func packEnd(_ batch: [Request], from start: Int, _ packing: Packing) -> Int {
        var end = start + 1
        var bytes = batch[start].message.body.count
        while end < batch.count, end - start < packing.maxReadings {
            let next = bytes + 1 + batch[end].message.body.count
            if next > packing.maxBytes { break }
            bytes = next
            end += 1
        }
        return end
    }

    /// Reads the frames that arrived (waiting up to `waitMs` for the first) and
    /// completes the requests they confirm. False when the connection is gone.
    func readConfirms(_ l: Link, waitMs: Int32) -> Bool {
        var tag: UInt64 = 0
        var multiple: Int32 = 0
        var status: Int32 = 0
        var returnedID = [CChar](repeating: 0, count: 256)
        var wait = waitMs
        for _ in 0..<10_000 {
            let kind = pipeline_wait_confirm(
                l.connection.state, l.connection.channel, wait, &tag, &multiple, &returnedID, returnedID.count, &status)
            wait = 0
            switch kind {
            case PIPELINE_FRAME_ACK, PIPELINE_FRAME_NACK:
                let now = ContinuousClock.now
                for (e, outcome) in l.ledger.resolve(tag: tag, multiple: multiple != 0, ack: kind == PIPELINE_FRAME_ACK) {
                    let result: Result<Void, AMQPError>
                    switch outcome {
                    case .nacked: result = .failure(.nacked)
                    case .returned: result = .failure(.returned)
                    case .confirmed:
                        confirmLatency.recordNanoseconds(Int64((now - e.sentAt) / .nanoseconds(1)))
                        result = .success(())
                    }
                    for r in e.payload { r.completion(result) }
                }
            case PIPELINE_FRAME_RETURN:
                l.ledger.markReturned(String(nulTerminated: returnedID))
            case PIPELINE_FRAME_BLOCKED:
                // Nothing more is read from this connection until the alarm clears: fail
                // what waits for a confirm now (a retry is idempotent) and refuse new requests.
                let reason = String(nulTerminated: returnedID)
                setBlocked(reason.isEmpty ? "unknown" : reason)
                for e in l.ledger.resolveAll() { for r in e.payload { r.completion(.failure(.blocked(reason))) } }
            case PIPELINE_FRAME_UNBLOCKED:
                setBlocked(nil)
            case PIPELINE_FRAME_OTHER:
                continue
            case PIPELINE_FRAME_TIMEOUT:
                amqp_maybe_release_buffers(l.connection.state)
                return true
            default:
                return false
            }
        }
        return true
    }
}
