import Foundation

/// A RabbitMQ cluster on loopback for fault injection: `count` nodes, each a
/// process of its own with its own ports and data directory, one private epmd,
/// one Erlang cookie. The Debian server runs as root when started from
/// `/usr/lib/rabbitmq/bin` with its own `HOME`. Nodes can be killed, paused and
/// restarted; a restarted node rejoins the cluster from its data directory.
public final class RabbitCluster: @unchecked Sendable {
    public struct Node: Sendable {
        public let index: Int
        public let name: String
        public let amqpPort: Int
        let distPort: Int
        let directory: String
    }

    public static let bin = "/usr/lib/rabbitmq/bin"
    public let nodes: [Node]
    let directory: String
    let epmdPort: Int
    private var epmd: ManagedProcess?
    private var servers: [Int: ManagedProcess] = [:]
    /// Every server script started, restarts included: all are stopped at the end.
    private var started: [ManagedProcess] = []
    private let lock = NSLock()

    /// Lays out `count` nodes under `directory` (created), with free ports.
    public init(directory: String, count: Int = 3, tag: String) throws {
        self.directory = directory
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
        }
        // Nodes find each other at boot (no join_cluster round trips): every node lists all.
        var config = "loopback_users = none\nlog.file.level = info\ncluster_formation.peer_discovery_backend = classic_config\n"
        // A frozen or cut-off node is declared down after ~10 s instead of ~60 s (then the other two
        // elect a quorum queue leader and connections stop waiting on it), and when it comes back the
        // side that lost heals by restarting. Measured with `make chaos` node-pause, 30 s: defaults
        // acknowledged nothing for the whole pause; pause_minority left the thawed node partitioned.
        config += "net_ticktime = 10\ncluster_partition_handling = autoheal\n"
        for node in nodes { config += "cluster_formation.classic_config.nodes.\(node.index) = \(node.name)\n" }
        for node in nodes {
            try Data(config.utf8).write(to: URL(fileURLWithPath: "\(node.directory)/rabbitmq.conf"))
            try Data("[].\n".utf8).write(to: URL(fileURLWithPath: "\(node.directory)/enabled_plugins"))
        }
    }

    /// Every node's AMQP URL, comma-separated, as `AMQP_URL` takes them.
    public var amqpURL: String { nodes.map { "amqp://guest:guest@127.0.0.1:\($0.amqpPort)/%2f" }.joined(separator: ",") }

    /// The environment of a node's server and of CLI calls made on its behalf.
    func environment(_ node: Node) -> [String: String] {
        let loopback = "-kernel inet_dist_use_interface {127,0,0,1}"
        return [
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "\(node.directory)/home", "ERL_EPMD_PORT": "\(epmdPort)",
            "ERL_EPMD_ADDRESS": "127.0.0.1", "RABBITMQ_NODENAME": node.name, "RABBITMQ_USE_LONGNAME": "false",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": "\(node.amqpPort)",
            "RABBITMQ_DIST_PORT": "\(node.distPort)", "RABBITMQ_MNESIA_BASE": "\(node.directory)/mnesia",
            "RABBITMQ_LOG_BASE": "\(node.directory)/log", "RABBITMQ_CONFIG_FILE": "\(node.directory)/rabbitmq.conf",
            "RABBITMQ_ENABLED_PLUGINS_FILE": "\(node.directory)/enabled_plugins", "RABBITMQ_PID_FILE": "\(node.directory)/pid",
            "RABBITMQ_CONF_ENV_FILE": "/nonexistent", "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": loopback,
            "RABBITMQ_CTL_ERL_ARGS": loopback, "LANG": "C.UTF-8",
        ]
    }

    /// Starts epmd and every node; they form the cluster as they boot.
    public func start() async throws {
        let epmd = try ManagedProcess(
            name: "epmd", executable: "/usr/bin/epmd", arguments: ["-port", "\(epmdPort)", "-address", "127.0.0.1"],
            environment: ["PATH": "/usr/bin:/bin"], log: "\(directory)/epmd.log")
        lock.withLock { self.epmd = epmd }
        try await Task.sleep(for: .milliseconds(300))
        for node in nodes { try startServer(node) }
        for node in nodes { try await waitUntilBooted(node) }
    }

    private func startServer(_ node: Node) throws {
        try? FileManager.default.removeItem(atPath: "\(node.directory)/pid")
        let server = try ManagedProcess(
            name: "rabbit\(node.index)", executable: "\(Self.bin)/rabbitmq-server", arguments: [],
            environment: environment(node), log: "\(node.directory)/log/console.log")
        lock.withLock {
            servers[node.index] = server
            started.append(server)
        }
    }

    /// Waits until the node has booted (its PID file written and the app running).
    func waitUntilBooted(_ node: Node) async throws {
        try await ctl(node, ["wait", "\(node.directory)/pid", "--timeout", "120"], tool: "rabbitmq-diagnostics")
    }

    /// The Erlang VM's PID of a node (the server script is only its parent), nil when not running.
    public func vmPID(_ index: Int) -> Int32? {
        guard let text = try? String(contentsOfFile: "\(nodes[index - 1].directory)/pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), Self.isAlive(pid)
        else { return nil }
        return pid
    }

    /// True while `pid` runs (a zombie, killed but not yet reaped, does not).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.split(separator: "\n").contains { $0.hasPrefix("State:") && $0.contains("Z") }
    }

    /// Sends `signal` to a node's VM: SIGKILL to crash it, SIGSTOP / SIGCONT to freeze and thaw it.
    public func signal(_ index: Int, _ signal: Int32) throws {
        guard let pid = vmPID(index) else { throw ChaosError("node \(index) is not running") }
        kill(pid, signal)
    }

    /// Every process of the cluster this object started and that still runs (scripts, epmd), VMs aside.
    public var processes: [ManagedProcess] {
        lock.withLock { (started + [epmd].compactMap { $0 }).filter(\.isRunning) }
    }

    /// Starts a node that was killed; it rejoins the cluster from its data directory.
    public func restart(_ index: Int) async throws {
        let node = nodes[index - 1]
        // The server script should end with its VM; the Debian one can stay behind (a shell waiting on a
        // VM already dead), so it is stopped by PID rather than waited for.
        if let old = lock.withLock({ servers[index] }) { await old.stop(grace: .seconds(2)) }
        try startServer(node)
        try await waitUntilBooted(node)
    }

    /// The index of the node that leads `queue`'s Raft group now, asked of a running node.
    /// Nodes in `excluding` (a frozen one) are not asked.
    public func leader(of queue: String, excluding: Set<Int> = [], timeout: Duration = .seconds(15)) async throws -> Int? {
        guard let leader = try await queueRow(queue, ["leader"], excluding: excluding, timeout: timeout)?["leader"] as? String else {
            return nil
        }
        return nodes.first { $0.name == leader }?.index
    }

    /// `queue`'s row of `rabbitmqctl list_queues name <columns>`, asked of the first running node that
    /// answers (nodes in `excluding` are not asked); nil when the queue does not exist, throws when no node answers.
    public func queueRow(
        _ queue: String, _ columns: [String], excluding: Set<Int> = [], timeout: Duration = .seconds(15)
    ) async throws -> [String: Any]? {
        for node in nodes where vmPID(node.index) != nil && !excluding.contains(node.index) {
            guard
                let out = try? await ctl(node, ["list_queues", "name"] + columns + ["--formatter", "json", "--quiet"], timeout: timeout),
                let rows = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]]
            else { continue }
            return rows.first { $0["name"] as? String == queue }
        }
        throw ChaosError("no running node answered")
    }

    /// Runs a RabbitMQ CLI tool against `node` and returns its output; throws on a non-zero exit.
    @discardableResult
    public func ctl(
        _ node: Node, _ arguments: [String], tool: String = "rabbitmqctl", timeout: Duration = .seconds(120)
    ) async throws -> String {
        try await Command.run("\(Self.bin)/\(tool)", ["-n", node.name] + arguments, environment: environment(node), timeout: timeout)
    }

    /// Stops every node (SIGTERM to each VM, which shuts RabbitMQ down; SIGKILL after
    /// 10 s: nodes of a cluster stopping together can wait on each other), then the
    /// server scripts and epmd (which ignores SIGTERM).
    public func stop() async {
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
