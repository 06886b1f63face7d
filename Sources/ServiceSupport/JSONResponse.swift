package import Hummingbird
import PipelineCore

/// Builds JSON responses; every error the services return is `{"error":"…"}`.
package enum JSONResponse {
    package static func make(_ status: HTTPResponse.Status, _ json: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    package static func error(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) -> Response {
        var headers: HTTPFields = [:]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return make(status, "{\"error\":\(jsonString(message))}", headers: headers)
    }
}
