import AMQPClient
import Foundation
import Hummingbird
import PipelineCore
import ServiceSupport

/// `POST /v1/readings`: validates the whole body, publishes every reading and
/// answers 202 only after the broker confirmed all of them.
public enum HTTPIngest {
    public static func addRoutes<Context: RequestContext>(to router: Router<Context>, acceptor: ReadingAcceptor) {
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
            let readings: [Reading]
            do throws(ReadingError) {
                readings = try ReadingCodec.decodeBody(Data(body.readableBytesView))
            } catch {
                acceptor.recordRejected(.http, reason: "invalid")
                let index = error.index.map { ",\"index\":\($0)" } ?? ""
                return JSONResponse.make(.badRequest, "{\"error\":\(jsonString(error.message))\(index)}")
            }
            do throws(AMQPError) {
                try await acceptor.accept(readings, via: .http)
            } catch {
                return JSONResponse.error(.serviceUnavailable, error.description, retryAfter: 1)
            }
            return JSONResponse.make(.accepted, "{\"accepted\":\(readings.count)}")
        }
    }
}
