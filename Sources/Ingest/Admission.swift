package import PipelineCore

/// What stands between a device and the broker besides validation: its token
/// and its rate limit. Shared by the HTTP and TCP listeners.
package struct Admission: Sendable {
    /// Nil when device authentication is off.
    package let authenticator: DeviceAuthenticator?
    /// Nil when rate limiting is off.
    package let limiter: RateLimiter?

    package init(authenticator: DeviceAuthenticator?, limiter: RateLimiter?) {
        self.authenticator = authenticator
        self.limiter = limiter
    }

    package enum Decision: Sendable, Equatable {
        case admitted
        /// A reading for a device the token does not cover.
        case wrongDevice(index: Int, message: String)
        /// Over the limit; retry after this many seconds.
        case limited(retryAfter: Int, message: String)
    }

    /// Checks that every reading belongs to `device` (when authenticated) and takes the readings from each device's budget.
    package func admit(_ readings: [Reading], device: String?) -> Decision {
        if let device {
            if let i = readings.firstIndex(where: { $0.deviceID != device }) {
                return .wrongDevice(index: i, message: "the token is not valid for device_id '\(readings[i].deviceID)'")
            }
        }
        guard let limiter else { return .admitted }
        var counts: [String: Int] = [:]
        for r in readings { counts[r.deviceID, default: 0] += 1 }
        for (deviceID, n) in counts {
            if let wait = limiter.take(deviceID, count: n) {
                if wait.isInfinite {
                    return .limited(
                        retryAfter: 60,
                        message: "\(n) readings for '\(deviceID)' exceed the burst limit of \(Int(limiter.burst)); send fewer at once")
                }
                return .limited(
                    retryAfter: max(1, Int(wait.rounded(.up))),
                    message: "rate limit of \(limiter.rate.formatted) readings/s for '\(deviceID)' exceeded")
            }
        }
        return .admitted
    }
}

extension Double {
    fileprivate var formatted: String { self == rounded() ? String(Int(self)) : String(self) }
}
