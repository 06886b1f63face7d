import Foundation
import SQL

/// A PostgreSQL server this run owns: its own data directory, socket directory
/// and loopback port, so it can be stopped and started as a fault. Runs as the
/// `postgres` user when the run is root (PostgreSQL refuses root). Used by one
/// task at a time (the chaos run's), hence unchecked.
public final class PostgresServer: @unchecked Sendable {
    public let port: Int
    let directory: String
    let bin: String
    private var process: ManagedProcess?
    private var starts = 0
    static let user = "postgres"

    public init(directory: String) throws {
        self.directory = directory
        port = try FreePort.pick()
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw ChaosError("PostgreSQL server binaries not found under /usr/lib/postgresql (scripts/install-deps.sh installs them)")
        }
        bin = "/usr/lib/postgresql/\(newest)/bin"
        for sub in ["", "/socket", "/log"] {
            try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true)
            if getuid() == 0 { try FileManager.default.setAttributes([.ownerAccountName: Self.user], ofItemAtPath: directory + sub) }
        }
    }

    var data: String { "\(directory)/data" }

    /// A libpq URL for `database` as the superuser.
    public func url(database: String = "postgres") -> String {
        "postgresql://postgres@127.0.0.1:\(port)/\(database)?connect_timeout=3"
    }

    /// Creates the cluster on first use, then starts the server in the foreground as a child of this
    /// run (not daemonized by pg_ctl: a daemon would inherit, and hold open, what tells Foundation that
    /// its parent ended) and waits until it accepts connections.
    public func start() async throws {
        if let old = process, old.isRunning { await old.stop(grace: .seconds(5)) }
        if !FileManager.default.fileExists(atPath: "\(data)/PG_VERSION") {
            try await Command.run(
                "\(bin)/initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--locale=C", "--encoding=UTF8", "--no-instructions"],
                user: Self.user)
        }
        let server = [
            "\(bin)/postgres", "-D", data, "-c", "listen_addresses=127.0.0.1", "-p", "\(port)", "-k", "\(directory)/socket",
            "-c", "max_connections=200",
        ]
        starts += 1
        let process = try ManagedProcess(
            name: "postgresql", executable: getuid() == 0 ? "/usr/sbin/runuser" : server[0],
            arguments: getuid() == 0 ? ["-u", Self.user, "--"] + server : Array(server.dropFirst()),
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], log: "\(directory)/log/postgres-\(starts).log")
        self.process = process
        let deadline = ContinuousClock.now + .seconds(60)
        while connectionError() != nil {
            guard process.isRunning else { throw ChaosError("PostgreSQL did not start: see \(directory)/log/postgres-\(starts).log") }
            guard ContinuousClock.now < deadline else { throw ChaosError("PostgreSQL did not accept connections within 60 s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Stops the server. `immediate` aborts like a crash (SIGQUIT: recovery from the WAL at the
    /// next start); otherwise a fast shutdown (SIGINT: open transactions roll back).
    public func stop(immediate: Bool = false) async {
        guard let process else { return }
        guard let pid else { return await process.stop(grace: .seconds(5)) }  // not up yet: its wrapper
        kill(pid, immediate ? SIGQUIT : SIGINT)
        if await !process.waitForExit(timeout: .seconds(30)) {
            kill(pid, SIGKILL)
            await process.stop(grace: .seconds(5))
        }
    }

    /// The server's own process (`runuser` when root) while it runs.
    public var wrapperPID: Int32? { process.flatMap { $0.isRunning ? $0.pid : nil } }

    /// The postmaster's PID while it runs.
    public var pid: Int32? {
        guard let text = try? String(contentsOfFile: "\(data)/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) }), RabbitCluster.isAlive(pid)
        else { return nil }
        return pid
    }

    /// Tries one connection: nil when it worked, else libpq's reason.
    public func connectionError() -> String? {
        do {
            _ = try SQLConnection(url(), applicationName: "chaos-probe")
            return nil
        } catch {
            return "\(error)"
        }
    }
}
