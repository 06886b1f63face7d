import Analyzer
import Foundation
import SQL
import Storage
import Testing

extension Integration {
    /// Each service connects as its own role, granted by `pipeline migrate` only what
    /// it needs; what it does not need is refused by the database itself.
    @Suite struct LeastPrivilegeTests {
        /// The SQLSTATE of `sql` (statements separated by `; `, run in turn) run as `role`, nil when it succeeded.
        static func attempt(_ stack: TestStack, as role: ServiceRole, _ sql: String) throws -> String? {
            let c = try SQLConnection(stack.databaseURL(as: role))
            do {
                for statement in sql.components(separatedBy: "; ") { try c.execute(statement) }
                return nil
            } catch {
                return error.sqlState ?? "none"
            }
        }

        @Test func eachRoleMayDoWhatItsServiceNeedsAndNothingElse() throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            try AlertsFixture.store(AlertsFixture.series("priv-1", count: 40, spikes: [35]), on: try stack.db())
            _ = try stack.issueToken("priv-1")
            let denied = "42501"
            let reading = "INSERT INTO readings (device_id, seq, ts, metrics) VALUES ('x', 1, now(), '{}')"
            // What each needs works.
            for (role, sql) in [
                (ServiceRole.analyzer, "SELECT count(*) FROM readings"), (.analyzer, reading),
                (.analyzer, "SELECT device_id FROM devices WHERE device_id = 'priv-1' FOR UPDATE"),
                (.analyzer, "DELETE FROM anomalies WHERE device_id = 'nobody'"),
                (.alerts, "SELECT count(*) FROM anomalies"), (.alerts, "SELECT count(*) FROM reader_keys"),
                (.alerts, "INSERT INTO reader_key_usage (name, last_used_at) VALUES ('k', now()) ON CONFLICT (name) DO UPDATE SET last_used_at = now()"),
                (.ingest, "SELECT generation FROM device_tokens WHERE device_id = 'priv-1'"),
                (.analyzer, "SELECT version FROM schema_version"), (.alerts, "SELECT version FROM schema_version"),
                (.ingest, "SELECT version FROM schema_version"),
            ] {
                #expect(try Self.attempt(stack, as: role, sql) == nil, "\(role): \(sql)")
            }
            // Everything else is refused.
            for (role, sql) in [
                (ServiceRole.analyzer, "SELECT count(*) FROM device_tokens"), (.analyzer, "SELECT count(*) FROM reader_keys"),
                (.analyzer, "CREATE TABLE intruder (x INT8)"), (.analyzer, "DROP TABLE readings"),
                (.analyzer, "ALTER TABLE readings ADD COLUMN x INT8"), (.analyzer, "UPDATE schema_version SET version = 0"),
                (.alerts, reading), (.alerts, "BEGIN READ WRITE; DELETE FROM anomalies; COMMIT"),
                (.alerts, "UPDATE reader_keys SET revoked_at = NULL"), (.alerts, "SELECT count(*) FROM device_tokens"),
                (.alerts, "CREATE TABLE intruder (x INT8)"),
                (.ingest, "SELECT count(*) FROM readings"), (.ingest, "SELECT count(*) FROM anomalies"),
                (.ingest, "UPDATE device_tokens SET revoked = false"), (.ingest, "SELECT count(*) FROM reader_keys"),
                (.ingest, "CREATE TABLE intruder (x INT8)"),
            ] {
                let state = try Self.attempt(stack, as: role, sql)
                #expect(state == denied, "\(role): \(sql) gave \(state ?? "success")")
            }
        }

        @Test func theServicesRunAsTheirRolesAndNoServiceMigrates() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.ingest(tls: false, auth: true)
            try await stack.running(ingest.services + stack.analyzer().services + stack.alerts(readerKeys: true).services, ready: ingest) {
                try await stack.eventually("every service connected") {
                    try stack.count(
                        "SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'pipeline-%'",
                        [stack.database]) == 3
                }
                let sessions = try stack.db().execute(
                    "SELECT DISTINCT application_name, usename FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'pipeline-%' ORDER BY 1",
                    [stack.database]
                ).rows.map { "\($0[0] ?? "?")=\($0[1] ?? "?")" }
                #expect(
                    sessions == ["pipeline-alerts=pipeline_alerts", "pipeline-analyzer=pipeline_analyzer", "pipeline-ingest=pipeline_ingest"],
                    "\(sessions)")
            }

            // A database `pipeline migrate` has not reached: the analyzer says so and stays not ready.
            let fresh = "fresh_\(stack.database)"
            let admin = try SQLConnection(stack.adminURL)
            try admin.execute("CREATE DATABASE \(fresh)")
            defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(fresh) WITH (FORCE)") }
            let url = TestStack.replacingDatabase(in: stack.databaseURL(as: .analyzer), with: fresh)
            let analyzer = AnalyzerService(
                configuration: .init(amqp: stack.amqp, databaseURL: url), host: "127.0.0.1", port: stack.analyzerPort,
                logger: TestStack.logger)
            try await stack.running(analyzer.services) {
                try await stack.eventually("readiness tells to migrate") {
                    let r = try await DataSafetyTests.readyz(stack.analyzerPort)
                    return r.status == 503 && r.body.contains("run `pipeline migrate`")
                }
            }
            let tables = try SQLConnection(TestStack.replacingDatabase(in: stack.adminURL, with: fresh))
                .execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").rows.first?[0]
            #expect(tables == "0", "the analyzer created tables")
        }
    }
}
