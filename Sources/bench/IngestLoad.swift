import Foundation
import NIOConcurrencyHelpers
import NIOSSL
import PipelineCore
import SimulatorKit

/// Offered load against a running ingest: many devices, each on its own
/// connection, for a fixed time; counts acknowledged readings and their latency.
enum IngestLoad {
    struct Result {
        var acked = 0
        var failed = 0
        var seconds = 0.0
        var latenciesMs: [Double] = []

        var perSecond: Double { Double(acked) / seconds }

        func percentile(_ p: Double) -> Double { Percentile.nearestRank(latenciesMs, p) }
    }

    /// A reading as a device would send it (built from a template: the load
    /// generator shares the machine with ingest, so it should cost little).
    static func reading(_ device: String, _ seq: Int64) -> String {
        "{\"device_id\":\"\(device)\",\"seq\":\(seq),\"ts\":\"2026-11-25T08:00:00.250Z\",\"metrics\":{\"heart_rate\":\(60 + seq % 40),\"spo2\":97}}"
    }

    /// HTTPS: each device posts `batch` readings per request, one request at a
    /// time on its keep-alive connection; latency is per request.
    static func https(
        host: String, port: Int, tls: NIOSSLContext, devices: [(id: String, token: String)], batch: Int = 1,
        duration: Duration
    ) async throws -> Result {
        let start = ContinuousClock.now
        let end = start + duration
        var result = try await withThrowingTaskGroup(of: Result.self) { group in
            for d in devices {
                group.addTask {
                    let c = try await HTTPConnection.connect(host: host, port: port, tls: tls)
                    var r = Result()
                    var seq: Int64 = 0
                    let headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(d.token)")]
                    while ContinuousClock.now < end {
                        let t0 = ContinuousClock.now
                        let body = batch == 1
                            ? reading(d.id, seq)
                            : "[" + (0..<Int64(batch)).map { reading(d.id, seq + $0) }.joined(separator: ",") + "]"
                        let reply = try await c.request(.POST, "/v1/readings", headers: headers, body: Array(body.utf8))
                        if reply.status == 202 {
                            r.acked += batch
                            r.latenciesMs.append((ContinuousClock.now - t0) / .milliseconds(1))
                        } else {
                            r.failed += batch
                        }
                        seq += Int64(batch)
                    }
                    await c.close()
                    return r
                }
            }
            return try await group.reduce(into: Result(), merge)
        }
        result.seconds = (ContinuousClock.now - start) / .seconds(1)
        return result
    }

    static func merge(_ into: inout Result, _ r: Result) {
        into.acked += r.acked
        into.failed += r.failed
        into.latenciesMs += r.latenciesMs
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
