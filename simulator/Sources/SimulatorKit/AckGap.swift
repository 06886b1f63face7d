/// A silence between two acknowledgements of one device, longer than the run's
/// threshold (twice the interval, at least 1 s): what a fault looked like from
/// the device's side. Times are ms since the run started.
package struct AckGap: Sendable, Hashable {
    package var device: Int
    package var fromMs: Int64
    package var toMs: Int64

    package var ms: Int64 { toMs - fromMs }
}
