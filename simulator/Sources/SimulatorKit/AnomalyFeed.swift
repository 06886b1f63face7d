import Foundation
import NIOSSL

/// Reads anomalies from the alerts API, walking `/v1/anomalies` page by page
/// with its cursor, as any client of the API would.
public struct AnomalyFeed: Sendable {
    public var base: Target
    public var tls: NIOSSLContext?
    /// The reader key sent as `Authorization: Bearer`; nil when the service has keys off.
    public var readerKey: String?

    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    /// `url` is `http://host:port` or `https://host:port`.
    public init(url: String, tls: NIOSSLContext? = nil, readerKey: String? = nil) throws {
        guard let target = Target(url), target.isHTTP else {
            throw Failed(description: "bad alerts URL '\(url)'; use http://host:port or https://host:port")
        }
        base = target
        self.tls = tls
        self.readerKey = readerKey
    }

    /// Every anomaly detected at or after `since` whose device is in `devices` (all when nil).
    public func anomalies(detectedSince since: Date, devices: Set<String>? = nil) async throws -> [DetectionScore.Flagged] {
        let connection = try await HTTPConnection.connect(host: base.host, port: base.port, tls: base.usesTLS ? tls : nil)
        do {
            let out = try await walk(connection, since: since, devices: devices)
            await connection.close()
            return out
        } catch {
            await connection.close()
            throw error
        }
    }

    private func walk(_ connection: HTTPConnection, since: Date, devices: Set<String>?) async throws -> [DetectionScore.Flagged] {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        func date(_ s: Any?) -> Date? {
            guard let s = s as? String else { return nil }
            return iso.date(from: s) ?? plain.date(from: s)
        }
        var out: [DetectionScore.Flagged] = []
        var cursor: String?
        let sinceParam = iso.string(from: since).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        repeat {
            var path = "/v1/anomalies?limit=1000&since=\(sinceParam)"
            if let cursor { path += "&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor)" }
            let headers = readerKey.map { [("Authorization", "Bearer \($0)")] } ?? []
            let reply = try await connection.request(.GET, path, headers: headers, timeout: .seconds(30))
            guard reply.status == 200,
                let page = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any],
                let items = page["items"] as? [[String: Any]]
            else {
                throw Failed(description: "alerts API answered \(reply.status): \(reply.body.prefix(200))")
            }
            for item in items {
                guard let device = item["device_id"] as? String, let seq = (item["seq"] as? NSNumber)?.int64Value,
                    let metric = item["metric"] as? String, let ts = date(item["ts"]), let detected = date(item["detected_at"])
                else { throw Failed(description: "an anomaly lacks device_id, seq, metric, ts or detected_at") }
                if let devices, !devices.contains(device) { continue }
                out.append(DetectionScore.Flagged(deviceID: device, seq: seq, metric: metric, ts: ts, detectedAt: detected))
            }
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        return out
    }
}
