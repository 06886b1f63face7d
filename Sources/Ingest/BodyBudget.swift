import NIOConcurrencyHelpers

/// The bytes of HTTP request bodies ingest holds at once: a request reserves
/// its `Content-Length` (or the 1 MiB maximum) before its body is read, and is
/// answered 503 when the budget is spent, so concurrent uploads cannot grow
/// memory without bound.
package final class BodyBudget: Sendable {
    package let total: Int
    private let available: NIOLockedValueBox<Int>

    package init(total: Int) {
        self.total = total
        available = NIOLockedValueBox(total)
    }

    package func reserve(_ bytes: Int) -> Bool {
        available.withLockedValue { a in
            guard a >= bytes else { return false }
            a -= bytes
            return true
        }
    }

    package func release(_ bytes: Int) { available.withLockedValue { $0 += bytes } }
}
