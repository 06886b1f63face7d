package import Hummingbird

/// Answers every error as the JSON body the APIs document (`{"error": …}` with its
/// status), a request no route matched included, instead of Hummingbird's plain text.
package struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    package init() {}

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let message =
                status == .notFound
                ? "no such route: \(request.method) \(request.uri.path)"
                : (error as? HTTPError)?.body ?? status.reasonPhrase
            return JSONResponse.error(status, message)
        }
    }
}
