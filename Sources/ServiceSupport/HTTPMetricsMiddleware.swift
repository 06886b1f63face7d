package import Hummingbird
import Metrics
import NIOConcurrencyHelpers

/// Counts and times every request by route pattern (never the raw path, so
/// device ids do not explode the series), method and status:
/// `http_requests_total` and `http_request_duration_seconds`. Added before
/// `JSONErrorMiddleware`, it sees the response that middleware made of an error;
/// an error that still reaches it counts with the status it carries.
package struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let cache = Cache()

    package init() {}

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: response.status.code, since: start)
            return response
        } catch {
            record(request, context, status: ((error as? any HTTPResponseError)?.status ?? .internalServerError).code, since: start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let series = cache.series(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status)
        series.requests.increment()
        series.duration.recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
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
