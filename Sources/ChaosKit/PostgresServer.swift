import Foundation
import SQL

/// A PostgreSQL server this run owns: its own data directory, socket directory
/// and loopback port, so it can be stopped and started as a fault. Set up and run
/// by `scripts/postgres.sh`, as the local stack's is. Used by one task at a time
/// (the chaos run's), hence unchecked.
package final class PostgresServer: @unchecked Sendable {
    package let port: Int
    let directory: String
    let script: String
    private var process: ManagedProcess?
    private var starts = 0

    /// `script` is `scripts/postgres.sh`.
    package init(directory: String, script: String) throws {
        self.directory = directory
        self.script = script
        port = try FreePort.pick()
        try FileManager.default.createDirectory(atPath: directory + "/log", withIntermediateDirectories: true)
    }

    var data: String { "\(directory)/data" }

    /// A libpq URL for `database` as the superuser.
    package func url(database: String = "postgres") -> String {
        "postgresql://postgres@127.0.0.1:\(port)/\(database)?connect_timeout=3"
    }

    /// Starts the server (creating its cluster on first use) in the foreground as a child of this
    /// run (not daemonized by pg_ctl: a daemon would inherit, and hold open, what tells Foundation that
    /// its parent ended) and waits until it accepts connections.
    package func start() async throws {
        if let old = process, old.isRunning { await old.stop(grace: .seconds(5)) }
        starts += 1
        let log = "\(directory)/log/postgres-\(starts).log"
        let process = try ManagedProcess(
            name: "postgresql", executable: script, arguments: ["run", directory, "\(port)"],
            environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"], log: log)
        self.process = process
        let deadline = ContinuousClock.now + .seconds(60)
        while connectionError() != nil {
            guard process.isRunning else { throw ChaosError("PostgreSQL did not start: see \(log)") }
            guard ContinuousClock.now < deadline else { throw ChaosError("PostgreSQL did not accept connections within 60 s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Stops the server. `immediate` aborts like a crash (SIGQUIT: recovery from the WAL at the
    /// next start); otherwise a fast shutdown (SIGINT: open transactions roll back).
    package func stop(immediate: Bool = false) async {
        guard let process else { return }
        guard let pid else { return await process.stop(grace: .seconds(5)) }  // not up yet: the script
        kill(pid, immediate ? SIGQUIT : SIGINT)
        if await !process.waitForExit(timeout: .seconds(30)) {
            kill(pid, SIGKILL)
            await process.stop(grace: .seconds(5))
        }
    }

    /// The process this run started (the postmaster, once the script has exec'd it) while it runs.
    package var launchedPID: Int32? { process.flatMap { $0.isRunning ? $0.pid : nil } }

    /// The postmaster's PID while it runs.
    package var pid: Int32? {
        guard let text = try? String(contentsOfFile: "\(data)/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) }), RabbitCluster.isAlive(pid)
        else { return nil }
        return pid
    }

    /// Tries one connection: nil when it worked, else libpq's reason.
    package func connectionError() -> String? {
        do {
            _ = try SQLConnection(url(), applicationName: "chaos-probe")
            return nil
        } catch {
            return "\(error)"
        }
    }
}
