import Foundation
import Hummingbird
import Logging
import PipelineCore
import SQL
import ServiceSupport
import Storage

/// `/v1/anomalies`, `/v1/devices/{id}/readings`, `/v1/devices/{id}/anomalies` and the page.
struct AlertsRoutes: Sendable {
    let pool: SQLPool
    let logger: Logger

    struct BadRequest: Error { var message: String }

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: AlertsPage.html)))
        }
        router.get("/v1/anomalies") { request, _ in
            await respond {
                let f = try Self.filter(from: request.uri.queryParameters)
                let (items, next) = try await pool.withConnection { try AlertQueries.anomalies(f, on: $0) }
                return AlertsJSON.anomalyPage(items, next: next)
            }
        }
        router.get("/v1/devices/:id/anomalies") { request, context in
            await respond {
                let id = try Self.deviceID(context)
                var filter = try Self.filter(from: request.uri.queryParameters)
                filter.deviceID = id
                let f = filter
                let (items, next) = try await pool.withConnection { try AlertQueries.anomalies(f, on: $0) }
                return AlertsJSON.anomalyPage(items, next: next)
            }
        }
        router.get("/v1/devices/:id/readings") { request, context in
            await respond {
                let id = try Self.deviceID(context)
                let limit = try Self.limit(request.uri.queryParameters, default: 200)
                let items = try await pool.withConnection { try AlertQueries.readings(deviceID: id, limit: limit, on: $0) }
                return AlertsJSON.readings(items)
            }
        }
    }

    /// Runs a query and maps failures: bad input → 400, database trouble → 503.
    private func respond(_ body: () async throws -> String) async -> Response {
        do {
            return JSONResponse.make(.ok, try await body())
        } catch let error as BadRequest {
            return JSONResponse.error(.badRequest, error.message)
        } catch {
            logger.warning("query failed", metadata: ["error": "\(error)"])
            return JSONResponse.error(.serviceUnavailable, "database unavailable: \(error)", retryAfter: 1)
        }
    }

    static func deviceID<Context: RequestContext>(_ context: Context) throws -> String {
        guard let id = context.parameters.get("id"), Validation.isValidDeviceID(id) else {
            throw BadRequest(message: "device id must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        }
        return id
    }

    static func limit(_ q: Parameters, default d: Int) throws -> Int {
        guard let raw = q.get("limit") else { return d }
        guard let n = Int(raw), (1...1000).contains(n) else { throw BadRequest(message: "limit must be an integer from 1 to 1000") }
        return n
    }

    static func filter(from q: Parameters) throws -> AnomalyFilter {
        let known: Set<String> = ["device_id", "metric", "since", "until", "limit", "cursor"]
        for (key, _) in q where !known.contains(String(key)) {
            throw BadRequest(message: "unknown parameter '\(key)'")
        }
        var f = AnomalyFilter(limit: try limit(q, default: 100))
        if let d = q.get("device_id") {
            guard Validation.isValidDeviceID(d) else { throw BadRequest(message: "invalid device_id") }
            f.deviceID = d
        }
        if let m = q.get("metric") {
            guard Validation.isValidMetricName(m) else { throw BadRequest(message: "invalid metric") }
            f.metric = m
        }
        for (name, keyPath) in [("since", \AnomalyFilter.since), ("until", \AnomalyFilter.until)] {
            if let raw = q.get(name) {
                guard let t = Timestamp.parse(raw) else { throw BadRequest(message: "\(name) must be an RFC 3339 timestamp") }
                f[keyPath: keyPath] = t.normalized
            }
        }
        if let c = q.get("cursor") {
            guard let cursor = AnomalyCursor(token: c) else { throw BadRequest(message: "invalid cursor") }
            f.cursor = cursor
        }
        return f
    }
}
