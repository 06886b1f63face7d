import DeviceAuth
import Foundation
package import Logging
import SQL
import SimulatorKit
import Storage

/// One `make chaos` run: a 3-node RabbitMQ cluster, PostgreSQL, two ingest and
/// two analyzer processes and alerts, all started here and owned by PID; a
/// simulated fleet against both ingest processes over TCP+TLS and HTTPS; the
/// faults of the schedule one after another, each with evidence that it took
/// effect; then, once the queue is drained, every acknowledged reading looked
/// up in the database. Everything it started is stopped again, also on errors
/// and cancellation (Ctrl-C). Its state is set and read by the one task that
/// runs it (and, after it, the cleanup), hence unchecked.
package final class ChaosRun: @unchecked Sendable {
    let configuration: ChaosConfiguration
    let logger: Logger
    let tag = String(UUID().uuidString.prefix(6)).lowercased()
    let queue = "readings"

    // Set up by `run`, in this order.
    var postgres: PostgresServer?
    var cluster: RabbitCluster?
    var fleet: PipelineFleet?
    var simulator: Simulator?
    var databaseURL = ""

    package init(configuration: ChaosConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the schedule and returns the report (`passed` says whether anything was lost).
    /// Throws when the run could not be carried out at all (a service that never became ready).
    package func run() async throws -> ChaosReport {
        let result: Result<ChaosReport, any Error>
        do {
            result = .success(try await runSchedule())
        } catch {
            result = .failure(error)
        }
        // Cleanup must finish even when this task was cancelled: run it in a task of its own.
        let left = await Task { await self.stopEverything() }.value
        if case .failure = result, !left.isEmpty {
            logger.error("still running after the stop: \(left.joined(separator: ", "))")
        }
        var report = try result.get()
        report.leftRunning = left
        if !left.isEmpty { report.problems.append("processes still running after the stop: \(left.joined(separator: ", "))") }
        return report
    }

    private func runSchedule() async throws -> ChaosReport {
        let c = configuration
        let directory = c.directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let (certificate, key) = try await makeCertificate(in: directory)

        logger.info("starting PostgreSQL")
        let postgres = try PostgresServer(directory: "\(directory)/pg", script: "\(c.scripts)/postgres.sh")
        self.postgres = postgres
        try await postgres.start()
        try SQLConnection(postgres.url()).execute("CREATE DATABASE pipeline")
        databaseURL = postgres.url(database: "pipeline")
        try await Command.run(c.pipelineBinary, ["migrate"], environment: ["DATABASE_URL": databaseURL, "PATH": "/usr/bin:/bin"])

        let secret = "chaos-\(UUID().uuidString)"
        var simulatorConfiguration = SimulatorConfiguration(
            devices: c.devices, interval: c.interval, targets: [], duration: nil, seed: 7, devicePrefix: "chaos-",
            seqStart: Int64(Date().timeIntervalSince1970 * 1000), caFile: certificate)
        simulatorConfiguration.tokens = try issueTokens(for: simulatorConfiguration, secret: secret)

        logger.info("starting a 3-node RabbitMQ cluster")
        let cluster = try RabbitCluster(
            directory: "\(directory)/rabbit", count: 3, tag: tag, script: "\(c.scripts)/rabbitmq.sh", settings: c.brokerSettings)
        self.cluster = cluster
        try await cluster.start()

        let fleet = try makeFleet(cluster: cluster, secret: secret, certificate: certificate, key: key)
        self.fleet = fleet
        logger.info("starting two ingest, two analyzers and alerts")
        for service in fleet.services { try await fleet.start(service.name) }
        for service in fleet.services { try await fleet.waitUntilReady(service.name) }

        var targets: [Target] = []
        for name in ["ingest-1", "ingest-2"] {
            let s = fleet.service(name)
            targets.append(Target(kind: .tls, host: "127.0.0.1", port: s.tcpPort!))
            targets.append(Target(kind: .https, host: "127.0.0.1", port: s.httpsPort!))
        }
        // Neighbouring devices start on different processes and transports, and a device's next
        // target (where it retries) is always on the other process, as behind a load balancer.
        simulatorConfiguration.targets = [targets[0], targets[3], targets[1], targets[2]]
        guard FileManager.default.createFile(atPath: "\(directory)/simulator.log", contents: nil) else {
            throw ChaosError("cannot create \(directory)/simulator.log")
        }
        let simulatorLog = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/simulator.log"))
        let simulator = try Simulator(
            configuration: simulatorConfiguration, logger: Logger(label: "simulator") { FileLogHandler(label: $0, file: simulatorLog) })
        self.simulator = simulator
        logger.info("\(c.devices) devices start, one reading every \(c.interval) each")
        let devices = Task { await simulator.run() }
        defer { devices.cancel() }

        try await Task.sleep(for: c.warmup)
        var records: [FaultRecord] = []
        var problems: [String] = []
        for (n, fault) in c.faults.enumerated() {
            problems += fleet.unexpectedExits()
            let before = simulator.status()
            logger.info(
                "fault \(n + 1) of \(c.faults.count): \(fault.rawValue) (so far \(before.acked) acked, \(before.retries) retries, \(before.failed) failed)")
            var record = FaultRecord(fault: fault, target: "", at: seconds(before.elapsed))
            try await inject(fault, into: &record)
            record.recoveredAt = seconds(simulator.status().elapsed)
            for e in record.evidence { logger.info("  \(e)") }
            try await Task.sleep(for: c.settle)
            let after = simulator.status()
            record.retries = after.retries - before.retries
            record.failed = after.failed - before.failed
            records.append(record)
        }
        problems += fleet.unexpectedExits()

        logger.info("devices stop; waiting for the readings in flight")
        devices.cancel()
        let run = await devices.value
        var report = ChaosReport(
            devices: c.devices, intervalMs: Int(c.interval / .milliseconds(1)), targets: simulatorConfiguration.targets.map(\.description),
            startedAt: run.startedAt, seconds: run.finishedAt.timeIntervalSince(run.startedAt),
            gapThresholdMs: Int64(simulator.gapThreshold / .milliseconds(1)))
        report.broker = "RabbitMQ \(cluster.running)"
        report.brokerSettings = cluster.settings
        report.faults = Self.attributeGaps(run.ackGaps, to: records, deviceID: simulatorConfiguration.deviceID)
        report.sent = run.sent
        report.acked = run.acked
        report.failed = run.failed
        report.retries = run.retries
        report.ackP50Ms = run.latencyMs["p50"]
        report.ackP99Ms = run.latencyMs["p99"]
        try await verify(run, into: &report)
        problems += fleet.unexpectedExits()

        problems += records.filter { !$0.tookEffect }.map { "\($0.fault.rawValue) did not take effect (see its evidence)" }
        if report.acked == 0 { problems.append("no reading was acknowledged") }
        if report.missing > 0 { problems.append("\(report.missing) acknowledged readings are not in the database") }
        if report.duplicates > 0 { problems.append("\(report.duplicates) duplicate rows") }
        // The devices send only valid readings: a dead letter means a fault was mistaken for bad data.
        if report.deadLettered > 0 { problems.append("\(report.deadLettered) readings dead-lettered") }
        report.problems += problems
        return report
    }

    /// Seconds since the devices started.
    func seconds(_ d: Duration) -> Double { Double(d / .milliseconds(1)) / 1000 }

    /// Each fault's window runs from its start to the next fault's start (the last one to the
    /// end of the run); a gap counts for the window in which it ended: the fault that began last
    /// before the device got its ack back. (Counted for every window it overlapped, a pause's gap
    /// that began a moment before the pause was also reported for the fault before it.)
    static func attributeGaps(_ ackGaps: [AckGap], to records: [FaultRecord], deviceID: (Int) -> String) -> [FaultRecord] {
        var out = records
        for i in out.indices {
            let from = Int64(out[i].at * 1000)
            let to = i + 1 < out.count ? Int64(out[i + 1].at * 1000) : Int64.max
            let gaps = ackGaps.filter { $0.toMs > from && $0.toMs <= to }
            out[i].devicesWithGaps = Set(gaps.map(\.device)).count
            if let longest = gaps.max(by: { $0.ms < $1.ms }) {
                out[i].longestGapMs = longest.ms
                out[i].longestGapDevice = deviceID(longest.device)
            }
        }
        return out
    }

    /// Stops the devices and every process this run started, by PID; returns those still alive after.
    func stopEverything() async -> [String] {
        var pids: [(String, Int32)] = []
        if let fleet {
            pids += fleet.running.map { ($0.name, $0.pid) }
            await fleet.stopAll()
        }
        if let cluster {
            pids += cluster.nodes.compactMap { node in cluster.vmPID(node.index).map { ("rabbit node \(node.index)", $0) } }
            pids += cluster.processes.map { ($0.name, $0.pid) }
            await cluster.stop()
        }
        if let postgres {
            if let pid = postgres.pid { pids.append(("postgresql", pid)) }
            if let pid = postgres.launchedPID, pid != postgres.pid { pids.append(("postgresql (scripts/postgres.sh)", pid)) }
            await postgres.stop()
        }
        return pids.filter { RabbitCluster.isAlive($0.1) }.map { "\($0.0) (PID \($0.1))" }
    }

    private func makeFleet(cluster: RabbitCluster, secret: String, certificate: String, key: String) throws -> PipelineFleet {
        let urls = cluster.nodes.map { "amqp://guest:guest@127.0.0.1:\($0.amqpPort)/%2f" }
        var services: [PipelineFleet.Service] = []
        // Each process lists the nodes starting at a different one, so connections spread over the cluster.
        for (i, (name, command)) in [
            ("ingest-1", "ingest"), ("ingest-2", "ingest"), ("analyzer-1", "analyzer"), ("analyzer-2", "analyzer"), ("alerts", "alerts"),
        ].enumerated() {
            let adminPort = try FreePort.pick()
            var environment = [
                "AMQP_URL": (urls[(i % urls.count)...] + urls[..<(i % urls.count)]).joined(separator: ","),
                "DATABASE_URL": databaseURL, "DEVICE_TOKEN_SECRET": secret, "LISTEN_HOST": "127.0.0.1", "LOG_LEVEL": "info",
                "KILL_ENABLED": "1",
            ]
            var tcpPort: Int?
            var httpsPort: Int?
            switch command {
            case "ingest":
                tcpPort = try FreePort.pick()
                httpsPort = try FreePort.pick()
                environment.merge([
                    "INGEST_HTTP_PORT": "\(httpsPort!)", "INGEST_TCP_PORT": "\(tcpPort!)", "INGEST_ADMIN_PORT": "\(adminPort)",
                    "TLS_CERT": certificate, "TLS_KEY": key,
                ]) { $1 }
            case "analyzer": environment["ANALYZER_PORT"] = "\(adminPort)"
            default:
                environment["ALERTS_PORT"] = "\(try FreePort.pick())"
                environment["ALERTS_ADMIN_PORT"] = "\(adminPort)"
            }
            services.append(
                .init(name: name, command: command, adminPort: adminPort, httpsPort: httpsPort, tcpPort: tcpPort, environment: environment))
        }
        return PipelineFleet(services: services, binary: configuration.pipelineBinary, logDirectory: configuration.directory)
    }

    /// Every device's token, its generation registered in the database as `pipeline token issue` does.
    private func issueTokens(for fleet: SimulatorConfiguration, secret: String) throws -> [String: String] {
        let key = DeviceTokenSecret(secret)!
        let db = try SQLConnection(databaseURL)
        return try db.transaction { db in
            var tokens: [String: String] = [:]
            for id in (0..<fleet.devices).map(fleet.deviceID) { tokens[id] = DeviceToken(deviceID: id, generation: try DeviceTokenStore.issue(id, on: db)).string(secret: key) }
            return tokens
        }
    }

    private func makeCertificate(in directory: String) async throws -> (String, String) {
        let cert = "\(directory)/cert.pem", key = "\(directory)/key.pem"
        try await Command.run("\(configuration.scripts)/certificate.sh", ["self-signed", cert, key])
        return (cert, key)
    }
}
