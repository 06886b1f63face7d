import Foundation
import Hummingbird
import Logging
import PipelineCore
import SQL
import ServiceSupport
import Storage

/// The read-only API (`/v1/...`), its OpenAPI document and the page.
struct AlertsRoutes: Sendable {
    let pool: SQLPool
    let rule: AnomalyRule
    let logger: Logger

    /// A client mistake, answered with its status (400 or 404) and message.
    struct ClientError: Error {
        var status: HTTPResponse.Status
        var message: String

        static func badRequest(_ message: String) -> Self { .init(status: .badRequest, message: message) }
        static func notFound(_ message: String) -> Self { .init(status: .notFound, message: message) }
    }

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in
            Self.document(AlertsPage.html, contentType: "text/html; charset=utf-8")
        }
        router.get("/openapi.yaml") { _, _ in
            Self.document(OpenAPIDocument.yaml, contentType: "application/yaml")
        }
        router.get("/v1/anomalies") { request, _ in
            await respond {
                let q = try Query(request, allowed: AnomalyFilter.parameters)
                let f = try q.anomalyFilter()
                let (items, next) = try await pool.withConnection { try AlertQueries.anomalies(f, on: $0) }
                return AlertsJSON.anomalyPage(items, next: next)
            }
        }
        router.get("/v1/devices") { request, _ in
            await respond {
                let q = try Query(request, allowed: ["limit", "cursor"])
                let limit = try q.limit(default: 100)
                let after = try q.deviceCursor()
                let page = try await pool.withConnection { try AlertQueries.devices(after: after, limit: limit + 1, on: $0) }
                let items = Array(page.prefix(limit))
                return AlertsJSON.devicePage(items, next: page.count > limit ? items.last?.deviceID : nil)
            }
        }
        router.get("/v1/devices/:id/anomalies") { request, context in
            await respond {
                let id = try Self.deviceID(context)
                let q = try Query(request, allowed: AnomalyFilter.parameters.subtracting(["device_id"]))
                var filter = try q.anomalyFilter()
                filter.deviceID = id
                let f = filter
                let (items, next) = try await pool.withConnection { db in
                    let page = try AlertQueries.anomalies(f, on: db)
                    if page.0.isEmpty, f.cursor == nil, try AlertQueries.device(id, on: db) == nil {
                        throw ClientError.notFound("no readings stored for device '\(id)'")
                    }
                    return page
                }
                return AlertsJSON.anomalyPage(items, next: next)
            }
        }
        router.get("/v1/devices/:id/readings") { request, context in
            await respond {
                let id = try Self.deviceID(context)
                let q = try Query(request, allowed: ["limit", "band"])
                let limit = try q.limit(default: 200)
                let withBands = try q.flag("band")
                let rule = self.rule
                let items = try await pool.withConnection { db in
                    let items = try AlertQueries.readings(deviceID: id, limit: limit, on: db)
                    if items.isEmpty { throw ClientError.notFound("no readings stored for device '\(id)'") }
                    return withBands ? try Self.addingBands(to: items, rule: rule, on: db) : items
                }
                return AlertsJSON.readings(items, withBands: withBands)
            }
        }
    }

    /// Runs a query and maps failures: client mistakes → 400/404, database trouble → 503.
    private func respond(_ body: () async throws -> String) async -> Response {
        do {
            return JSONResponse.make(.ok, try await body())
        } catch let error as ClientError {
            return JSONResponse.error(error.status, error.message)
        } catch let error as SQLError where error.sqlState == "57014" {
            logger.warning("query cancelled by the statement timeout", metadata: ["error": "\(error)"])
            return JSONResponse.error(.serviceUnavailable, "the database did not answer in time; retry", retryAfter: 1)
        } catch let error as SQLError where error.sqlState == "42P01" {
            logger.warning("schema missing", metadata: ["error": "\(error)"])
            return JSONResponse.error(
                .serviceUnavailable, "the database has no schema yet: run `pipeline migrate` (the analyzer does on start)",
                retryAfter: 1)
        } catch {
            logger.warning("query failed", metadata: ["error": "\(error)"])
            return JSONResponse.error(.serviceUnavailable, "database unavailable: \(error)", retryAfter: 1)
        }
    }

    static func document(_ text: String, contentType: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func deviceID<Context: RequestContext>(_ context: Context) throws -> String {
        guard let id = context.parameters.get("id"), Validation.isValidDeviceID(id) else {
            throw ClientError.badRequest("device id must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        }
        return id
    }

    /// `items` (newest first) with, per metric, the band each value was judged
    /// against: the rule applied to the values before it and those stored before
    /// the oldest item.
    static func addingBands(to items: [StoredReading], rule: AnomalyRule, on db: SQLConnection) throws -> [StoredReading] {
        var result = items
        let decoded: [[String: Double]] = items.map { Self.metrics(ofJSON: $0.metricsJSON) }
        let names = Set(decoded.flatMap(\.keys))
        let oldest = items.map(\.seq).min() ?? 0
        for metric in names {
            let indices = decoded.indices.reversed().filter { decoded[$0][metric] != nil }
            let history = try AlertQueries.history(
                deviceID: items[0].deviceID, metric: metric, below: oldest, limit: rule.windowSize, on: db)
            let bands = rule.rollingBands(values: indices.map { decoded[$0][metric]! }, history: history.map(\.value))
            for (i, band) in zip(indices, bands) {
                if let band { result[i].bands[metric] = band }
            }
        }
        return result
    }

    /// The metrics object of a stored reading (JSONB text) as numbers.
    static func metrics(ofJSON json: String) -> [String: Double] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [:] }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}
