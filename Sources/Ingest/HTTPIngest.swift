import AMQPClient
import Foundation
import Hummingbird
import PipelineCore
import ServiceSupport

/// `POST /v1/readings`: authenticates the device, validates the whole body,
/// applies the rate limit, publishes every reading and answers 202 only after
/// the broker confirmed all of them.
public enum HTTPIngest {
    public static func addRoutes<Context: RequestContext>(
        to router: Router<Context>, acceptor: ReadingAcceptor, admission: Admission
    ) {
        router.post("/v1/readings") { request, _ -> Response in
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.hasPrefix("application/json") else {
                acceptor.recordRejected(.http, reason: "unsupported_media_type")
                return JSONResponse.error(.unsupportedMediaType, "Content-Type must be application/json")
            }
            if let length = request.headers[.contentLength].flatMap(Int.init), length > ReadingLimits.maxBodyBytes {
                acceptor.recordRejected(.http, reason: "too_large")
                return JSONResponse.error(.contentTooLarge, "body exceeds \(ReadingLimits.maxBodyBytes) bytes")
            }

            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: ReadingLimits.maxBodyBytes)
            } catch {
                acceptor.recordRejected(.http, reason: "too_large")
                return JSONResponse.error(.contentTooLarge, "body exceeds \(ReadingLimits.maxBodyBytes) bytes")
            }
            // The body is read first even for a request that fails authentication, so the
            // connection stays usable for the device's next request.
            var device: String?
            if let authenticator = admission.authenticator {
                guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
                    acceptor.recordRejected(.http, reason: "unauthorized")
                    return JSONResponse.error(.unauthorized, "missing Authorization: Bearer <device token>")
                }
                switch await authenticator.verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) {
                case .authorized(let d): device = d
                case .unauthorized(let why):
                    acceptor.recordRejected(.http, reason: "unauthorized")
                    return JSONResponse.error(.unauthorized, why)
                case .unavailable(let why):
                    acceptor.recordRejected(.http, reason: "auth_unavailable")
                    return JSONResponse.error(.serviceUnavailable, why, retryAfter: 5)
                }
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

    static func errorWithIndex(_ status: HTTPResponse.Status, _ message: String, _ index: Int?) -> Response {
        let i = index.map { ",\"index\":\($0)" } ?? ""
        return JSONResponse.make(status, "{\"error\":\(jsonString(message))\(i)}")
    }
}
