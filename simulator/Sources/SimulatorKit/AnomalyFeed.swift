package import Foundation
package import NIOSSL

/// Reads anomalies and incidents from the alerts API, walking `/v1/anomalies` and
/// `/v1/incidents` page by page with their cursors, as any client of the API would.
package struct AnomalyFeed: Sendable {
    package var base: Target
    package var tls: NIOSSLContext?
    /// The reader key sent as `Authorization: Bearer`; nil when the service has keys off.
    package var readerKey: String?

    package struct Failed: Error, CustomStringConvertible {
        package var description: String
    }

    /// `url` is `http://host:port` or `https://host:port`.
    package init(url: String, tls: NIOSSLContext? = nil, readerKey: String? = nil) throws {
        guard let target = Target(url), target.isHTTP else {
            throw Failed(description: "bad alerts URL '\(url)'; use http://host:port or https://host:port")
        }
        base = target
        self.tls = tls
        self.readerKey = readerKey
    }

    /// Every anomaly detected at or after `since` whose device is in `devices` (all when nil).
    package func anomalies(detectedSince since: Date, devices: Set<String>? = nil) async throws -> [DetectionScore.Flagged] {
        try await items("/v1/anomalies", since: since).compactMap { item in
            guard let device = item["device_id"] as? String, let seq = (item["seq"] as? NSNumber)?.int64Value,
                let metric = item["metric"] as? String, let ts = Self.date(item["ts"]), let detected = Self.date(item["detected_at"])
            else { throw Failed(description: "an anomaly lacks device_id, seq, metric, ts or detected_at") }
            if let devices, !devices.contains(device) { return nil }
            return DetectionScore.Flagged(deviceID: device, seq: seq, metric: metric, ts: ts, detectedAt: detected)
        }
    }

    /// Every incident opened at or after `since` whose device is in `devices` (all when nil).
    package func incidents(openedSince since: Date, devices: Set<String>? = nil) async throws -> [IncidentScore.Opened] {
        try await items("/v1/incidents", since: since).compactMap { item in
            guard let device = item["device_id"] as? String, let metric = item["metric"] as? String,
                let opened = (item["opened_seq"] as? NSNumber)?.int64Value, let last = (item["last_seq"] as? NSNumber)?.int64Value
            else { throw Failed(description: "an incident lacks device_id, metric, opened_seq or last_seq") }
            if let devices, !devices.contains(device) { return nil }
            return IncidentScore.Opened(deviceID: device, metric: metric, openedSeq: opened, lastSeq: last)
        }
    }

    static func date(_ s: Any?) -> Date? {
        guard let s = s as? String else { return nil }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return iso.date(from: s) ?? ISO8601DateFormatter().date(from: s)
    }

    /// The items of every page of a newest-first feed since `since`, following `next_cursor`.
    private func items(_ route: String, since: Date) async throws -> [[String: Any]] {
        let connection = try await HTTPConnection.connect(host: base.host, port: base.port, tls: base.usesTLS ? tls : nil)
        do {
            let out = try await walk(connection, route, since: since)
            await connection.close()
            return out
        } catch {
            await connection.close()
            throw error
        }
    }

    private func walk(_ connection: HTTPConnection, _ route: String, since: Date) async throws -> [[String: Any]] {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var out: [[String: Any]] = []
        var cursor: String?
        let sinceParam = iso.string(from: since).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        repeat {
            var path = "\(route)?limit=1000&since=\(sinceParam)"
            if let cursor { path += "&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor)" }
            let headers = readerKey.map { [("Authorization", "Bearer \($0)")] } ?? []
            let reply = try await connection.request(.GET, path, headers: headers, timeout: .seconds(30))
            guard reply.status == 200,
                let page = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any],
                let items = page["items"] as? [[String: Any]]
            else {
                throw Failed(description: "alerts API answered \(reply.status): \(reply.body.prefix(200))")
            }
            out += items
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        return out
    }
}
