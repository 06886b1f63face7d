import ArgumentParser
import ChaosKit
import EnvironmentVariables
import Foundation
import Logging

/// `make chaos`: the pipeline under faults, and proof that no acknowledged reading was lost.
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Run the pipeline on a 3-node RabbitMQ cluster under faults; fail if an acknowledged reading is lost or duplicated.",
        discussion: """
            Starts, on loopback and in a temp dir: a 3-node RabbitMQ cluster, PostgreSQL, two ingest and two
            analyzer processes, alerts, and simulated devices against both ingest processes over TCP+TLS and
            HTTPS. Then injects the faults one after another (each with evidence that it took effect), stops
            the devices, waits for the queue to drain and compares every acknowledged reading with the
            database. Prints the report, writes it as JSON, exits 0 when nothing was lost or duplicated and
            every fault took effect, 1 otherwise, 2 when the run could not be carried out. Every process it
            started is stopped by its PID at the end, also on Ctrl-C.

            Faults: \(ChaosFault.allCases.map(\.rawValue).joined(separator: ", ")).
            """)

    @Option(help: "Devices (env: CHAOS_DEVICES).")
    var devices: Int = Env.int("CHAOS_DEVICES") ?? 200

    @Option(help: "Seconds between readings of a device (env: CHAOS_INTERVAL).")
    var interval: Double = Env.double("CHAOS_INTERVAL") ?? 1

    @Option(help: "Comma-separated faults, in order (env: CHAOS_FAULTS); default: all.")
    var faults: String = Env.string("CHAOS_FAULTS") ?? ChaosFault.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Seconds of traffic before the first fault (env: CHAOS_WARMUP).")
    var warmup: Double = Env.double("CHAOS_WARMUP") ?? 20

    @Option(help: "Seconds between a fault's recovery and the next fault (env: CHAOS_SETTLE).")
    var settle: Double = Env.double("CHAOS_SETTLE") ?? 15

    @Option(help: "Seconds a killed process or node stays down (env: CHAOS_DOWNTIME).")
    var downtime: Double = Env.double("CHAOS_DOWNTIME") ?? 5

    @Option(help: "Seconds PostgreSQL stays stopped (env: CHAOS_DATABASE_OUTAGE).")
    var databaseOutage: Double = Env.double("CHAOS_DATABASE_OUTAGE") ?? 15

    @Option(help: "Seconds a RabbitMQ node stays frozen (env: CHAOS_PAUSE).")
    var pause: Double = Env.double("CHAOS_PAUSE") ?? 20

    @Option(help: "rabbitmq.conf lines every node runs with, separated by ';' (env: CHAOS_BROKER_SETTINGS); \"\" for RabbitMQ's defaults; default: what the manifests carry (4.x: net_ticktime = 10; 3.x: also cluster_partition_handling = autoheal).")
    var brokerSettings: String?

    @Flag(help: "The short run of `make test`: 50 devices every 0.5 s; ingest, analyzer, leader and database faults (the options above are then ignored).")
    var short = false

    @Option(help: "The pipeline executable (env: PIPELINE_BIN); default: next to this one.")
    var pipeline: String = Env.string("PIPELINE_BIN") ?? ""

    @Option(help: "The checkout's scripts/ directory, whose rabbitmq.sh and postgres.sh run the cluster's nodes and the database (env: CHAOS_SCRIPTS); default: the one of the checkout this executable was built in.")
    var scripts: String = Env.string("CHAOS_SCRIPTS") ?? ""

    @Option(help: "Work directory for the cluster, the database and every log (env: CHAOS_DIR); default: a new temp dir.")
    var directory: String = Env.string("CHAOS_DIR") ?? ""

    @Option(help: "Write the JSON report here (env: CHAOS_REPORT).")
    var report: String = Env.string("CHAOS_REPORT") ?? "chaos-report.json"

    @Flag(help: "Keep the work directory when the run passes (it is always kept when it fails).")
    var keep = false

    static func main() async { await mainRefusingUnparseableVariables() }

    func run() async throws {
        var logger = Logger(label: "chaos") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .info
        let binary = pipeline.isEmpty
            ? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pipeline").path : pipeline
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("no pipeline executable at \(binary) (build it, or pass --pipeline)")
        }
        let scripts = scripts.isEmpty ? Self.checkoutScripts() : scripts
        guard let scripts, Self.holdsScripts(scripts) else {
            throw ValidationError("no scripts/ with rabbitmq.sh and postgres.sh found (pass --scripts)")
        }
        let dir = directory.isEmpty ? FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-chaos-\(UUID().uuidString.prefix(8))").path : directory
        var c: ChaosConfiguration
        if short {
            c = .short(pipelineBinary: binary, scripts: scripts, directory: dir)
        } else {
            c = ChaosConfiguration(
                pipelineBinary: binary, scripts: scripts, directory: dir, devices: devices, interval: .seconds(interval), faults: try parsedFaults(),
                warmup: .seconds(warmup), settle: .seconds(settle), downtime: .seconds(downtime),
                databaseOutage: .seconds(databaseOutage), pause: .seconds(pause),
                brokerSettings: (brokerSettings ?? ProcessInfo.processInfo.environment["CHAOS_BROKER_SETTINGS"]).map { $0.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } })
        }
        guard c.devices > 0, c.interval >= .milliseconds(10) else { throw ValidationError("need at least one device and an interval of 0.01 s or more") }
        logger.info("work directory \(dir) (logs of every process)")

        let chaos = ChaosRun(configuration: c, logger: logger)
        let run = Task { try await chaos.run() }
        let signals = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                logger.warning("interrupted: stopping every process of the run")
                run.cancel()
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        let result: ChaosReport
        do {
            result = try await run.value
        } catch {
            logger.error("the chaos run could not be carried out: \(error); logs in \(dir)")
            throw ExitCode(2)
        }
        print(result.text)
        try result.json().write(to: URL(fileURLWithPath: report))
        logger.info("report written to \(report)")
        if result.passed && !keep { try? FileManager.default.removeItem(atPath: dir) } else { logger.info("logs kept in \(dir)") }
        if !result.passed { throw ExitCode(1) }
    }
}

extension ChaosCommand {
    /// The schedule; an unknown name or none is a usage error (exit 64), not a failed run (exit 1).
    func parsedFaults() throws -> [ChaosFault] {
        let list: [ChaosFault]
        do {
            list = try ChaosFault.list(faults)
        } catch {
            throw ValidationError("\(error)")
        }
        guard !list.isEmpty else { throw ValidationError("--faults names no fault") }
        return list
    }

    /// `scripts/` of the checkout whose `.build` holds this executable, if any.
    static func checkoutScripts() -> String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("scripts").path
            if holdsScripts(candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }

    static func holdsScripts(_ dir: String) -> Bool {
        ["rabbitmq.sh", "postgres.sh"].allSatisfy { FileManager.default.isExecutableFile(atPath: "\(dir)/\($0)") }
    }
}
