import AMQPClient
import ChaosKit
import DeviceAuth
import Foundation
import Logging
import PipelineCore
import SQL
import SimulatorKit
import Storage

/// The whole pipeline on this machine: ingest, analyzer and alerts as processes
/// of their own, the broker and the database, and a simulated fleet (10,000
/// devices by default, each with its own TCP connection and token) in this
/// process. The offered rate climbs step by step; a step is sustained when every
/// reading was acknowledged (no failures), the p99 ack latency stayed within
/// 100 ms, at least 95 % of the offered rate was acknowledged, and the readings
/// were committed to the database within 2 s of being measured (p99 of
/// `stored_at − ts`). A step that is not is measured once more; the ramp stops
/// at the first step that fails twice.
enum EndToEndBench {
    struct Step {
        var offered: Double
        var ackedPerSecond = 0.0
        var ackP99Ms: Double?
        var failed = 0
        var retries = 0
        var stored = 0
        var acked = 0
        var storedP99Ms: Double?
        var connectedAtIngest: Int?
        var memoryMiB: [String: Double] = [:]
        /// Share of one core each service used during the step.
        var cpuPercent: [String: Double] = [:]
        /// CPU microseconds each process spent per reading acknowledged in the step.
        var cpuMicrosPerReading: [String: Double] = [:]
        /// Readings per broker message ingest published in the step.
        var readingsPerMessage: Double?
        var problems: [String] = []

        /// Every service's CPU per reading together, the broker and the database included, the load generator apart.
        var pipelineMicrosPerReading: Double? {
            let services = cpuMicrosPerReading.filter { $0.key != "simulator" }
            return services.isEmpty ? nil : services.values.reduce(0, +)
        }

        var sustained: Bool { problems.isEmpty }
    }

    struct Figures {
        var packing = true
        var devices = 0
        var steps: [Step] = []
        var best: Step? { steps.last(where: \.sustained) }
    }

    /// The offered rates, readings/s; `BENCH_E2E_RATES=3000,3500` replaces them (to hold one rate while profiling).
    static let rates: [Double] = {
        let custom = (ProcessInfo.processInfo.environment["BENCH_E2E_RATES"] ?? "").split(separator: ",").compactMap { Double($0) }.filter { $0 > 0 }
        return custom.isEmpty ? [1000, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 6000, 7000, 8000, 10000, 12000, 16000, 20000] : custom
    }()

