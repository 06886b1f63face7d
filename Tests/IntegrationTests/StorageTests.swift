import Foundation
import PipelineCore
import SQL
import Storage
import Testing

extension Integration {
    /// Storage statements on the real database.
    @Suite struct StorageTests {
        /// Rows are read by column name: a reordered SELECT reads the same values, and a column
        /// renamed, a NULL or a value of another type is an error, never a silent zero.
        @Test func rowsAreReadByColumnNameAndABrokenNameFailsLoudly() throws {
            let stack = try TestStack.make()
            let db = try stack.db()
            let read = { (sql: String) throws -> [ReadingStore.SeriesKey: Double] in
                Dictionary(
                    uniqueKeysWithValues: try db.execute(sql).map { r throws(SQLError) in
                        (ReadingStore.SeriesKey(deviceID: try r.text("d"), metric: "m\(try r.int("seq"))"), try r.double("value"))
                    })
            }
            let expected: [ReadingStore.SeriesKey: Double] = [.init(deviceID: "a", metric: "m7"): 2.5]
            #expect(try read("SELECT 'a' AS d, 7::INT8 AS seq, 2.5::FLOAT8 AS value") == expected)
            #expect(try read("SELECT 2.5::FLOAT8 AS value, 'a' AS d, 7::INT8 AS seq") == expected, "the order does not matter")
            for (sql, says) in [
                ("SELECT 'a' AS d, 7::INT8 AS sequence, 2.5::FLOAT8 AS value", "no column seq"),
                ("SELECT 'a' AS d, NULL::INT8 AS seq, 2.5::FLOAT8 AS value", "column seq holds NULL"),
                ("SELECT 'a' AS d, 7::INT8 AS seq, 'high' AS value", "column value holds high"),
            ] {
                do {
                    _ = try read(sql)
                    Issue.record("\(sql) was read")
                } catch {
                    #expect("\(error)".contains(says), "\(sql): \(error)")
                }
            }
            #expect(try db.execute("SELECT 1 AS n WHERE false").first { r throws(SQLError) in try r.int("n") } == nil)
        }

        @Test func windowsOfABatchAreOneStatementOfIndexRangeScans() throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let db = try stack.db()
            try Schema.migrate(db)
            let readings = (0..<100).flatMap { d in
                (0..<100).map { seq in
                    IncomingReading(
                        reading: Reading(
                            deviceID: "plan-\(d)", seq: Int64(seq), ts: "2026-11-25T08:00:00Z",
                            metrics: ["heart_rate": Double(60 + seq % 13), "spo2": 97]),
                        acceptedAtMs: nil)
                }
            }
            _ = try db.transaction { try ReadingStore.insert(readings, on: $0) }
            try db.execute("ANALYZE metric_values")

            // The windows, exactly: the newest values below the given seq, newest first.
            let keys: [ReadingStore.SeriesKey: Int64] = [
                .init(deviceID: "plan-3", metric: "heart_rate"): 50, .init(deviceID: "plan-7", metric: "spo2"): 10,
            ]
            let windows = try ReadingStore.windows(keys, limit: 20, on: db)
            #expect(windows[.init(deviceID: "plan-3", metric: "heart_rate")]?.map(\.seq) == Array((30..<50).reversed()).map(Int64.init))
            #expect(windows[.init(deviceID: "plan-3", metric: "heart_rate")]?.first?.value == Double(60 + 49 % 13))
            #expect(windows[.init(deviceID: "plan-7", metric: "spo2")]?.map(\.seq) == Array((0..<10).reversed()).map(Int64.init))

            // The plan: an index range scan of the primary key per series, no scan of the table.
            let plan = try db.execute(
                "EXPLAIN " + ReadingStore.windowsSQL, [#"{"plan-3","plan-7"}"#, #"{"heart_rate","spo2"}"#, "{50,10}", "220"]
            ).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
            #expect(plan.contains("Index Scan Backward using metric_values_pkey on metric_values"), "\(plan)")
            #expect(!plan.contains("Seq Scan on metric_values"), "\(plan)")
        }
    }
}
