import ChaosKit
import DeviceAuth
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PipelineCore
import SQL
import SimulatorKit
import Storage

/// `BENCH_ONLY=hostile`: 100 well-behaved devices (TCP+TLS, authenticated, 50
/// readings/s in all) against an ingest process, first alone, then while 5,000
/// TCP connections sit silent, 2,000 trickle a partial line one byte a second
/// over TLS, and 500 HTTPS clients hold slow uploads, each attacker connecting
/// again a second after ingest closed it. Reports the devices' acks in both
/// phases, ingest's peak resident memory and open descriptors, and how long the
/// attackers' connections lived. The attack runs twice, its generator's threads
/// at normal priority, then at nice 19 (is it the generator's share of the two
/// cores that the devices feel?); both runs report the CPU each process used, and
/// a `ConfirmProbe` times the broker's own confirms throughout.
enum HostileBench {
    struct Phase {
        var latenciesMs: [Double] = []
        var failures = 0
        /// The confirm latencies a probe publishing straight to the broker saw meanwhile.
        var brokerMs: [Double] = []
        var p99Ms: Double { AlertsQueryBench.Figures.percentile(latenciesMs, 0.99) }
        var brokerP99Ms: Double { AlertsQueryBench.Figures.percentile(brokerMs, 0.99) }
    }

    struct Attack {
        var kind: String
        var connections = 0
        var lifetimes: [Double] = []
    }

    /// The devices' acks during one attack, the CPU cores each process used, and the attackers' connections.
    struct AttackRun {
        var devices = Phase()
        var cpu: [String: Double] = [:]
        var attacks: [Attack] = []
    }

    struct Figures {
        var baseline = Phase()
        /// CPU cores (CPU seconds per second) of ingest, the broker and this process (devices and attackers).
        var cpuAlone: [String: Double] = [:]
        var attacked = AttackRun()
        var attackedNiced = AttackRun()
        var peakRSSMiB = 0.0
        var peakDescriptors = 0
        var refused: [String: Int] = [:]
    }

    static let devices = 100
    static let perDeviceInterval = Duration.seconds(2)

