import Alerts
import DeviceAuth
import ChaosKit
import Foundation
import Logging
import PipelineCore
import ServiceLifecycle
import SimulatorKit
import SQL
import Storage

/// `/v1/anomalies` latency with 1,000,000 readings (1,000 devices × 1,000) and
/// 10,000 anomalies spread over a day, in a database of its own: concurrent
/// clients ask for pages of 100 (newest, next pages by cursor, by device, by
/// metric, by time range) against an alerts service in this process.
enum AlertsQueryBench {
    struct Figures {
        var seedSeconds = 0.0
        var requests = 0
        var failed = 0
        var latenciesMs: [String: [Double]] = [:]

        var all: [Double] { latenciesMs.values.flatMap { $0 } }

        static func percentile(_ xs: [Double], _ p: Double) -> Double { Percentile.nearestRank(xs, p) }
    }

    static let devices = 1000
    static let readingsPerDevice = 1000
    static let anomalies = 10_000

    static func run(adminURL: String, tag: String, clients: Int, duration: Duration, logger: Logger) async throws -> Figures {
        let database = try BenchDatabase(adminURL: adminURL, name: "bench_alerts_\(tag)")
        defer { database.drop() }
        let url = database.url

        var figures = Figures()
        let t0 = ContinuousClock.now
        try seed(url)
        figures.seedSeconds = (ContinuousClock.now - t0) / .seconds(1)
        // Reader keys on, as deployed: every request's key is checked.
        let key = ReaderKey.generate()
        try ReaderKeyStore.issue(
            name: "bench", keyHash: ReaderKey.hash(key), scope: .all, replace: true, on: try SQLConnection(url))
        let authorization = [("Authorization", "Bearer \(key)")]

        let port = 30000 + Int.random(in: 0..<10000)
        let service = AlertsService(
            configuration: .init(host: "127.0.0.1", port: port, adminPort: try FreePort.pick(), databaseURL: url), logger: logger)
        let group = ServiceGroup(configuration: .init(services: service.services.map { .init(service: $0) }, logger: logger))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        var connected: HTTPConnection?
        while connected == nil {
            connected = try? await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil)
            if connected == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        await connected?.close()

        let since = Timestamp.format(epochMicros: Int64((Date().timeIntervalSince1970 - 3600) * 1_000_000))
        let end = ContinuousClock.now + duration
        let results = try await withThrowingTaskGroup(of: Figures.self) { group in
            for client in 0..<clients {
                group.addTask {
                    let c = try await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil)
                    var f = Figures()
                    var cursor: String?
                    var i = client
                    while ContinuousClock.now < end {
                        i += 1
                        let device = String(format: "bench-%04d", (i * 7919) % devices)
                        let (kind, path): (String, String) =
                            switch i % 5 {
                            case 0: ("newest", "/v1/anomalies?limit=100")
                            case 1: ("next page", "/v1/anomalies?limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""))
                            case 2: ("by device", "/v1/anomalies?limit=100&device_id=\(device)")
                            case 3: ("by metric", "/v1/anomalies?limit=100&metric=spo2")
                            default: ("last hour", "/v1/anomalies?limit=100&since=\(since)")
                            }
                        let start = ContinuousClock.now
                        let reply = try await c.request(.GET, path, headers: authorization)
                        let ms = (ContinuousClock.now - start) / .milliseconds(1)
                        f.requests += 1
                        guard reply.status == 200 else {
                            f.failed += 1
                            continue
                        }
                        f.latenciesMs[kind, default: []].append(ms)
                        if kind == "next page" || kind == "newest" {
                            // Walk on from this page; start over at the end.
                            let next = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])?["next_cursor"]
                            cursor = next as? String
                        }
                    }
                    await c.close()
                    return f
                }
            }
            var total = Figures()
            for try await f in group {
                total.requests += f.requests
                total.failed += f.failed
                for (k, v) in f.latenciesMs { total.latenciesMs[k, default: []] += v }
            }
            return total
        }
        await group.triggerGracefulShutdown()
        try? await running.value
        figures.requests = results.requests
        figures.failed = results.failed
        figures.latenciesMs = results.latenciesMs
        return figures
    }

    /// Fills the database with set-based statements (seconds, not minutes).
    static func seed(_ url: String) throws {
        let db = try SQLConnection(url)
        try Schema.migrate(db)
        let n = devices * readingsPerDevice
        try db.execute(
            """
            INSERT INTO readings (device_id, seq, ts, metrics, accepted_at)
            SELECT 'bench-' || lpad((g % \(devices))::TEXT, 4, '0'), g / \(devices),
                now() - (\(n) - g) * INTERVAL '10 milliseconds',
                jsonb_build_object('heart_rate', 60 + g % 37, 'spo2', 95 + g % 5), now()
            FROM generate_series(0, \(n - 1)) AS g
            """)
        try db.execute(
            """
            INSERT INTO metric_values (device_id, metric, seq, value)
            SELECT device_id, m.key, seq, m.value::TEXT::FLOAT8 FROM readings, jsonb_each(metrics) AS m
            """)
        try db.execute(
            """
            INSERT INTO devices (device_id, max_seq, version, reading_count, last_seen)
            SELECT device_id, max(seq), 1, count(*), max(accepted_at) FROM readings GROUP BY device_id
            """)
        try db.execute(
            """
            INSERT INTO anomalies (device_id, seq, metric, ts, value, score, median, mad, window_size, detected_at)
            SELECT r.device_id, r.seq, CASE WHEN g % 3 = 0 THEN 'spo2' ELSE 'heart_rate' END, r.ts, 150, 9.5, 70, 3, 200,
                now() - (\(anomalies) - g) * INTERVAL '8640 milliseconds'
            FROM generate_series(0, \(anomalies - 1)) AS g
            JOIN readings AS r ON r.device_id = 'bench-' || lpad((g % \(devices))::TEXT, 4, '0') AND r.seq = (g / \(devices)) * 100 + g % 100
            """)
        try db.execute("ANALYZE")
    }
}