    static func run(
        amqpURL: String, adminURL: String, binDir: String, stackDir: String, tag: String, devices: Int, seconds: Double,
        packing: Bool, logger: Logger
    ) async throws -> Figures {
        let database = try BenchDatabase(adminURL: adminURL, name: "bench_e2e_\(tag)")
        defer { database.drop() }
        let databaseURL = database.url
        let db = try SQLConnection(databaseURL)
        try Schema.migrate(db)

        let prefix = "e2e-\(tag)-"
        let secretText = "bench-e2e-secret-0123456789abcdef"
        let secret = DeviceTokenSecret(secretText)!
        var configuration = SimulatorConfiguration(
            devices: devices, interval: .seconds(devices) / rates[0], targets: [], duration: nil, anomalyRate: 0.01, seed: 1,
            devicePrefix: prefix, seqStart: 1, keepsAckedPairs: false)
        try db.execute("BEGIN")
        for i in 0..<devices {
            let id = configuration.deviceID(i)
            configuration.tokens[id] = DeviceToken(deviceID: id, generation: try DeviceTokenStore.issue(id, on: db)).string(secret: secret)
        }
        try db.execute("COMMIT")

        let queue = "bench-e2e-\(tag)"
        defer { RawConfirmBench.deleteQueues(url: amqpURL, [queue, queue + ".dead"]) }
        let ports = (http: 21000 + Int.random(in: 0..<4000), tcp: 25000 + Int.random(in: 0..<4000))
        let analyzerPort = ports.http + 1, alertsPort = ports.http + 2
        // The admin listeners: /readyz, /metrics.
        let ingestAdmin = try FreePort.pick(), alertsAdmin = try FreePort.pick()
        let environment = [
            "AMQP_URL": amqpURL, "AMQP_QUEUE": queue, "DATABASE_URL": databaseURL, "DEVICE_TOKEN_SECRET": secretText,
            "LISTEN_HOST": "127.0.0.1", "INGEST_HTTP_PORT": "\(ports.http)", "INGEST_TCP_PORT": "\(ports.tcp)",
            "INGEST_ADMIN_PORT": "\(ingestAdmin)", "ANALYZER_PORT": "\(analyzerPort)", "ALERTS_PORT": "\(alertsPort)",
            "ALERTS_ADMIN_PORT": "\(alertsAdmin)", "LOG_LEVEL": "warning", "AMQP_PACKING": packing ? "on" : "off",
        ]
        var children: [ManagedProcess] = []
        defer { for c in children { kill(c.pid, SIGKILL) } }  // only reached on errors: normal runs stop them below
        for service in ["ingest", "analyzer", "alerts"] {
            children.append(
                try ManagedProcess(
                    name: service, executable: "\(binDir)/pipeline", arguments: [service],
                    environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                    log: "\(stackDir)/e2e-\(service).log"))
        }
        for port in [ingestAdmin, analyzerPort, alertsAdmin] {
            guard try await ServiceProbe.waitUntilReady(port: port) else {
                throw BenchError("not ready within 60 s: service on port \(port) (logs: \(stackDir)/e2e-*.log)")
            }
        }

        configuration.targets = [Target(kind: .tcp, host: "127.0.0.1", port: ports.tcp)]
        let simulator = try Simulator(configuration: configuration, logger: logger)
        let run = Task { await simulator.run() }
        var figures = Figures(packing: packing, devices: devices)
        var interval = configuration.interval
        for rate in rates {
            let next = Duration.seconds(devices) / rate
            simulator.setInterval(next)
            // Devices pick the new interval up at their next reading: wait one old interval and a bit.
            try await Task.sleep(for: interval + .seconds(2))
            interval = next
            // A step that fails is measured once more at the same rate: on two shared cores one
            // stall can spoil a window. Both tries are kept; the second decides.
            var step = Step(offered: rate)
            for attempt in 1...2 {
                let before = simulator.status()
                let publishedBefore = try? await published(port: ingestAdmin)
                let cpuBefore = cpu(children: children, stackDir: stackDir)
                let from = Date()
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                let window = simulator.status()
                let until = Date()
                let cpuAfter = cpu(children: children, stackDir: stackDir)
                let publishedAfter = try? await published(port: ingestAdmin)
                step = Step(offered: rate)
                step.ackedPerSecond = window.ackedPerSecond
                step.ackP99Ms = window.p99Ms
                step.failed = window.failed - before.failed
                step.retries = window.retries - before.retries
                step.acked = window.acked - before.acked
                step.connectedAtIngest = try? await ingestConnections(port: ingestAdmin)
                step.memoryMiB = memory(children: children, stackDir: stackDir)
                for (name, seconds) in cpuAfter {
                    if let start = cpuBefore[name] {
                        step.cpuPercent[name] = ((seconds - start) / until.timeIntervalSince(from) * 100).rounded()
                        if step.acked > 0 { step.cpuMicrosPerReading[name] = ((seconds - start) / Double(step.acked) * 1e7).rounded() / 10 }
                    }
                }
                if let a = publishedAfter, let b = publishedBefore, a.messages > b.messages {
                    step.readingsPerMessage = (a.readings - b.readings) / (a.messages - b.messages)
                }
                // Readings measured in the window: how many are stored, and how long after measurement.
                try await Task.sleep(for: .seconds(2.5))
                let row = try db.execute(
                    """
                    SELECT count(*), percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - ts) * 1000)
                    FROM readings WHERE ts >= $1::TIMESTAMPTZ AND ts < $2::TIMESTAMPTZ
                    """, [iso(from), iso(until)]
                ).rows.first
                step.stored = row.flatMap { $0[0] }.flatMap { Int($0) } ?? 0
                step.storedP99Ms = row.flatMap { $0[1] }.flatMap { Double($0) }
                if step.failed > 0 { step.problems.append("\(step.failed) readings failed") }
                if (step.ackP99Ms ?? .infinity) > 100 { step.problems.append("p99 ack latency over 100 ms") }
                if step.ackedPerSecond < 0.95 * rate { step.problems.append("acknowledged less than 95 % of the offered rate") }
                if (step.storedP99Ms ?? .infinity) > 2000 { step.problems.append("p99 measured-to-committed over 2 s") }
                if Double(step.stored) < 0.98 * Double(step.acked) { step.problems.append("the database fell behind") }
                let verdict = step.sustained ? "sustained" : step.problems.joined(separator: "; ")
                FileHandle.standardError.write(
                    Data(
                        String(
                            format:
                                "bench: e2e%@ %5.0f/s offered: %5.0f acked/s, p99 ack %.1f ms, stored p99 %.0f ms, %d connected, %.1f readings/message, CPU %% %@, µs/reading %@ — %@\n",
                            packing ? "" : " (unpacked)", rate, step.ackedPerSecond, step.ackP99Ms ?? .nan, step.storedP99Ms ?? .nan,
                            step.connectedAtIngest ?? -1, step.readingsPerMessage ?? .nan,
                            step.cpuPercent.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value))" }.joined(separator: ", "),
                            step.cpuMicrosPerReading.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value.rounded()))" }
                                .joined(separator: ", "),
                            verdict
                        ).utf8))
                figures.steps.append(step)
                if step.sustained || attempt == 2 { break }
            }
            if !step.sustained { break }
        }
        run.cancel()
        _ = await run.value
        for c in children.reversed() { await c.stop() }
        children = []
        return figures
    }

    static func iso(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }

    /// Ingest's own count of open device connections (its `ingest_tcp_connections` gauge).
    static func ingestConnections(port: Int) async throws -> Int? {
        ServiceProbe.sum(of: "ingest_tcp_connections", in: try await metricsText(port: port)).map { Int($0) }
    }

    /// `/metrics` of the admin listener on `port`.
    static func metricsText(port: Int) async throws -> String {
        let c = try await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil)
        defer { Task { await c.close() } }
        return try await c.request(.GET, "/metrics", timeout: .seconds(5)).body
    }

    /// Ingest's count of readings and broker messages published so far.
    static func published(port: Int) async throws -> (readings: Double, messages: Double) {
        let text = try await metricsText(port: port)
        return (
            ServiceProbe.sum(of: "amqp_readings_published_total", in: text) ?? 0,
            ServiceProbe.sum(of: "amqp_messages_published_total", in: text) ?? 0
        )
    }

    /// CPU seconds used so far by each service.
    static func cpu(children: [ManagedProcess], stackDir: String) -> [String: Double] {
        perService(children: children, stackDir: stackDir, { ProcessStats.cpuSeconds($0) }, tree: { ProcessStats.cpuSeconds($0, tree: true) })
    }

    /// Resident memory of each service, MiB.
    static func memory(children: [ManagedProcess], stackDir: String) -> [String: Double] {
        perService(children: children, stackDir: stackDir, ProcessStats.rssMiB, tree: ProcessStats.treePssMiB)
            .mapValues { ($0 * 10).rounded() / 10 }
    }

    /// One figure per service: the services this bench started, itself (the simulator), RabbitMQ's VM
    /// and PostgreSQL with its backends (`tree`).
    static func perService(
        children: [ManagedProcess], stackDir: String, _ single: (Int32) -> Double?, tree: (Int32) -> Double?
    ) -> [String: Double] {
        var out: [String: Double] = [:]
        for c in children { out[c.name] = single(c.pid) }
        out["simulator"] = single(getpid())
        if let pid = ProcessStats.pid(fromFile: "\(stackDir)/rabbit/rabbit.pid") { out["rabbitmq"] = single(pid) }
        if let pid = ProcessStats.pid(fromFile: "\(stackDir)/pg/data/postmaster.pid") { out["postgresql"] = tree(pid) }
        return out
    }
}
