import Foundation
import NIOHTTP1
import SimulatorKit

/// The pipeline's services as processes of this run (two ingest, two analyzers,
/// alerts), each on its own loopback ports, started again by name after a fault
/// as Kubernetes would restart a container.
final class PipelineFleet: @unchecked Sendable {
    struct Service: Sendable {
        var name: String
        var command: String
        /// The admin listener (plain HTTP): `/readyz`, `/metrics` and `/kill`.
        var adminPort: Int
        /// Ingest's device listeners (TLS).
        var httpsPort: Int?
        var tcpPort: Int?
        var environment: [String: String]
    }

    let services: [Service]
    let binary: String
    let logDirectory: String
    private var processes: [String: ManagedProcess] = [:]
    /// Every process started, restarts included, for the final stop and check.
    private var started: [ManagedProcess] = []
    private var starts: [String: Int] = [:]
    private var reported: Set<Int32> = []
    private let lock = NSLock()

    init(services: [Service], binary: String, logDirectory: String) {
        self.services = services
        self.binary = binary
        self.logDirectory = logDirectory
    }

    func service(_ name: String) -> Service { services.first { $0.name == name }! }
    func process(_ name: String) -> ManagedProcess? { lock.withLock { processes[name] } }
    var running: [ManagedProcess] { lock.withLock { started.filter(\.isRunning) } }

    /// Starts `name` (again; an instance still running is killed first, so no answer comes from it);
    /// each start logs to a file of its own.
    func start(_ name: String) async throws {
        if let old = process(name), old.isRunning {
            old.signal(SIGKILL)
            _ = await old.waitForExit(timeout: .seconds(5))
        }
        let service = service(name)
        let n = lock.withLock {
            starts[name, default: 0] += 1
            return starts[name]!
        }
        let process = try ManagedProcess(
            name: name, executable: binary, arguments: [service.command],
            environment: ProcessInfo.processInfo.environment.merging(service.environment) { $1 },
            log: "\(logDirectory)/\(name)\(n > 1 ? ".\(n)" : "").log")
        lock.withLock {
            processes[name] = process
            started.append(process)
        }
    }

    /// Waits until `/readyz` answers 200; returns how long that took.
    @discardableResult
    func waitUntilReady(_ name: String, timeout: Duration = .seconds(60)) async throws -> Duration {
        let start = ContinuousClock.now
        let service = service(name)
        if try await ServiceProbe.waitUntilReady(
            port: service.adminPort, timeout: timeout,
            isAlive: { process(name)?.isRunning == true })
        {
            return ContinuousClock.now - start
        }
        guard process(name)?.isRunning == true else {
            throw ChaosError("\(name) exited while starting (log: \(logDirectory)/\(name)*.log)")
        }
        throw ChaosError("\(name) was not ready within \(timeout) (log: \(logDirectory)/\(name)*.log)")
    }

    func get(_ name: String, _ path: String) async throws -> HTTPReply { try await request(name, .GET, path) }

    func request(_ name: String, _ method: HTTPMethod, _ path: String) async throws -> HTTPReply {
        let service = service(name)
        let connection = try await HTTPConnection.connect(host: "127.0.0.1", port: service.adminPort, tls: nil)
        defer { Task { await connection.close() } }
        return try await connection.request(method, path, timeout: .seconds(5))
    }

    /// The sum of every sample of `metric` in the service's `/metrics` (all label sets).
    func metric(_ name: String, _ metric: String) async throws -> Double {
        ServiceProbe.sum(of: metric, in: try await get(name, "/metrics").body) ?? 0
    }

    /// Services that ended without being told to (each reported once): a crash the run did not cause.
    func unexpectedExits() -> [String] {
        lock.withLock {
            processes.values.filter { !$0.isRunning && !reported.contains($0.pid) }.map { p in
                reported.insert(p.pid)
                return "\(p.name) (PID \(p.pid)) ended by itself (\(p.exit ?? "?")); log: \(logDirectory)/\(p.name)*.log"
            }
        }
    }

    /// Stops every service by its PID (SIGTERM, SIGKILL after 10 s).
    func stopAll() async {
        let all = running
        await withTaskGroup(of: Void.self) { group in
            for process in all { group.addTask { await process.stop() } }
        }
    }
}
