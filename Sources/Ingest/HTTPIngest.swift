import AMQPClient
import Foundation
package import Hummingbird
import PipelineCore
import ServiceSupport

/// `POST /v1/readings`: authenticates the device, validates the whole body,
/// applies the rate limit, publishes every reading and answers 202 only after
/// the broker confirmed all of them.
package enum HTTPIngest {
    package static func addRoutes<Context: RequestContext>(
        to router: Router<Context>, acceptor: ReadingAcceptor, admission: Admission, bodies: BodyBudget
    ) {
        router.post("/v1/readings") { request, _ -> Response in
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.hasPrefix("application/json") else {
                acceptor.recordRejected(.http, reason: "unsupported_media_type")
                return JSONResponse.error(.unsupportedMediaType, "Content-Type must be application/json")
            }
            let length = request.headers[.contentLength].flatMap(Int.init)
            if let length, length > ReadingLimits.maxBodyBytes {
                acceptor.recordRejected(.http, reason: "too_large")
                return closing(JSONResponse.error(.contentTooLarge, "body exceeds \(ReadingLimits.maxBodyBytes) bytes"))
            }
            // The token is checked from the headers, before a byte of the body is read: a
            // request that fails is answered at once and its connection closed, so the body
            // of a client without a valid token is never read.
            var device: String?
            if let authenticator = admission.authenticator {
                guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
                    acceptor.recordRejected(.http, reason: "unauthorized")
                    return closing(JSONResponse.error(.unauthorized, "missing Authorization: Bearer <device token>"))
                }
                switch await authenticator.verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) {
                case .authorized(let d): device = d
                case .unauthorized(let why):
                    acceptor.recordRejected(.http, reason: "unauthorized")
                    return closing(JSONResponse.error(.unauthorized, why))
                case .unavailable(let why):
                    acceptor.recordRejected(.http, reason: "auth_unavailable")
                    return closing(JSONResponse.error(.serviceUnavailable, why, retryAfter: 5))
                }
            }

            // Bodies being read share a budget: however many clients upload at once, they hold that much at most.
            let reserved = min(length ?? ReadingLimits.maxBodyBytes, ReadingLimits.maxBodyBytes)
            guard bodies.reserve(reserved) else {
                acceptor.recordRejected(.http, reason: "busy")
                return closing(JSONResponse.error(.serviceUnavailable, "too many uploads in progress; retry", retryAfter: 1))
            }
            defer { bodies.release(reserved) }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: ReadingLimits.maxBodyBytes)
            } catch {
                acceptor.recordRejected(.http, reason: "too_large")
                return closing(JSONResponse.error(.contentTooLarge, "body exceeds \(ReadingLimits.maxBodyBytes) bytes"))
            }

            let readings: [Reading]
            do throws(ReadingError) {
                readings = try ReadingCodec.decodeBody(Data(body.readableBytesView))
            } catch {
                acceptor.recordRejected(.http, reason: "invalid")
                return errorWithIndex(.badRequest, error.message, error.index)
            }
            switch admission.admit(readings, device: device) {
            case .admitted: break
            case .wrongDevice(let index, let message):
                acceptor.recordRejected(.http, reason: "unauthorized")
                return errorWithIndex(.unauthorized, message, readings.count > 1 ? index : nil)
            case .limited(let retryAfter, let message):
                acceptor.recordRejected(.http, reason: "rate_limited")
                return JSONResponse.error(.tooManyRequests, message, retryAfter: retryAfter)
            }
            do throws(AMQPError) {
                try await acceptor.accept(readings, via: .http)
            } catch {
                return JSONResponse.error(.serviceUnavailable, error.publicDescription, retryAfter: error.retryAfter)
            }
            return JSONResponse.make(.accepted, "{\"accepted\":\(readings.count)}")
        }
    }

    /// The response, with the connection closed after it (its body may be unread).
    static func closing(_ response: Response) -> Response {
        var response = response
        response.headers[.connection] = "close"
        return response
    }

    static func errorWithIndex(_ status: HTTPResponse.Status, _ message: String, _ index: Int?) -> Response {
        let i = index.map { ",\"index\":\($0)" } ?? ""
        return JSONResponse.make(status, "{\"error\":\(jsonString(message))\(i)}")
    }
}
