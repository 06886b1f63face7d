import CRabbitMQ
import Foundation
import NIOConcurrencyHelpers

/// One persistent message every 20 ms to a quorum queue of its own, each confirm's
/// latency recorded: the broker's own answer time, beside what devices see through
/// ingest, so a slow ack can be told apart as ingest's or the broker's.
final class ConfirmProbe: Sendable {
    private let latencies = NIOLockedValueBox<[Double]>([])
    private let stopped = NIOLockedValueBox(false)
    private let done = NIOLockedValueBox(false)

    /// Starts publishing from a thread of its own.
    init(url: String, queue: String) throws {
        let c = try RawConfirmBench.open(url)
        guard pipeline_declare_topology(c, 1, queue, queue + ".dlx", queue + ".dead", 5) == 0 else {
            throw RawConfirmBench.Failure(description: "declare failed")
        }
        amqp_confirm_select(c, 1)
        let connection = UnsafeTransfer(c)
        Thread.detachNewThread { [self] in
            self.run(connection.value, queue: queue)
            self.done.withLockedValue { $0 = true }
        }
    }

    /// The latencies recorded since the last call, ms; empties the record.
    func take() -> [Double] { latencies.withLockedValue { l in defer { l = [] }; return l } }

    func stop() {
        stopped.withLockedValue { $0 = true }
        while !done.withLockedValue({ $0 }) { Thread.sleep(forTimeInterval: 0.01) }
    }

    private func run(_ c: amqp_connection_state_t, queue: String) {
        defer {
            amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS)
            amqp_connection_close(c, AMQP_REPLY_SUCCESS)
            amqp_destroy_connection(c)
        }
        var tag: UInt64 = 0
        var multiple: Int32 = 0
        var status: Int32 = 0
        var returned = [CChar](repeating: 0, count: 64)
        let body = Array(#"{"probe":true}"#.utf8)
        var sent: UInt64 = 0
        while !stopped.withLockedValue({ $0 }) {
            let start = ContinuousClock.now
            sent += 1
            let rc = body.withUnsafeBytes { b in pipeline_publish(c, 1, queue, b.baseAddress, b.count, "probe:\(sent)", 0, "") }
            guard rc == 0 else { return }
            var confirmed: UInt64 = 0
            while confirmed < sent {
                let kind = pipeline_wait_confirm(c, 1, 5000, &tag, &multiple, &returned, returned.count, &status)
                guard kind == PIPELINE_FRAME_ACK || kind == PIPELINE_FRAME_OTHER || kind == PIPELINE_FRAME_RETURN else { return }
                if kind == PIPELINE_FRAME_ACK { confirmed = max(confirmed, tag) }
            }
            let ms = (ContinuousClock.now - start) / .milliseconds(1)
            latencies.withLockedValue { $0.append(ms) }
            amqp_maybe_release_buffers(c)
            Thread.sleep(until: Date(timeIntervalSinceNow: max(0, 0.02 - ms / 1000)))
        }
    }
}

/// Hands a non-Sendable C handle to the one thread that uses it.
private struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
