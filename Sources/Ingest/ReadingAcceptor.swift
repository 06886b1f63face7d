package import AMQPClient
import Foundation
import Metrics
package import PipelineCore

/// The bridge from both listeners to the broker: a reading is accepted only
/// once the broker confirmed it into the quorum queue.
package final class ReadingAcceptor: Sendable {
    package enum Transport: String, Sendable { case http, tcp }

    let publisher: any ConfirmingPublisher
    /// Metric handles made once: looking them up per reading costs a lock and a hash.
    private let counters: [Transport: [String: Counter]]
    private let latency: [Transport: Timer]

    static let results = [
        "accepted", "unconfirmed", "invalid", "too_large", "unsupported_media_type", "unauthorized", "auth_unavailable",
        "rate_limited", "busy",
    ]

    package init(publisher: any ConfirmingPublisher) {
        self.publisher = publisher
        var counters: [Transport: [String: Counter]] = [:]
        var latency: [Transport: Timer] = [:]
        for t in [Transport.http, .tcp] {
            for r in Self.results {
                counters[t, default: [:]][r] = Counter(
                    label: "ingest_readings_total", dimensions: [("transport", t.rawValue), ("result", r)])
            }
            latency[t] = Timer(label: "ingest_ack_latency_seconds", dimensions: [("transport", t.rawValue)])
        }
        self.counters = counters
        self.latency = latency
    }

    /// The reading as the broker carries it: re-encoded compactly, whatever padding the device sent.
    static func message(for reading: Reading, acceptedAtMs: Int64) -> OutgoingMessage {
        OutgoingMessage(body: ReadingCodec.encode(reading), messageID: reading.messageID, acceptedAtMs: acceptedAtMs)
    }

    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Publishes all readings; returns once all are confirmed.
    package func accept(_ readings: [Reading], via transport: Transport) async throws(AMQPError) {
        let start = ContinuousClock.now
        let now = Self.nowMs
        do {
            try await publisher.publish(readings.map { Self.message(for: $0, acceptedAtMs: now) })
            record(transport, "accepted", count: readings.count, since: start)
        } catch {
            record(transport, "unconfirmed", count: readings.count, since: start)
            throw error
        }
    }

    /// Publishes one reading; `completion` runs on the publisher's thread.
    package func accept(
        _ reading: Reading, via transport: Transport, completion: @escaping @Sendable (Result<Void, AMQPError>) -> Void
    ) {
        let start = ContinuousClock.now
        let message = Self.message(for: reading, acceptedAtMs: Self.nowMs)
        publisher.publish(message) { [self] result in
            switch result {
            case .success: record(transport, "accepted", count: 1, since: start)
            case .failure: record(transport, "unconfirmed", count: 1, since: start)
            }
            completion(result)
        }
    }

    /// Counts a refused input (bad JSON, invalid reading, too large …).
    package func recordRejected(_ transport: Transport, reason: String) {
        counter(transport, reason).increment()
    }

    private func counter(_ transport: Transport, _ result: String) -> Counter {
        counters[transport]?[result]
            ?? Counter(label: "ingest_readings_total", dimensions: [("transport", transport.rawValue), ("result", result)])
    }

    private func record(_ transport: Transport, _ result: String, count: Int, since start: ContinuousClock.Instant) {
        counter(transport, result).increment(by: count)
        latency[transport]?.recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
    }
}
