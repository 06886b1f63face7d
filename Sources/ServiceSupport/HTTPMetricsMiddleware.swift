import Hummingbird
import Metrics
import NIOConcurrencyHelpers

/// Counts and times every request by route pattern (never the raw path, so
/// device ids do not explode the series), method and status:
/// `http_requests_total` and `http_request_duration_seconds`. Also answers a
/// request no route matched with the JSON error body every other error has.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let cache = Cache()

    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let message =
                status == .notFound
                ? "no such route: \(request.method) \(request.uri.path)"
                : (error as? HTTPError)?.body ?? status.reasonPhrase
            response = JSONResponse.error(status, message)
        }
        let route = context.endpointPath ?? "unmatched"
        let series = cache.series(route: route, method: request.method.rawValue, status: response.status.code)
        series.requests.increment()
        series.duration.recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
        return response
    }

    /// Metric handles per (route, method, status), made once each.
    final class Cache: Sendable {
        struct Key: Hashable {
            var route: String
            var method: String
            var status: Int
        }
        struct Series: Sendable {
            var requests: Counter
            var duration: Metrics.Timer
        }
        private let series = NIOLockedValueBox<[Key: Series]>([:])

        func series(route: String, method: String, status: Int) -> Series {
            let key = Key(route: route, method: method, status: status)
            return series.withLockedValue { all in
                if let s = all[key] { return s }
                let dimensions = [("route", route), ("method", method), ("status", String(status))]
                let s = Series(
                    requests: Counter(label: "http_requests_total", dimensions: dimensions),
                    duration: Metrics.Timer(label: "http_request_duration_seconds", dimensions: dimensions))
                all[key] = s
                return s
            }
        }
    }
}
