package import Hummingbird

/// Answers every error as the JSON body the APIs document (`{"error": …}` with its
/// status), a request no route matched included, instead of Hummingbird's plain text:
/// 404 for a path no route has, 405 with `Allow` for a method its routes do not serve.
package struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    /// `routes` is filled once the router has every route (`RouteTable.record`).
    package init(routes: RouteTable) {
        self.routes = routes
    }

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            if status == .notFound {
                let allowed = routes.methods(for: request.uri.path)
                if !allowed.isEmpty && !allowed.contains(request.method) {
                    let allow = allowed.map(\.rawValue).joined(separator: ", ")
                    var response = JSONResponse.error(.methodNotAllowed, "\(request.method) is not served on \(request.uri.path); allowed: \(allow)")
                    response.headers[.allow] = allow
                    return response
                }
            }
            let message =
                status == .notFound
                ? "no such route: \(request.method) \(request.uri.path)"
                : (error as? HTTPError)?.body ?? status.reasonPhrase
            return JSONResponse.error(status, message)
        }
    }
}
