import AMQPClient
import ChaosKit
import DeviceAuth
import Storage
import Alerts
import Analyzer
import Foundation
import Ingest
import Logging
import NIOPosix
import NIOSSL
import PipelineCore
import SQL
import ServiceLifecycle
import ServiceSupport
import SimulatorKit
import Testing

/// The real broker and database started by `make test` (scripts/stack.sh),
/// with a fresh database and queue per test, and the three services running
/// in-process on free ports.
struct TestStack {
    let amqpURL: String
    let databaseURL: String
    let adminURL: String
    let queue: String
    let database: String
    let certificate: String
    let key: String
    let httpPort: Int
    let tcpPort: Int
    let alertsPort: Int
    let analyzerPort: Int
    /// The admin listeners of ingest and alerts (`/metrics`, `/readyz` with its checks, `/kill`).
    let ingestAdminPort: Int
    let alertsAdminPort: Int
    /// Set: the services reach the broker over its TLS listener (`AMQPS_URL`), verifying it with these settings.
    var brokerTLS: AMQPConfiguration.TLS?

    static func environment(_ name: String) throws -> String {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
            throw StackError("\(name) is not set: run the integration tests through `make test`, which starts the local stack")
        }
        return v
    }

    struct StackError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Creates a database and names a queue for one test; generates a TLS certificate.
    static func make() throws -> TestStack {
        // Metric handles made before the backend is installed count into nothing (services make theirs when built).
        _ = PrometheusSetup.registry
        let amqp = try environment("AMQP_URL")
        let admin = try environment("DATABASE_URL")
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let database = "t_\(suffix)"
        let c = try SQLConnection(admin)
        try c.execute("CREATE DATABASE \(database)")
        let url = replacingDatabase(in: admin, with: database)
        // As `pipeline migrate` does in a deployment: the owner applies the schema and grants each
        // service's role (made by scripts/stack.sh) its privileges; the services then connect as those roles.
        let owner = try SQLConnection(url)
        try Schema.migrate(owner, force: true)
        for role in ServiceRole.allCases { try Schema.grant(role, to: Self.roleName(role), on: owner) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-test-\(suffix)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (cert, key) = try makeCertificate(in: dir)
        return TestStack(
            amqpURL: amqp, databaseURL: url, adminURL: admin, queue: "readings-\(suffix)", database: database,
            certificate: cert, key: key, httpPort: try freePort(), tcpPort: try freePort(), alertsPort: try freePort(),
            analyzerPort: try freePort(), ingestAdminPort: try freePort(), alertsAdminPort: try freePort())
    }

    /// The local stack's login role of a service.
    static func roleName(_ role: ServiceRole) -> String { "pipeline_\(role.rawValue)" }

    /// This test's database as the service's role sees it.
    func databaseURL(as role: ServiceRole) -> String {
        databaseURL.replacingOccurrences(of: "://postgres@", with: "://\(Self.roleName(role))@")
    }

    static func replacingDatabase(in url: String, with name: String) -> String {
        guard let slash = url.range(of: "/", options: .backwards, range: url.range(of: "://")!.upperBound..<url.endIndex)
        else { return url + "/" + name }
        let rest = url[slash.upperBound...]
        let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        return String(url[..<slash.upperBound]) + name + query
    }

    static func makeCertificate(in dir: String, name: String = "cert") throws -> (String, String) {
        let cert = dir + "/\(name).pem"
        let key = dir + "/\(name)-key.pem"
        let (status, output) = try run(root + "/scripts/certificate.sh", ["self-signed", cert, key], withErrors: true)
        guard status == 0 else { throw StackError("scripts/certificate.sh failed: \(output)") }
        return (cert, key)
    }

    static func freePort() throws -> Int { try FreePort.pick() }

    /// The broker as the test harness uses it: as guest, the local administrator.
    var amqp: AMQPConfiguration {
        guard let brokerTLS else { return AMQPConfiguration(urls: AMQPConfiguration.urls(from: amqpURL), queue: queue) }
        var c = AMQPConfiguration(urls: [(try? Self.environment("AMQPS_URL")) ?? "amqps://unset"], queue: queue)
        c.tls = brokerTLS
        return c
    }

    /// The broker as a service's own user sees it (scripts/stack.sh makes them; they may not
    /// declare), with this test's topology declared first by the administrator, as
    /// `pipeline migrate --with-broker` does in a deployment.
    func amqp(as role: ServiceRole) throws -> AMQPConfiguration {
        guard brokerTLS == nil else { return amqp }
        try AMQPTopology.declare(amqp)
        var c = amqp
        c.urls = [try Self.environment(role == .ingest ? "AMQP_INGEST_URL" : "AMQP_ANALYZER_URL")]
        return c
    }

    static var logger: Logger {
        var l = Logger(label: "test")
        l.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return l
    }

    /// The signing secret of device tokens in tests.
    static let secret = DeviceTokenSecret("integration-test-secret-0123456789")!

    func ingest(
        tls: Bool = true, auth: Bool = false, rateLimit: (rate: Double, burst: Double)? = (50, 1000),
        idleTimeout: Duration = .seconds(120), certificate: (path: String, key: String)? = nil,
        guards: IngestConfiguration.Guards = .init()
    ) throws -> IngestService {
        try IngestService(
            configuration: .init(
                host: "127.0.0.1", httpPort: httpPort, tcpPort: tcpPort, adminPort: ingestAdminPort, amqp: try amqp(as: .ingest),
                tlsCertificatePath: tls ? certificate?.path ?? self.certificate : nil,
                tlsKeyPath: tls ? certificate?.key ?? key : nil, confirmTimeout: .seconds(3),
                auth: auth ? .init(secret: Self.secret, databaseURL: databaseURL(as: .ingest), refreshInterval: .seconds(1)) : nil,
                rateLimit: rateLimit,
                idleTimeout: idleTimeout, tlsReloadInterval: .seconds(1), guards: guards),
            logger: Self.logger)
    }

    /// Issues a token the way `pipeline token issue` does.
    func issueToken(_ deviceID: String) throws -> String {
        let db = try db()
        try Schema.migrate(db)
        return DeviceToken(deviceID: deviceID, generation: try DeviceTokenStore.issue(deviceID, on: db)).string(secret: Self.secret)
    }

    func revokeToken(_ deviceID: String) throws {
        try DeviceTokenStore.revoke(deviceID, on: try db())
    }

    /// Makes the test database refuse (or accept again) every new connection, superusers included.
    func setDatabase(allowConnections: Bool) throws {
        let admin = try SQLConnection(adminURL)
        try admin.execute("ALTER DATABASE \(database) ALLOW_CONNECTIONS \(allowConnections)")
        if !allowConnections {
            try admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [database])
        }
    }

    /// Runs a program to its end (ChaosKit's `Command`); returns its exit status and standard output
    /// (followed by its standard error with `withErrors`; dropped otherwise).
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, withErrors: Bool = false
    ) throws -> (status: Int32, output: String) {
        let outcome = try Command.waitingForOutcome(executable, arguments, environment: environment, timeout: .seconds(300))
        return (outcome.status, withErrors ? outcome.stdout + outcome.stderr : outcome.stdout)
    }

    /// Starts `pipeline ARGS` as a process of its own (ChaosKit's `ManagedProcess`), its output in a log file.
    static func launch(_ arguments: [String], environment: [String: String]) throws -> ManagedProcess {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString.prefix(8)).log").path
        return try ManagedProcess(
            name: "pipeline \(arguments.first ?? "")", executable: pipelineBinary, arguments: arguments, environment: environment, log: log)
    }

    /// Runs `scripts/stack.sh ARGS` against the test stack (STACK_DIR from `make test`); returns its output.
    @discardableResult
    func stackctl(_ args: String...) throws -> String { try stackctl(args) }

    @discardableResult
    func stackctl(_ args: [String]) throws -> String {
        let (status, output) = try Self.run(Self.root + "/scripts/stack.sh", args)
        guard status == 0 else { throw StackError("scripts/stack.sh \(args.joined(separator: " ")) failed") }
        return output
    }

    /// The package root, found from this file's path.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `scripts/rabbitmq.sh`: the broker of the stack, and of the clusters the chaos tests start.
    static var rabbitmqScript: String { root + "/scripts/rabbitmq.sh" }

    /// The built `pipeline` executable (make test builds it before the tests).
    static var pipelineBinary: String {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pipeline").path
        return FileManager.default.isExecutableFile(atPath: bin) ? bin : root + "/.build/debug/pipeline"
    }

    func analyzer(port: Int? = nil, batchSize: Int = 500) throws -> AnalyzerService {
        AnalyzerService(
            configuration: .init(amqp: try amqp(as: .analyzer), databaseURL: databaseURL(as: .analyzer), batchSize: batchSize),
            host: "127.0.0.1",
            port: port ?? analyzerPort, logger: Self.logger)
    }

    /// The alerts service; the tests of its queries run with reader keys off,
    /// ReaderKeyTests and the page test with them on, as deployed.
    func alerts(readerKeys: Bool = false) -> AlertsService {
        AlertsService(
            configuration: .init(
                host: "127.0.0.1", port: alertsPort, adminPort: alertsAdminPort, databaseURL: databaseURL(as: .alerts),
                readerKeys: readerKeys),
            logger: Self.logger)
    }

    /// Issues a reader key the way `pipeline reader issue` does.
    func issueReaderKey(_ name: String, scope: ReaderScope = .all) throws -> String {
        let key = ReaderKey.generate()
        try ReaderKeyStore.issue(name: name, keyHash: ReaderKey.hash(key), scope: scope, replace: true, on: try db())
        return key
    }

    /// Runs `body` while the given services run; shuts them down gracefully afterwards.
    /// Runs `services` and, once `ingest`'s publisher is connected, `body`.
    func running<T>(_ services: [any Service], ready ingest: IngestService, _ body: () async throws -> T) async throws -> T {
        try await running(services) {
            try await eventually("ingest ready") { ingest.publisher.isConnected }
            return try await body()
        }
    }

    func running<T>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
        _ = PrometheusSetup.registry
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: Self.logger))
        let task = Task { try await group.run() }
        do {
            let value = try await body()
            await group.triggerGracefulShutdown()
            try await task.value
            return value
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            throw error
        }
    }

    /// Waits until `condition` holds, polling; fails the test after `timeout`.
    func eventually(
        _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw StackError("timed out waiting for: \(what)")
    }

    func db() throws -> SQLConnection { try SQLConnection(databaseURL) }

    /// Takes messages off the readings queue (or its dead-letter queue), acknowledging
    /// each, until `enough` holds for those taken or 20 s passed.
    func takeMessages(deadLetters: Bool = false, until enough: @escaping @Sendable ([Delivery]) -> Bool) async throws -> [Delivery] {
        try await blocking { [amqp] in
            let consumer = AMQPConsumer(configuration: amqp, prefetch: 1000, deadLetters: deadLetters)
            try consumer.connect()
            defer { consumer.disconnect() }
            var found: [Delivery] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while !enough(found), ContinuousClock.now < deadline {
                guard let d = try consumer.next(timeout: .milliseconds(200)) else { continue }
                found.append(d)
                try consumer.ack(d.tag, multiple: false)
            }
            return found
        }
    }

    func count(_ sql: String, _ params: [String?] = []) throws -> Int {
        let value = try db().execute(sql, params).rows.first?.first ?? nil
        return Int(value ?? "0") ?? 0
    }

    func tlsContext() throws -> NIOSSLContext {
        var c = TLSConfiguration.makeClientConfiguration()
        c.trustRoots = .file(certificate)
        return try NIOSSLContext(configuration: c)
    }

    func https() async throws -> HTTPConnection {
        try await HTTPConnection.connect(host: "localhost", port: httpPort, tls: tlsContext())
    }

    func tcp() async throws -> LineConnection {
        try await LineConnection.connect(host: "127.0.0.1", port: tcpPort, tls: tlsContext())
    }

    /// Connects to the alerts service, waiting for it to listen (it starts with `running`).
    func alertsClient() async throws -> HTTPConnection { try await client(port: alertsPort) }

    /// Connects over plain HTTP to a port of a service started with `running`, waiting for it to listen.
    func client(port: Int) async throws -> HTTPConnection {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                return try await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil)
            } catch where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    func dropDatabase() {
        guard let c = try? SQLConnection(adminURL) else { return }
        _ = try? c.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }
}

/// Reads the analyzer's `/readyz` status.
enum HTTPConnectionForAnalyzer {
    static func readyz(port: Int) async throws -> Int {
        let c = try await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil)
        defer { Task { await c.close() } }
        return try await c.request(.GET, "/readyz").status
    }
}
