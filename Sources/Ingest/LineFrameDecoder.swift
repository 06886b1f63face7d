import NIOCore

/// Splits the stream into newline-terminated lines of at most `maxLength`
/// bytes (the `\n` and an optional `\r` are not part of the line); the first
/// line may be held to `firstLineMax` (an auth line is short: a client that has
/// not authenticated may not make ingest buffer 64 KiB).
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct LineTooLong: Error {
        var limit: Int
        var first: Bool
    }

    private let lineMax: Int
    private var firstLineMax: Int?
    private var scanned = 0
    private var maxLength: Int { firstLineMax ?? lineMax }

    init(maxLength: Int, firstLineMax: Int? = nil) {
        lineMax = maxLength
        self.firstLineMax = firstLineMax
    }

    private var tooLong: LineTooLong { LineTooLong(limit: maxLength, first: firstLineMax != nil) }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let searchStart = view.index(view.startIndex, offsetBy: scanned)
        guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count > maxLength + 1 { throw tooLong }
            return .needMoreData
        }
        var length = newline - view.startIndex
        scanned = 0
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if length > 0, line.getInteger(at: line.readerIndex + length - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            length -= 1
            line = line.getSlice(at: line.readerIndex, length: length)!
        }
        if length > maxLength { throw tooLong }
        // Blank lines do not count as the first line.
        if firstLineMax != nil, !line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { firstLineMax = nil }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // A last line without its newline is dropped: the peer closed and cannot read a reply.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.clear()
        return .needMoreData
    }
}
