/// A silence between two acknowledgements of one device, longer than the run's
/// threshold (twice the interval, at least 1 s): what a fault looked like from
/// the device's side. Times are ms since the run started.
public struct AckGap: Sendable, Hashable {
    public var device: Int
    public var fromMs: Int64
    public var toMs: Int64

    public var ms: Int64 { toMs - fromMs }
}
