import Foundation
import Hummingbird
import Logging
import PipelineCore
import SQL
import ServiceSupport
import Storage

/// The read-only API (`/v1/...`, each route behind a reader key), its OpenAPI
/// document and the page (public: they hold no data).
struct AlertsRoutes: Sendable {
    let pool: SQLPool
    let rule: AnomalyRule
    /// Nil when reader keys are off (`ALERTS_AUTH=off`): every request sees every device.
    let keys: ReaderKeyCache?
    let logger: Logger

    /// A client mistake, answered with its status (400 or 404) and message.
    struct ClientError: Error {
        var status: HTTPResponse.Status
        var message: String

        static func badRequest(_ message: String) -> Self { .init(status: .badRequest, message: message) }
        static func notFound(_ message: String) -> Self { .init(status: .notFound, message: message) }
        /// What a device outside the key's scope gets: the same as a device never seen.
        static func noDevice(_ id: String) -> Self { .notFound("no readings stored for device '\(id)'") }
    }

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in
            Self.document(AlertsPage.html, contentType: "text/html; charset=utf-8")
        }
        router.get("/page.css") { _, _ in
            Self.document(AlertsPage.css, contentType: "text/css; charset=utf-8")
        }
        router.get("/page.js") { _, _ in
            Self.document(AlertsPage.script, contentType: "text/javascript; charset=utf-8")
        }
        router.get("/openapi.yaml") { _, _ in
            Self.document(OpenAPIDocument.yaml, contentType: "application/yaml")
        }
        router.get("/v1/anomalies") { request, _ in
            await feed(request, allowed: FeedFilter.anomalyParameters) { f, db in
                let (items, next) = try AlertQueries.anomalies(f, on: db)
                return AlertsJSON.anomalyPage(items, next: next)
            }
        }
        router.get("/v1/incidents") { request, _ in
            await feed(request, allowed: FeedFilter.incidentParameters) { f, db in
                let (items, next) = try AlertQueries.incidents(f, on: db)
                return AlertsJSON.incidentPage(items, next: next)
            }
        }
        router.get("/v1/devices") { request, _ in
            await respond(request) { scope in
                let q = try Query(request, allowed: ["limit", "cursor"])
                let limit = try q.limit(default: 100)
                let after = try q.deviceCursor()
                let page = try await pool.withConnection {
                    try AlertQueries.devices(after: after, limit: limit + 1, scope: scope, on: $0)
                }
                let items = Array(page.prefix(limit))
                return AlertsJSON.devicePage(items, next: page.count > limit ? items.last?.deviceID : nil)
            }
        }
        router.get("/v1/devices/:id/anomalies") { request, context in
            await respond(request) { scope in
                let id = try Self.deviceID(context, in: scope)
                let q = try Query(request, allowed: FeedFilter.anomalyParameters.subtracting(["device_id"]))
                var filter = try q.feedFilter()
                filter.deviceID = id
                let f = filter
                let (items, next) = try await pool.withConnection { db in
                    let page = try AlertQueries.anomalies(f, on: db)
                    if page.0.isEmpty, f.cursor == nil, try AlertQueries.device(id, on: db) == nil {
                        throw ClientError.noDevice(id)
                    }
                    return page
                }
                return AlertsJSON.anomalyPage(items, next: next)
            }
        }
        router.get("/v1/devices/:id/readings") { request, context in
            await respond(request) { scope in
                let id = try Self.deviceID(context, in: scope)
                let q = try Query(request, allowed: ["limit", "band", "before"])
                let limit = try q.limit(default: 200)
                let withBands = try q.flag("band")
                let before = try q.seq("before")
                let rule = self.rule
                let items = try await pool.withConnection { db in
                    let items = try AlertQueries.readings(deviceID: id, before: before, limit: limit, on: db)
                    if items.isEmpty, try before == nil || AlertQueries.device(id, on: db) == nil { throw ClientError.noDevice(id) }
                    return withBands ? try Self.addingBands(to: items, rule: rule, on: db) : items
                }
                return AlertsJSON.readings(items, withBands: withBands)
            }
        }
    }

    /// One page of a newest-first feed: its filter read from the query, within the key's scope.
    private func feed(
        _ request: Request, allowed: Set<String>, _ page: @escaping @Sendable (FeedFilter, SQLConnection) throws -> String
    ) async -> Response {
        await respond(request) { scope in
            var filter = try Query(request, allowed: allowed).feedFilter()
            filter.scope = scope
            let f = filter
            return try await pool.withConnection { try page(f, $0) }
        }
    }

    /// Checks the reader key, runs a query within its scope and maps failures:
    /// no or a wrong key → 401, client mistakes → 400/404, database trouble → 503.
    private func respond(_ request: Request, _ body: (ReaderScope) async throws -> String) async -> Response {
        var scope = ReaderScope.all
        if let keys {
            switch await keys.verify(authorization: request.headers[.authorization]) {
            case .granted(let grant): scope = grant.scope
            case .refused(let message): return Self.unauthorized(message)
            case .unavailable:
                return JSONResponse.error(.serviceUnavailable, "cannot check the reader key now (database unavailable); retry", retryAfter: 1)
            }
        }
        do {
            return JSONResponse.make(.ok, try await body(scope))
        } catch let error as ClientError {
            return JSONResponse.error(error.status, error.message)
        } catch let error as SQLError where error.sqlState == "57014" {
            logger.warning("query cancelled by the statement timeout", metadata: ["error": "\(error)"])
            return JSONResponse.error(.serviceUnavailable, "the database did not answer in time; retry", retryAfter: 1)
        } catch let error as SQLError where error.sqlState == "42P01" {
            logger.warning("schema missing", metadata: ["error": "\(error)"])
            return JSONResponse.error(
                .serviceUnavailable, "the database has no schema yet: run `pipeline migrate`",
                retryAfter: 1)
        } catch {
            logger.warning("query failed", metadata: ["error": "\(error)"])
            // The detail (hosts, ports, the database's own words) goes to the log, not to the client.
            return JSONResponse.error(.serviceUnavailable, "database unavailable; retry", retryAfter: 1)
        }
    }

    static func document(_ text: String, contentType: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// 401 with the challenge RFC 6750 asks for.
    static func unauthorized(_ message: String) -> Response {
        var response = JSONResponse.error(.unauthorized, message)
        response.headers[.wwwAuthenticate] =
            message == "a reader key is required" ? #"Bearer realm="alerts""# : #"Bearer realm="alerts", error="invalid_token""#
        return response
    }

    /// The path's device id; a device outside `scope` is a 404, as if it did not exist.
    static func deviceID<Context: RequestContext>(_ context: Context, in scope: ReaderScope) throws -> String {
        guard let id = context.parameters.get("id"), Validation.isValidDeviceID(id) else {
            throw ClientError.badRequest("device id must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        }
        guard scope.contains(id) else { throw ClientError.noDevice(id) }
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
            let history = try ReadingStore.window(
                deviceID: items[0].deviceID, metric: metric, belowSeq: oldest, limit: rule.windowSize, on: db)
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
