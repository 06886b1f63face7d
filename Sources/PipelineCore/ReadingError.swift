/// Why a body or line was refused, with the index of the reading at fault when
/// the body was an array. The message is meant for the device's developer.
public struct ReadingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var index: Int?

    public init(_ message: String, index: Int? = nil) {
        self.message = message
        self.index = index
    }

    public var description: String {
        if let index { return "reading \(index): \(message)" }
        return message
    }
}
