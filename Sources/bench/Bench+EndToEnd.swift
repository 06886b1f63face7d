import Foundation

extension Bench {
    /// The end-to-end ramp, packed and one message per reading, in one run.
    static func endToEnd(_ report: inout BenchReport, _ context: BenchContext) async throws {
        let (amqpURL, databaseURL, seconds, suffix, logger) = (context.amqpURL, context.databaseURL, context.seconds, context.suffix, context.logger)
        let endToEndDevices = context.endToEndDevices
        guard let binDir = env("BENCH_BIN"), let stackDir = env("STACK_DIR") else {
            throw BenchError("the e2e part needs BENCH_BIN and STACK_DIR (run it through `make bench`)")
        }
        let devices = endToEndDevices
        // BENCH_E2E_PACKING: both (the default: packed, then one message per reading, in this run), on or off.
        let modes: [Bool] =
            switch env("BENCH_E2E_PACKING") ?? "both" {
            case "on": [true]
            case "off": [false]
            default: [true, false]
            }
        var ramps: [EndToEndBench.Figures] = []
        for packing in modes {
            ramps.append(
                try await EndToEndBench.run(
                    amqpURL: amqpURL, adminURL: databaseURL, binDir: binDir, stackDir: stackDir,
                    tag: suffix + (packing ? "" : "u"), devices: devices, seconds: seconds, packing: packing, logger: logger))
        }
        for f in ramps {
            let key = { (name: String) in f.packing ? name : name.replacingOccurrences(of: "e2e_", with: "e2e_unpacked_") }
            let best = f.best
            if f.packing {
                report.results["e2e_sustained_per_s"] = best.map { $0.ackedPerSecond.rounded() } ?? 0
                report.results["e2e_cpu_us_per_reading"] = best?.pipelineMicrosPerReading.map(round2)
            } else {
                report.results["e2e_sustained_unpacked_per_s"] = best.map { $0.ackedPerSecond.rounded() } ?? 0
            }
            report.results[key("e2e_devices")] = f.steps.compactMap(\.connectedAtIngest).max() ?? 0
            report.results[key("e2e_ack_p99_ms")] = best?.ackP99Ms.map(round2)
            report.results[key("e2e_stored_p99_ms")] = best?.storedP99Ms.map { $0.rounded() }
            report.results[key("e2e_memory_mib")] = best?.memoryMiB
            report.results[key("e2e_steps")] = f.steps.map { s -> [String: Any] in
                var o: [String: Any] = [
                    "offered_per_s": s.offered, "acked_per_s": s.ackedPerSecond.rounded(), "failed": s.failed,
                    "retries": s.retries, "sustained": s.sustained, "memory_mib": s.memoryMiB, "cpu_percent": s.cpuPercent,
                    "cpu_us_per_reading": s.cpuMicrosPerReading,
                ]
                if let v = s.ackP99Ms { o["ack_p99_ms"] = round2(v) }
                if let v = s.storedP99Ms { o["stored_p99_ms"] = v.rounded() }
                if let v = s.connectedAtIngest { o["connected"] = v }
                if let v = s.readingsPerMessage { o["readings_per_message"] = round2(v) }
                if !s.problems.isEmpty { o["problems"] = s.problems }
                return o
            }
            let mode = f.packing ? "packed" : "one message per reading"
            report.table.append((
                "end to end (\(mode)): \(devices) devices over TCP, acked and committed (highest sustained step)",
                best.map { String(format: "%.0f readings/s", $0.ackedPerSecond) } ?? "no step sustained"
            ))
            if let best {
                report.table.append((
                    "  p99 ack / p99 measured-to-committed",
                    String(format: "%.1f ms / %.0f ms", best.ackP99Ms ?? .nan, best.storedP99Ms ?? .nan)
                ))
                report.table.append(("  devices connected at ingest", "\(best.connectedAtIngest ?? 0)"))
                report.table.append(("  readings per broker message", best.readingsPerMessage.map { String(format: "%.1f", $0) } ?? "-"))
                let cpu = best.cpuMicrosPerReading.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value.rounded()))" }
                report.table.append(("  CPU µs per reading", cpu.joined(separator: ", ")))
                let memory = best.memoryMiB.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value.rounded()))" }
                report.table.append(("  resident memory, MiB", memory.joined(separator: ", ")))
            }
            if let stop = f.steps.last, !stop.sustained {
                report.table.append((
                    "  stopped at \(Int(stop.offered))/s offered", stop.problems.joined(separator: "; ")
                ))
            }
        }
        // The broker's CPU per reading, packed and not, at the highest step both ramps sustained.
        if ramps.count == 2 {
            let (packed, unpacked) = (ramps[0], ramps[1])
            let common = packed.steps.filter(\.sustained).map(\.offered).filter { rate in
                unpacked.steps.contains { $0.offered == rate && $0.sustained }
            }.max()
            if let rate = common, let p = packed.steps.last(where: { $0.offered == rate && $0.sustained }),
                let u = unpacked.steps.last(where: { $0.offered == rate && $0.sustained })
            {
                report.results["broker_cpu_us_per_reading"] = p.cpuMicrosPerReading["rabbitmq"].map(round2)
                report.results["broker_cpu_us_per_reading_unpacked"] = u.cpuMicrosPerReading["rabbitmq"].map(round2)
                report.results["e2e_compared_at_per_s"] = rate
                report.table.append((
                    "  broker CPU µs per reading at \(Int(rate))/s, packed / not",
                    String(format: "%.1f / %.1f", p.cpuMicrosPerReading["rabbitmq"] ?? .nan, u.cpuMicrosPerReading["rabbitmq"] ?? .nan)
                ))
                report.table.append((
                    "  all services' CPU µs per reading at \(Int(rate))/s, packed / not",
                    String(format: "%.1f / %.1f", p.pipelineMicrosPerReading ?? .nan, u.pipelineMicrosPerReading ?? .nan)
                ))
            }
        }
    }
}
