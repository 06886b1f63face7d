import Testing

@testable import PipelineCore

@Suite struct TimestampTests {
    @Test func parsesAndNormalises() throws {
        let t = try #require(Timestamp.parse("2026-11-25t08:00:00.250z"))
        #expect(t.normalized == "2026-11-25T08:00:00.250Z")
        #expect(t.epochMicros == 1_795_593_600_250_000)
        let offset = try #require(Timestamp.parse("2026-11-25T09:30:00+01:30"))
        #expect(offset.epochMicros == 1_795_593_600_000_000)
        #expect(Timestamp.parse("2024-02-29T00:00:00Z") != nil)
        #expect(Timestamp.parse("2026-11-25T08:00:00+15:59") != nil && Timestamp.parse("2026-11-25T08:00:00-15:59") != nil)
    }

    @Test(arguments: ["", "2026-11-25", "2026-11-25 08:00:00Z", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                      "2026-11-25T24:00:00Z", "2026-11-25T08:00:00", "2026-11-25T08:00:00.Z", "2026-11-25T08:00:00+1:00",
                      "2026-11-25T08:00:00.1234567890Z",
                      // RFC 3339 allows offsets to ±23:59; PostgreSQL and CockroachDB refuse beyond ±15:59.
                      "2951-03-10T05:50:41+18:11", "2026-11-25T08:00:00+16:00", "2026-11-25T08:00:00-16:00"])
    func rejects(_ s: String) {
        #expect(Timestamp.parse(s) == nil)
    }

    @Test func formatsBack() throws {
        for s in ["2026-11-25T08:00:00.250Z", "1999-12-31T23:59:59.000001Z", "1970-01-01T00:00:00.000Z"] {
            let t = try #require(Timestamp.parse(s))
            #expect(Timestamp.format(epochMicros: t.epochMicros) == s)
        }
    }
}
