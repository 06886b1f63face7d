import NIOConcurrencyHelpers

/// The values a metric label may take when they come from devices (metric
/// names): the first `limit` seen keep their own series, every later one is
/// counted as `other`, so no device can grow the number of series Prometheus
/// stores. The set starts empty at each process start.
package final class BoundedLabelValues: Sendable {
    package static let other = "other"
    package let limit: Int
    private let seen = NIOLockedValueBox<Set<String>>([])

    package init(limit: Int) { self.limit = limit }

    package func value(for name: String) -> String {
        seen.withLockedValue { s in
            if s.contains(name) { return name }
            guard s.count < limit, name != Self.other else { return Self.other }
            s.insert(name)
            return name
        }
    }
}
