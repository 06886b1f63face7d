import Testing

@testable import PipelineCore

@Suite struct ReadingMessageTests {
    let readings = (1...3).map { Reading(deviceID: "d", seq: Int64($0), ts: "2026-12-02T08:00:00Z", metrics: ["hr": Double(60 + $0)]) }

    func unpacked(_ body: [UInt8], _ format: String?) throws -> [Reading] {
        try ReadingMessage.unpack(body, format: format).map { try $0.reading.get() }
    }

    @Test func packedReadingsComeBackInOrder() throws {
        let body = ReadingMessage.pack(readings.map(ReadingCodec.encode))
        #expect(body.filter { $0 == UInt8(ascii: "\n") }.count == 2, "separated, not terminated")
        #expect(try unpacked(body, ReadingMessage.packed) == readings)
    }

    @Test func aMessageOfOneReadingIsThatReadingsJSON() throws {
        let one = ReadingCodec.encode(readings[0])
        #expect(ReadingMessage.pack([one]) == one)
        #expect(try unpacked(one, ReadingMessage.packed) == [readings[0]])
        // What ingest published before packing: no format header.
        #expect(try unpacked(one, nil) == [readings[0]])
    }

    @Test func aBadLineSpoilsOnlyItself() throws {
        let body = ReadingMessage.pack([ReadingCodec.encode(readings[0]), Array("{not json".utf8), ReadingCodec.encode(readings[2])])
        let entries = try ReadingMessage.unpack(body, format: ReadingMessage.packed)
        #expect(entries.count == 3)
        #expect(try entries[0].reading.get() == readings[0])
        #expect(try entries[2].reading.get() == readings[2])
        #expect(entries[1].bytes == Array("{not json".utf8))
        guard case .failure(let error) = entries[1].reading else {
            Issue.record("the bad line decoded")
            return
        }
        #expect(error.message == "invalid JSON")
    }

    @Test func anUnknownFormatOrAnEmptyMessageIsRefusedWhole() {
        #expect(throws: ReadingError.self) { try ReadingMessage.unpack(Array("x".utf8), format: "readings.v9") }
        #expect(throws: ReadingError.self) { try ReadingMessage.unpack([], format: ReadingMessage.packed) }
        #expect(throws: ReadingError.self) { try ReadingMessage.unpack(Array("\n\n".utf8), format: ReadingMessage.packed) }
    }
}