    static func run(
        amqpURL: String, adminURL: String, binDir: String, stackDir: String, cert: String, key: String, tag: String,
        seconds: Double, logger: Logger
    ) async throws -> Figures {
        let database = try BenchDatabase(adminURL: adminURL, name: "bench_hostile_\(tag)")
        defer { database.drop() }
        let databaseURL = database.url
        let db = try SQLConnection(databaseURL)
        try Schema.migrate(db)
        let secretText = "bench-hostile-secret-0123456789abcdef"
        let secret = DeviceTokenSecret(secretText)!
        let tokens = try (0..<devices).map { i -> (String, String) in
            let id = "hostile-\(i)"
            return (id, DeviceToken(deviceID: id, generation: try DeviceTokenStore.issue(id, on: db)).string(secret: secret))
        }

        let queue = "bench-hostile-\(tag)"
        defer { RawConfirmBench.deleteQueues(url: amqpURL, [queue, queue + ".dead"]) }
        let (httpPort, tcpPort, adminPort) = (try FreePort.pick(), try FreePort.pick(), try FreePort.pick())
        let environment = [
            "AMQP_URL": amqpURL, "AMQP_QUEUE": queue, "DATABASE_URL": databaseURL, "DEVICE_TOKEN_SECRET": secretText,
            "LISTEN_HOST": "127.0.0.1", "INGEST_HTTP_PORT": "\(httpPort)", "INGEST_TCP_PORT": "\(tcpPort)",
            "INGEST_ADMIN_PORT": "\(adminPort)", "TLS_CERT": cert, "TLS_KEY": key, "LOG_LEVEL": "warning",
        ]
        let ingest = try ManagedProcess(
            name: "ingest", executable: "\(binDir)/pipeline", arguments: ["ingest"],
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, log: "\(stackDir)/hostile-ingest.log")
        defer { kill(ingest.pid, SIGKILL) }
        guard try await ServiceProbe.waitUntilReady(port: adminPort) else {
            throw BenchError("ingest not ready within 60 s (log: \(stackDir)/hostile-ingest.log)")
        }

        defer { RawConfirmBench.deleteQueues(url: amqpURL, [queue + ".probe", queue + ".probe.dead"]) }
        let probe = try ConfirmProbe(url: amqpURL, queue: queue + ".probe")
        defer { probe.stop() }

        var client = TLSConfiguration.makeClientConfiguration()
        client.trustRoots = .file(cert)
        let tls = try NIOSSLContext(configuration: client)
        // The devices get an event loop of their own: what they measure is ingest, not
        // the attack generator's channels queued ahead of theirs in this process.
        let deviceLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer {
            deviceLoop.shutdownGracefully { _ in }
            group.shutdownGracefully { _ in }
        }
        var figures = Figures()

        // The devices run through both phases; each phase reads what they measured in it.
        let measured = NIOLockedValueBox(Phase())
        let stopDevices = NIOLockedValueBox(false)
        let fleet = Task {
            await withTaskGroup(of: Void.self) { tasks in
                for (i, (id, token)) in tokens.enumerated() {
                    tasks.addTask {
                        try? await Task.sleep(for: perDeviceInterval * Double(i) / Double(devices))
                        await device(
                            id, token: token, port: tcpPort, tls: tls, loop: deviceLoop, measured: measured, stop: stopDevices)
                    }
                }
            }
        }
        func cpu() -> [String: Double] {
            var out = ["ingest": ProcessStats.cpuSeconds(ingest.pid) ?? 0, "bench (devices, attackers)": ProcessStats.cpuSeconds(getpid()) ?? 0]
            if let pid = ProcessStats.pid(fromFile: "\(stackDir)/rabbit/rabbit.pid") { out["rabbitmq"] = ProcessStats.cpuSeconds(pid) }
            return out
        }
        func phase(_ seconds: Double) async throws -> (Phase, cpu: [String: Double]) {
            measured.withLockedValue { $0 = Phase() }
            _ = probe.take()
            let start = ContinuousClock.now
            let before = cpu()
            let end = start + .seconds(seconds)
            while ContinuousClock.now < end {
                try await Task.sleep(for: .seconds(1))
                figures.peakRSSMiB = max(figures.peakRSSMiB, ProcessStats.rssMiB(ingest.pid) ?? 0)
                let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(ingest.pid)/fd").count) ?? 0
                figures.peakDescriptors = max(figures.peakDescriptors, fds)
            }
            let elapsed = (ContinuousClock.now - start) / .seconds(1)
            let used = cpu().reduce(into: [String: Double]()) { out, e in out[e.key] = (e.value - (before[e.key] ?? 0)) / elapsed }
            var devices = measured.withLockedValue { $0 }
            devices.brokerMs = probe.take()
            return (devices, used)
        }

        try await Task.sleep(for: perDeviceInterval + .seconds(1))  // every device connected
        (figures.baseline, figures.cpuAlone) = try await phase(seconds)
        let baselineRSS = figures.peakRSSMiB
        let request = "POST /v1/readings HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\nContent-Length: \(1 << 20)\r\n\r\n["
        let kinds: [(String, Int, Int, NIOSSLContext?, [UInt8])] = [
            ("silent TCP", 5000, tcpPort, nil, []),
            ("trickling TCP+TLS", 2000, tcpPort, tls, Array(#"{"auth":"v1.x"#.utf8)),
            ("slow HTTPS uploads", 500, httpPort, tls, Array(request.utf8)),
        ]
        /// One attack, its generator's channels on `group`; the devices' acks measured while it lasts.
        func attack(on group: MultiThreadedEventLoopGroup) async throws -> AttackRun {
            let stopAttack = NIOLockedValueBox(false)
            let records = kinds.map { NIOLockedValueBox(Attack(kind: $0.0)) }
            let attackers = Task {
                await withTaskGroup(of: Void.self) { tasks in
                    for (k, (_, count, port, context, prefix)) in kinds.enumerated() {
                        for i in 0..<count {
                            tasks.addTask {
                                // Spread the connects over two seconds, as a botnet starting up would.
                                try? await Task.sleep(for: .milliseconds(Int64(i % 2000)))
                                await attacker(
                                    port: port, tls: context, prefix: prefix, trickle: !prefix.isEmpty, group: group,
                                    record: records[k], stop: stopAttack)
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .seconds(3))  // the attack has built up
            let (measuredPhase, used) = try await phase(seconds)
            stopAttack.withLockedValue { $0 = true }
            attackers.cancel()
            await attackers.value
            try await Task.sleep(for: .seconds(2))  // the attackers' connections are gone
            return AttackRun(devices: measuredPhase, cpu: used, attacks: records.map { $0.withLockedValue { $0 } })
        }
        figures.attacked = try await attack(on: group)
        // The same attack with its generator at the lowest CPU priority: were the devices
        // feeling the generator's share of the cores, this run would show it.
        let nicedGroup = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { nicedGroup.shutdownGracefully { _ in } }
        for loop in nicedGroup.makeIterator() {  // on Linux, who 0 is the calling thread
            try await loop.submit { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19) }.get()
        }
        figures.attackedNiced = try await attack(on: nicedGroup)
        stopDevices.withLockedValue { $0 = true }
        fleet.cancel()
        await fleet.value
        let metrics = (try? await EndToEndBench.metricsText(port: adminPort)) ?? ""
        for line in metrics.split(separator: "\n") where line.hasPrefix("ingest_connections_refused_total{") {
            let reason = line.split(separator: "\"").dropFirst().first.map(String.init) ?? "?"
            figures.refused[reason] = Int(Double(line.split(separator: " ").last ?? "") ?? 0)
        }
        FileHandle.standardError.write(
            Data(
                String(
                    format:
                        "bench: hostile: devices p99 %.1f ms under attack (%.1f ms with the attack generator niced, %.1f ms alone), %d failed (%d niced); ingest peak %.0f MiB (alone %.0f), %d fds\n",
                    figures.attacked.devices.p99Ms, figures.attackedNiced.devices.p99Ms, figures.baseline.p99Ms,
                    figures.attacked.devices.failures, figures.attackedNiced.devices.failures, figures.peakRSSMiB, baselineRSS,
                    figures.peakDescriptors
                ).utf8))
        FileHandle.standardError.write(
            Data(
                String(
                    format: "bench: hostile: a probe's own broker confirms p99 %.1f ms under attack, %.1f ms niced, %.1f ms alone\n",
                    figures.attacked.devices.brokerP99Ms, figures.attackedNiced.devices.brokerP99Ms, figures.baseline.brokerP99Ms
                ).utf8))
        return figures
    }

    /// One device: authenticates, then sends a reading every `perDeviceInterval`,
    /// reconnecting after a failure; every ack's latency and every failure is recorded.
    static func device(
        _ id: String, token: String, port: Int, tls: NIOSSLContext, loop: any EventLoopGroup, measured: NIOLockedValueBox<Phase>,
        stop: NIOLockedValueBox<Bool>
    ) async {
        var seq: Int64 = 0
        while !stop.withLockedValue({ $0 }) && !Task.isCancelled {
            guard let c = try? await LineConnection.connect(host: "localhost", port: port, tls: tls, group: loop),
                (try? await c.send(#"{"auth":"\#(token)"}"#, timeout: .seconds(5))) == #"{"ok":true}"#
            else {
                measured.withLockedValue { $0.failures += 1 }
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            while !stop.withLockedValue({ $0 }) && !Task.isCancelled {
                seq += 1
                let line = IngestLoad.reading(id, seq)
                let start = ContinuousClock.now
                guard let reply = try? await c.send(line, timeout: .seconds(5)), reply == #"{"ack":\#(seq)}"# else {
                    measured.withLockedValue { $0.failures += 1 }
                    break
                }
                let ms = (ContinuousClock.now - start) / .milliseconds(1)
                measured.withLockedValue { $0.latenciesMs.append(ms) }
                try? await Task.sleep(for: perDeviceInterval)
            }
            await c.close()
        }
    }

    /// One attacker: connects, sends `prefix` (and with `trickle` one more byte a second),
    /// never finishes, and connects again a second after ingest closed it.
    static func attacker(
        port: Int, tls: NIOSSLContext?, prefix: [UInt8], trickle: Bool, group: any EventLoopGroup,
        record: NIOLockedValueBox<Attack>, stop: NIOLockedValueBox<Bool>
    ) async {
        while !stop.withLockedValue({ $0 }) && !Task.isCancelled {
            let opened = ContinuousClock.now
            let channel = try? await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls, serverHostname: "localhost"))
                        }
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            guard let channel else {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            record.withLockedValue { $0.connections += 1 }
            if !prefix.isEmpty { channel.writeAndFlush(ByteBuffer(bytes: prefix), promise: nil) }
            let drip: RepeatedTask? =
                trickle
                ? channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                    channel.writeAndFlush(ByteBuffer(bytes: [UInt8(ascii: "x")]), promise: nil)
                } : nil
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
            drip?.cancel()
            let lived = (ContinuousClock.now - opened) / .seconds(1)
            record.withLockedValue { $0.lifetimes.append(lived) }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
