import Foundation

/// A RabbitMQ cluster on loopback for fault injection: `count` nodes, each a
/// process of its own with its own ports and data directory, one private epmd,
/// one Erlang cookie. Every program of a node runs through `scripts/rabbitmq.sh`
/// (`script`), as the local stack's do: the same broker (RabbitMQ 4 by default,
/// with Khepri), set up the same way. Nodes can be killed, paused and
/// restarted; a restarted node rejoins the cluster from its data directory.
package final class RabbitCluster: @unchecked Sendable {
    package struct Node: Sendable {
        package let index: Int
        package let name: String
        package let amqpPort: Int
        let distPort: Int
        let directory: String
    }

    package let nodes: [Node]
    /// `scripts/rabbitmq.sh`.
    let script: String
    /// Its `RABBITMQ` setting ("4" or "system"); nil: this process's.
    let broker: String?
    let directory: String
    let epmdPort: Int
    private let requestedSettings: [String]?
    /// The rabbitmq.conf lines beyond the cluster's own that the nodes run with (set by `start`).
    package private(set) var settings: [String] = []
    /// The broker the nodes run, as `prepare` said it ("4.0.5 root"; set by `start`).
    package private(set) var running = ""
    private var epmd: ManagedProcess?
    private var servers: [Int: ManagedProcess] = [:]
    /// Every server script started, restarts included: all are stopped at the end.
    private var started: [ManagedProcess] = []
    private let lock = NSLock()

    /// What the nodes run with besides the cluster's own settings: what the manifests carry for that
    /// version, and why (measured with `make chaos` node-pause; docs/reliability.md). A 10 s tick
    /// declares a frozen or cut-off node down after ~10-15 s instead of ~60 s. On 3.10 that is what let
    /// the others elect a quorum-queue leader (the defaults acknowledged nothing for a whole 30 s pause),
    /// and `autoheal` restarts the side that lost when the node comes back (`pause_minority` left it
    /// partitioned). On 4.x the queue's own Raft election recovers without it (acknowledgements resumed
    /// ~12 s into a 60 s pause under the defaults), but until the tick expires the other nodes' CLI and
    /// management queries wait on the frozen one; partition handling is Mnesia's and does not apply.
    package static func defaultSettings(version: String) -> [String] {
        (Int(version.prefix { $0.isNumber }) ?? 0) >= 4
            ? ["net_ticktime = 10"] : ["net_ticktime = 10", "cluster_partition_handling = autoheal"]
    }

    /// Lays out `count` nodes under `directory` (created), with free ports; `script` is `scripts/rabbitmq.sh`,
    /// `broker` its `RABBITMQ` setting (default: this process's), `settings` rabbitmq.conf lines for every node
    /// (nil: `defaultSettings` for the version that runs).
    package init(
        directory: String, count: Int = 3, tag: String, script: String, broker: String? = nil, settings: [String]? = nil
    ) throws {
        self.directory = directory
        self.script = script
        self.broker = broker
        self.requestedSettings = settings
        epmdPort = try FreePort.pick()
        nodes = try (1...count).map { i in
            Node(
                index: i, name: "chaos\(i)-\(tag)@localhost", amqpPort: try FreePort.pick(), distPort: try FreePort.pick(),
                directory: "\(directory)/rabbit\(i)")
        }
        let cookie = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20)).uppercased()
        for node in nodes {
            for sub in ["home", "mnesia", "log"] {
                try FileManager.default.createDirectory(atPath: "\(node.directory)/\(sub)", withIntermediateDirectories: true)
            }
            let cookieFile = "\(node.directory)/home/.erlang.cookie"
            try Data(cookie.utf8).write(to: URL(fileURLWithPath: cookieFile))
            try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: cookieFile)
            let parameters = "RABBIT_NODE=\(node.name)\nAMQP_PORT=\(node.amqpPort)\nRABBIT_DIST_PORT=\(node.distPort)\nEPMD_PORT=\(epmdPort)\n"
            try Data(parameters.utf8).write(to: URL(fileURLWithPath: "\(node.directory)/node.env"))
            try Data("[].\n".utf8).write(to: URL(fileURLWithPath: "\(node.directory)/enabled_plugins"))
        }
    }

    /// Writes every node's rabbitmq.conf with `settings`. Nodes find each other at boot (no
    /// join_cluster round trips): every node lists all.
    private func writeConfiguration(_ settings: [String]) throws {
        var config = "loopback_users = none\nlog.file.level = info\ncluster_formation.peer_discovery_backend = classic_config\n"
        for line in settings { config += line + "\n" }
        for node in nodes { config += "cluster_formation.classic_config.nodes.\(node.index) = \(node.name)\n" }
        for node in nodes {
            try Data(config.utf8).write(to: URL(fileURLWithPath: "\(node.directory)/rabbitmq.conf"))
        }
    }

    /// Every node's AMQP URL, comma-separated, as `AMQP_URL` takes them.
    package var amqpURL: String { nodes.map { "amqp://guest:guest@127.0.0.1:\($0.amqpPort)/%2f" }.joined(separator: ",") }

    /// What `script` needs of this process's environment: which broker runs, and where its root filesystem is.
    var environment: [String: String] {
        var env = ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"]
        for key in ["RABBITMQ", "RABBITMQ_ROOT"] { env[key] = ProcessInfo.processInfo.environment[key] }
        if let broker { env["RABBITMQ"] = broker }
        return env
    }

    /// The broker that runs, as `script prepare` says ("4.0.5 root"); the first call on a machine may
    /// build RabbitMQ 4's root filesystem (about a minute).
    package func prepare() async throws -> String {
        try await Command.run(script, ["prepare"], environment: environment, timeout: .seconds(900))
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts epmd and every node; they form the cluster as they boot, which then moves
    /// to the Khepri metadata store on RabbitMQ 4.
    package func start() async throws {
        running = try await prepare()
        settings = requestedSettings ?? Self.defaultSettings(version: String(running.prefix { $0 != " " }))
        try writeConfiguration(settings)
        let epmd = try ManagedProcess(
            name: "epmd", executable: script,
            arguments: ["run", nodes[0].directory, "epmd", "-port", "\(epmdPort)", "-address", "127.0.0.1"],
            environment: environment, log: "\(directory)/epmd.log")
        lock.withLock { self.epmd = epmd }
        try await Task.sleep(for: .milliseconds(300))
        for node in nodes { try startServer(node) }
        for node in nodes { try await waitUntilBooted(node) }
        try await Command.run(script, ["khepri", nodes[0].directory], environment: environment, timeout: .seconds(120))
    }

    private func startServer(_ node: Node) throws {
        try? FileManager.default.removeItem(atPath: "\(node.directory)/rabbit.pid")
        let server = try ManagedProcess(
            name: "rabbit\(node.index)", executable: script, arguments: ["run", node.directory, "rabbitmq-server"],
            environment: environment, log: "\(node.directory)/log/console.log")
        lock.withLock {
            servers[node.index] = server
            started.append(server)
        }
    }

    /// Waits until the node has booted (its PID file written and the app running).
    func waitUntilBooted(_ node: Node) async throws {
        try await ctl(node, ["wait", "\(node.directory)/rabbit.pid", "--timeout", "120"], tool: "rabbitmq-diagnostics")
    }

    /// The Erlang VM's PID of a node (the server script is only its parent), nil when not running.
    package func vmPID(_ index: Int) -> Int32? {
        guard let text = try? String(contentsOfFile: "\(nodes[index - 1].directory)/rabbit.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), Self.isAlive(pid)
        else { return nil }
        return pid
    }

    /// True while `pid` runs (a zombie, killed but not yet reaped, does not).
    package static func isAlive(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.split(separator: "\n").contains { $0.hasPrefix("State:") && $0.contains("Z") }
    }

    /// Sends `signal` to a node's VM: SIGKILL to crash it, SIGSTOP / SIGCONT to freeze and thaw it.
    package func signal(_ index: Int, _ signal: Int32) throws {
        guard let pid = vmPID(index) else { throw ChaosError("node \(index) is not running") }
        kill(pid, signal)
    }

    /// Every process of the cluster this object started and that still runs (scripts, epmd), VMs aside.
    package var processes: [ManagedProcess] {
        lock.withLock { (started + [epmd].compactMap { $0 }).filter(\.isRunning) }
    }

    /// Starts a node that was killed; it rejoins the cluster from its data directory.
    package func restart(_ index: Int) async throws {
        let node = nodes[index - 1]
        // The server script should end with its VM; the Debian one can stay behind (a shell waiting on a
        // VM already dead), so it is stopped by PID rather than waited for.
        if let old = lock.withLock({ servers[index] }) { await old.stop(grace: .seconds(2)) }
        try startServer(node)
        try await waitUntilBooted(node)
    }

    /// The index of the node that leads `queue`'s Raft group now, asked of a running node.
    /// Nodes in `excluding` (a frozen one) are not asked.
    package func leader(of queue: String, excluding: Set<Int> = [], timeout: Duration = .seconds(15)) async throws -> Int? {
        guard let leader = try await queueRow(queue, ["leader"], excluding: excluding, timeout: timeout)?["leader"] as? String else {
            return nil
        }
        return nodes.first { $0.name == leader }?.index
    }

    /// `queue`'s row of `rabbitmqctl list_queues name <columns>`, asked of the first running node that
    /// answers within `timeout` in all (nodes in `excluding` are not asked); nil when the queue does not exist, throws
    /// when no node answers.
    package func queueRow(
        _ queue: String, _ columns: [String], excluding: Set<Int> = [], timeout: Duration = .seconds(15)
    ) async throws -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        for node in nodes where vmPID(node.index) != nil && !excluding.contains(node.index) {
            let left = deadline - ContinuousClock.now
            guard left > .milliseconds(100),
                let out = try? await ctl(node, ["list_queues", "name"] + columns + ["--formatter", "json", "--quiet"], timeout: left),
                let rows = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]]
            else { continue }
            return rows.first { $0["name"] as? String == queue }
        }
        throw ChaosError("no running node answered")
    }

    /// Runs a RabbitMQ CLI tool against `node` and returns its output; throws on a non-zero exit.
    @discardableResult
    package func ctl(
        _ node: Node, _ arguments: [String], tool: String = "rabbitmqctl", timeout: Duration = .seconds(120)
    ) async throws -> String {
        try await Command.run(script, ["run", node.directory, tool] + arguments, environment: environment, timeout: timeout)
    }

    /// Stops every node (SIGTERM to each VM, which shuts RabbitMQ down; SIGKILL after
    /// 10 s: nodes of a cluster stopping together can wait on each other), then the
    /// server scripts and epmd (which ignores SIGTERM).
    package func stop() async {
        let (servers, epmd) = lock.withLock { (self.started, self.epmd) }
        let vms = nodes.compactMap { vmPID($0.index) }
        for pid in vms {
            kill(pid, SIGCONT)
            kill(pid, SIGTERM)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while vms.contains(where: Self.isAlive), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        for pid in vms where Self.isAlive(pid) { kill(pid, SIGKILL) }
        for server in servers { await server.stop(grace: .seconds(2)) }
        epmd?.signal(SIGKILL)
        _ = await epmd?.waitForExit(timeout: .seconds(5))
    }
}
