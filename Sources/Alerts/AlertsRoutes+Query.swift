import Foundation
import Hummingbird
import PipelineCore
import Storage

extension FeedFilter {
    /// The query parameters of `/v1/anomalies`.
    static let anomalyParameters: Set<String> = ["device_id", "metric", "since", "until", "limit", "cursor"]
    /// The query parameters of `/v1/incidents`.
    static let incidentParameters: Set<String> = anomalyParameters.union(["state"])
}

extension AlertsRoutes {
    /// A request's query parameters, checked: an unknown or repeated parameter is a 400.
    struct Query {
        let parameters: Parameters

        init(_ request: Request, allowed: Set<String>) throws {
            parameters = request.uri.queryParameters
            var seen = Set<String>()
            for (key, _) in parameters {
                let name = String(key)
                guard allowed.contains(name) else {
                    throw ClientError.badRequest(
                        "unknown parameter '\(name)'; allowed: \(allowed.sorted().joined(separator: ", "))")
                }
                guard seen.insert(name).inserted else { throw ClientError.badRequest("parameter '\(name)' given twice") }
            }
        }

        func limit(default d: Int) throws -> Int {
            guard let raw = parameters.get("limit") else { return d }
            guard let n = Int(raw), (1...1000).contains(n) else {
                throw ClientError.badRequest("limit must be an integer from 1 to 1000")
            }
            return n
        }

        /// A seq bound: an integer from 0 to 2^53.
        func seq(_ name: String) throws -> Int64? {
            guard let raw = parameters.get(name) else { return nil }
            guard let n = Int64(raw), (0...(Int64(1) << 53)).contains(n) else {
                throw ClientError.badRequest("\(name) must be an integer from 0 to 2^53")
            }
            return n
        }

        func flag(_ name: String) throws -> Bool {
            switch parameters.get(name) {
            case nil, "false", "0": return false
            case "true", "1", "": return true
            default: throw ClientError.badRequest("\(name) must be true or false")
            }
        }

        /// The filter of a feed's page (`state` is read only where the route allows it).
        func feedFilter() throws -> FeedFilter {
            var f = FeedFilter(limit: try limit(default: 100))
            if let d = parameters.get("device_id") {
                guard Validation.isValidDeviceID(d) else {
                    throw ClientError.badRequest("device_id must be 1-64 characters of A-Z a-z 0-9 . _ : -")
                }
                f.deviceID = d
            }
            if let m = parameters.get("metric") {
                guard Validation.isValidMetricName(m) else {
                    throw ClientError.badRequest("metric must be 1-64 characters of a-z 0-9 _")
                }
                f.metric = m
            }
            if let s = parameters.get("state") {
                guard let state = IncidentState(rawValue: s) else { throw ClientError.badRequest("state must be open or closed") }
                f.state = state
            }
            for (name, keyPath) in [("since", \FeedFilter.since), ("until", \FeedFilter.until)] {
                if let raw = parameters.get(name) {
                    guard let t = Timestamp.parse(raw) else {
                        throw ClientError.badRequest(
                            "\(name) must be an RFC 3339 timestamp with a UTC offset of at most ±15:59, like 2026-11-25T08:00:00Z")
                    }
                    f[keyPath: keyPath] = t.normalized
                }
            }
            if let since = f.since, let until = f.until, let s = Timestamp.parse(since), let u = Timestamp.parse(until),
                s.epochMicros >= u.epochMicros
            {
                throw ClientError.badRequest("since must be before until")
            }
            if let c = parameters.get("cursor") {
                guard let cursor = FeedCursor(token: c) else {
                    throw ClientError.badRequest("invalid cursor: pass next_cursor of the previous page unchanged")
                }
                f.cursor = cursor
            }
            return f
        }

        /// `/v1/devices` pages by device id; the cursor is the last id of the previous page, encoded.
        func deviceCursor() throws -> String? {
            guard let raw = parameters.get("cursor") else { return nil }
            guard let id = DeviceCursor.decode(raw) else {
                throw ClientError.badRequest("invalid cursor: pass next_cursor of the previous page unchanged")
            }
            return id
        }
    }
}
