import Testing

@testable import PipelineCore

@Suite struct SeriesCSVTests {
    @Test func readsRowsWithOrWithoutAHeaderAndEitherLineEnd() throws {
        let unix = try SeriesCSV.parse("timestamp,value\n2014-01-01 00:00:00,1.5\n2014-01-01 00:05:00,2\n")
        let windows = try SeriesCSV.parse("2014-01-01 00:00:00,1.5\r\n2014-01-01 00:05:00,2\r\n")
        #expect(unix == windows)
        #expect(unix.map(\.value) == [1.5, 2])
        #expect(unix.map(\.valueText) == ["1.5", "2"])
        #expect(unix.first?.timestamp == "2014-01-01 00:00:00")
    }

    @Test func namesTheLineOfABadRow() {
        #expect(throws: SeriesCSV.ParseError(line: 3, message: "value 'x' is not a finite number")) {
            try SeriesCSV.parse("timestamp,value\na,1\nb,x\n")
        }
        #expect(throws: SeriesCSV.ParseError(line: 2, message: "expected 2 fields (timestamp,value), found 3")) {
            try SeriesCSV.parse("a,1\nb,2,3\n")
        }
        #expect(throws: SeriesCSV.ParseError(line: 2, message: "value 'nan' is not a finite number")) {
            try SeriesCSV.parse("a,1\nb,nan\n")
        }
    }
}
