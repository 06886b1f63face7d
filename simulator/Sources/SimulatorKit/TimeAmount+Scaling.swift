import NIOCore

extension TimeAmount {
    /// A fraction or multiple of an amount.
    static func * (lhs: TimeAmount, rhs: Double) -> TimeAmount { .nanoseconds(Int64(Double(lhs.nanoseconds) * rhs)) }
}
