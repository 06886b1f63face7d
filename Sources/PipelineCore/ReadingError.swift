/// Why a body or line was refused, with the index of the reading at fault when
/// the body was an array. The message is meant for the device's developer.
package struct ReadingError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package var index: Int?
    /// The reading's `seq` when it could be read before the problem was found.
    package var seq: Int64?
    /// False when the input was not JSON at all.
    package var isJSON: Bool

    package init(_ message: String, index: Int? = nil, seq: Int64? = nil, isJSON: Bool = true) {
        self.message = message
        self.index = index
        self.seq = seq
        self.isJSON = isJSON
    }

    package var description: String {
        if let index { return "reading \(index): \(message)" }
        return message
    }
}
