import CLibPQ
import Foundation

/// One libpq connection. libpq calls block, so a connection is used by one
/// thread at a time (a pool hands them out, the analyzer keeps one on its thread).
package final class SQLConnection {
    private let conn: OpaquePointer
    package private(set) var broken = false

    /// Connects with a libpq connection string or URL (several hosts allowed);
    /// `connect_timeout` defaults to 5 s unless the string sets it.
    package init(_ conninfo: String, applicationName: String = "pipeline") throws(SQLError) {
        let keys = ["connect_timeout", "application_name", "dbname"]
        let values = ["5", applicationName, conninfo]
        let c: OpaquePointer? = withCStrings(keys) { k in
            withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let c else { throw SQLError(sqlState: nil, message: "out of memory", connectionLost: true) }
        guard PQstatus(c) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(c)
            throw SQLError(sqlState: nil, message: "cannot connect to the database: \(message)", connectionLost: true)
        }
        conn = c
        // Server notices ("relation already exists, skipping") are not errors: keep them off stderr.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
        // Every timestamp this project reads back is rendered in UTC.
        try execute("SET TIME ZONE 'UTC'")
    }

    deinit { PQfinish(conn) }

    /// Runs one statement with text parameters (`$1`, `$2`, …; nil is NULL).
    @discardableResult
    package func execute(_ sql: String, _ parameters: [String?] = []) throws(SQLError) -> SQLRows {
        let result: OpaquePointer? = withOptionalCStrings(parameters) { params in
            PQexecParams(conn, sql, Int32(parameters.count), nil, params, nil, nil, 0)
        }
        defer { PQclear(result) }
        guard let result else { throw failure(nil) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return Self.rows(of: result)
        default:
            throw failure(result)
        }
    }

    /// Runs `body` in a transaction and commits; rolls back on error. Serialization
    /// failures (SQLSTATE 40001) run the whole body again, up to `maxAttempts`.
    package func transaction<T>(maxAttempts: Int = 10, _ body: (SQLConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                try execute("BEGIN")
                let value = try body(self)
                try execute("COMMIT")
                return value
            } catch let error as SQLError {
                if !error.connectionLost { _ = try? execute("ROLLBACK") }
                if error.isRetryableTransaction, attempt < maxAttempts {
                    Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.005) * Double(attempt))
                    continue
                }
                throw error
            } catch {
                _ = try? execute("ROLLBACK")
                throw error
            }
        }
    }

    private func failure(_ result: OpaquePointer?) -> SQLError {
        var state: String?
        var message = String(cString: PQerrorMessage(conn))
        if let result {
            if let s = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) { state = String(cString: s) }
            if let m = PQresultErrorField(result, Int32(UInt8(ascii: "M"))) { message = String(cString: m) }
        }
        let lost = PQstatus(conn) != CONNECTION_OK
        if lost { broken = true }
        return SQLError(
            sqlState: state, message: message.trimmingCharacters(in: .whitespacesAndNewlines), connectionLost: lost)
    }

    private static func rows(of result: OpaquePointer) -> SQLRows {
        let nrows = Int(PQntuples(result))
        let ncols = Int(PQnfields(result))
        var columns: [String] = []
        columns.reserveCapacity(ncols)
        for c in 0..<ncols { columns.append(String(cString: PQfname(result, Int32(c)))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(nrows)
        for r in 0..<nrows {
            var row: [String?] = []
            row.reserveCapacity(ncols)
            for c in 0..<ncols {
                if PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            rows.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return SQLRows(columns: columns, rows: rows, affected: affected)
    }
}

private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    withOptionalCStrings(strings.map { Optional($0) }) { pointers in
        body(pointers + [nil])
    }
}

/// Keeps C copies of the strings alive for the duration of `body`.
private func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { for p in copies { free(p) } }
    return body(copies.map { UnsafePointer($0) })
}
