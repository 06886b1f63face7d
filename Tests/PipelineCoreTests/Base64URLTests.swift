import Testing

@testable import PipelineCore

@Suite struct Base64URLTests {
    @Test func roundTripsBytesAndTextWithoutPadding() {
        for bytes: [UInt8] in [[], [0], [0xFB, 0xFF], [0xFB, 0xFF, 0xBF], Array(0...255)] {
            let token = Base64URL.encode(bytes)
            #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"), "\(token)")
            #expect(Base64URL.bytes(token) == bytes)
        }
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode(Base64URL.encode("2026-11-25T08:00:00Z\ndev-1\n17\nheart_rate")) == "2026-11-25T08:00:00Z\ndev-1\n17\nheart_rate")
    }

    @Test func refusesAnythingButTheAlphabet() {
        for token in ["-_8=", "+/8", "a b", "é", "AB\n", "A"] { #expect(Base64URL.bytes(token) == nil, "\(token)") }
        #expect(Base64URL.decode(Base64URL.encode([0xFF, 0xFE])) == nil, "not UTF-8")
    }
}
