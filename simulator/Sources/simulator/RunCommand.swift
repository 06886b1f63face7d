import ArgumentParser
import EnvironmentVariables
import Foundation
import Logging
import SimulatorKit

/// Emulates a fleet of devices against the ingest endpoints and reports what it saw.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Emulate devices sending readings, with the contract's retry rule and injected anomalies.",
        discussion: """
            Every option can also be set by the environment variable named in its help. A reading that is not \
            acknowledged is retried after 1 s, 2 s … (at most 10 s), at most 10 times, rotating through the targets; \
            then it counts as failed. Injected anomalies: spikes, level shifts of 5–10 readings and sensor dropouts of \
            3–8 readings; --anomaly-rate is the chance that a reading starts one.
            """)

    @Option(help: "Number of devices, each with its own connection (env: SIM_DEVICES).")
    var devices: Int = Env.int("SIM_DEVICES") ?? 100

    @Option(help: "Seconds between readings of a device (env: SIM_INTERVAL).")
    var interval: Double = Env.double("SIM_INTERVAL") ?? 10

    @Option(help: "Comma-separated tcp://, tls://, http:// or https:// host:port targets (env: SIM_TARGETS).")
    var targets: String = Env.string("SIM_TARGETS") ?? "tcp://127.0.0.1:7070"

    @Option(help: "Seconds to produce readings; 0 runs until interrupted (env: SIM_DURATION).")
    var duration: Double = Env.double("SIM_DURATION") ?? 60

    @Option(help: "Probability that a reading starts an injected anomaly (env: SIM_ANOMALY_RATE).")
    var anomalyRate: Double = Env.double("SIM_ANOMALY_RATE") ?? 0.01

    @Option(help: "Signals: clean (bounded noise, one decimal) or realistic (heavy tails, whole numbers, motion artifacts, long shifts and drifts) (env: SIM_SIGNALS).")
    var signals: String = Env.string("SIM_SIGNALS") ?? SignalProfile.clean.rawValue

    @Option(help: "Random seed; the same seed gives the same signals and anomalies (env: SIM_SEED).")
    var seed: UInt64 = Env.uint64("SIM_SEED") ?? 1

    @Option(help: "Readings each device first uploads from before the start, one interval apart, so detection has history at once (env: SIM_HISTORY).")
    var history: Int = Env.int("SIM_HISTORY") ?? 0

    @Option(help: "Each reading goes up to this fraction of the interval early or late (env: SIM_JITTER).")
    var jitter: Double = Env.double("SIM_JITTER") ?? 0.1

    @Option(help: "Seconds to wait for a reply before the attempt counts as failed (env: SIM_REPLY_TIMEOUT).")
    var replyTimeout: Double = Env.double("SIM_REPLY_TIMEOUT") ?? 15

    @Option(help: "Live status: auto (a redrawn line on a terminal, a log line every 10 s otherwise), terminal, lines or off (env: SIM_STATUS).")
    var status: String = Env.string("SIM_STATUS") ?? "auto"

    @Option(help: "Device id prefix (env: SIM_DEVICE_PREFIX).")
    var devicePrefix: String = Env.string("SIM_DEVICE_PREFIX") ?? "dev-"

    @Option(help: "First seq of each device; default: the start time in milliseconds (env: SIM_SEQ_START).")
    var seqStart: Int64 = Env.int64("SIM_SEQ_START") ?? Int64(Date().timeIntervalSince1970 * 1000)

    @Option(help: "Write the JSON report here (env: SIM_REPORT).")
    var report: String = Env.string("SIM_REPORT") ?? ""

    @Option(help: "Write acknowledged (device_id,seq) pairs here as CSV instead of inline in the report.")
    var ackedFile: String = Env.string("SIM_ACKED_FILE") ?? ""

    @Option(help: "PEM CA certificate to trust for TLS targets (env: SIM_CA_FILE).")
    var caFile: String = Env.string("SIM_CA_FILE") ?? ""

    @Flag(help: "Do not verify TLS certificates (local experiments only).")
    var insecure = false

    @Option(help: "CSV file of `device_id,token` lines (from `pipeline token issue`) (env: SIM_TOKENS).")
    var tokens: String = Env.string("SIM_TOKENS") ?? ""

    @Flag(name: .customLong("print-device-ids"), help: "Print the device ids of this configuration, one per line, and exit (to issue their tokens).")
    var printDeviceIDs = false

    @Option(help: "Log level (env: LOG_LEVEL).")
    var logLevel: String = Env.string("LOG_LEVEL") ?? "info"

    func validate() throws {
        guard (1...1_000_000).contains(devices) else { throw ValidationError("--devices must be within 1...1000000") }
        guard interval >= 0.001 else { throw ValidationError("--interval must be at least 0.001 (seconds)") }
        guard SignalProfile(rawValue: signals) != nil else {
            throw ValidationError("--signals must be one of \(SignalProfile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (0...1).contains(anomalyRate) else { throw ValidationError("--anomaly-rate must be within 0...1") }
        guard duration >= 0 else { throw ValidationError("--duration must not be negative") }
        guard history >= 0 else { throw ValidationError("--history must not be negative") }
        guard (0...0.5).contains(jitter) else { throw ValidationError("--jitter must be within 0...0.5") }
        guard replyTimeout > 0 else { throw ValidationError("--reply-timeout must be positive") }
        guard StatusPrinter.Mode(rawValue: status) != nil else {
            throw ValidationError("--status must be one of \(StatusPrinter.Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for t in targets.split(separator: ",") where Target(String(t)) == nil {
            throw ValidationError("bad target '\(t)'; use tcp://host:port, tls://, http:// or https://")
        }
    }

    func run() async throws {
        let printer = StatusPrinter(StatusPrinter.Mode(rawValue: status) ?? .auto)
        var logger = Logger(label: "simulator") { _ in ConsoleLogHandler(clearsLine: printer.onTerminal) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var config = SimulatorConfiguration(
            devices: devices, interval: .nanoseconds(Int64(interval * 1e9)),
            targets: targets.split(separator: ",").compactMap { Target(String($0)) },
            duration: duration > 0 ? .milliseconds(Int64(duration * 1000)) : nil, anomalyRate: anomalyRate,
            signals: SignalProfile(rawValue: signals) ?? .clean, seed: seed,
            devicePrefix: devicePrefix, seqStart: seqStart, replyTimeout: .milliseconds(Int64(replyTimeout * 1000)),
            caFile: caFile.isEmpty ? nil : caFile, insecure: insecure, history: history, jitter: jitter,
            keepsAckedPairs: !report.isEmpty)
        if printDeviceIDs {
            for i in 0..<devices { print(config.deviceID(i)) }
            return
        }
        if !tokens.isEmpty {
            guard let text = try? String(contentsOfFile: tokens, encoding: .utf8) else {
                throw ValidationError("cannot read the tokens file '\(tokens)'")
            }
            for line in text.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ",", maxSplits: 1)
                if parts.count == 2 { config.tokens[String(parts[0])] = String(parts[1]) }
            }
        }
        let simulator = try Simulator(configuration: config, logger: logger)
        logger.info(
            "starting",
            metadata: ["devices": "\(devices)", "targets": "\(targets)", "interval": "\(interval)s", "history": "\(history)"])
        let run = Task { await simulator.run() }
        let status = Task { await printer.run(simulator) }
        // Ctrl-C or SIGTERM: stop sending, count readings still in flight as failed, write the report.
        let signals = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { run.cancel() }
            source.resume()
            return source
        }
        let result = await run.value
        status.cancel()
        await status.value
        signals.forEach { $0.cancel() }
        if !report.isEmpty {
            try result.json(ackedPairsFile: ackedFile.isEmpty ? nil : ackedFile).write(to: URL(fileURLWithPath: report))
        }
        let latency = result.latencyMs
        print(
            "sent \(result.sent) acked \(result.acked) failed \(result.failed) retries \(result.retries) "
                + "p50 \(latency["p50"] ?? 0) ms p99 \(latency["p99"] ?? 0) ms injected \(result.injected.count)")
    }
}
