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
        lock.withLock { servers[node.index] = server }
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

    /// Starts a node that was killed; it rejoins the cluster from its data directory.
    public func restart(_ index: Int) async throws {
        let node = nodes[index - 1]
        if let old = lock.withLock({ servers[index] }) { _ = await old.waitForExit(timeout: .seconds(10)) }
        try startServer(node)
        try await waitUntilBooted(node)
    }

    /// The index of the node that leads `queue`'s Raft group now, asked of a running node.
    public func leader(of queue: String) async throws -> Int? {
        for node in nodes where vmPID(node.index) != nil {
            guard let out = try? await ctl(node, ["list_queues", "name", "leader", "--formatter", "json", "--quiet"]),
                let rows = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]]
            else { continue }
            guard let row = rows.first(where: { $0["name"] as? String == queue }), let leader = row["leader"] as? String else {
                return nil
            }
            return nodes.first { $0.name == leader }?.index
        }
        throw ChaosError("no running node answered")
    }

    /// Runs a RabbitMQ CLI tool against `node` and returns its output; throws on a non-zero exit.
    @discardableResult
    public func ctl(_ node: Node, _ arguments: [String], tool: String = "rabbitmqctl") async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(Self.bin)/\(tool)")
        process.arguments = ["-n", node.name] + arguments
        process.environment = environment(node)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = try await Task.detached { try pipe.fileHandleForReading.readToEnd() ?? Data() }.value
        process.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ChaosError("\(tool) \(arguments.joined(separator: " ")) on \(node.name) failed: \(out.suffix(300))")
        }
        return out
    }

    /// Stops every node (SIGTERM to each VM, which shuts RabbitMQ down; SIGKILL after
    /// 10 s: nodes of a cluster stopping together can wait on each other), then the
    /// server scripts and epmd (which ignores SIGTERM).
    public func stop() async {
        let (servers, epmd) = lock.withLock { (self.servers, self.epmd) }
        let vms = nodes.compactMap { vmPID($0.index) }
        for pid in vms {
            kill(pid, SIGCONT)
            kill(pid, SIGTERM)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while vms.contains(where: Self.isAlive), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        for pid in vms where Self.isAlive(pid) { kill(pid, SIGKILL) }
        for (_, server) in servers { await server.stop(grace: .seconds(2)) }
        epmd?.signal(SIGKILL)
        _ = await epmd?.waitForExit(timeout: .seconds(5))
    }
}
