import Foundation
import PipelineCore
import SQL
@testable import Storage
import Testing

extension Integration {
    /// Incidents as the running analyzer stores them, against `pipeline detect` and the
    /// pure incident logic over the same series.
    @Suite struct IncidentStorageTests {
        /// A series with what real signals have: a daily rhythm, heavy-tailed noise, integer
        /// values, then spikes, a level shift and a drift at known places (SplitMix64: the
        /// same on every machine).
        static func series(seed: UInt64, count: Int) -> [Double] {
            var state = seed
            func uniform() -> Double {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
            }
            return (0..<count).map { i in
                var v = 70 + 6 * sin(2 * .pi * Double(i) / 288) + max(-12, min(12, tan(.pi * (uniform() - 0.5)) * 0.8))
                if i == 900 || i == 2_300 { v += 45 }
                if i >= 1_600 { v += 18 }
                if i >= 2_700 { v -= Double(i - 2_700) * 0.08 }
                return v.rounded()
            }
        }

        static let start: Int64 = 1_795_000_000_000_000

        static func readings(device: String, _ values: [Double]) -> [Reading] {
            values.enumerated().map { i, v in
                Reading(
                    deviceID: device, seq: Int64(i), ts: Timestamp.format(epochMicros: start + Int64(i) * 10_000_000),
                    metrics: ["pulse": v])
            }
        }

        /// The incidents of the pure logic over the series in order, final state, keyed by opening seq.
        static func expected(_ values: [Double]) -> [Int64: IncidentRecord] {
            var detection = SeriesDetection(anomalyRule: .default, incidentRule: .default)
            var result: [Int64: IncidentRecord] = [:]
            for (i, r) in readings(device: "d", values).enumerated() {
                for change in detection.next(seq: Int64(i), ts: r.ts, value: values[i]).changes {
                    switch change {
                    case .opened(let x), .updated(let x): result[x.openedSeq] = .init(deviceID: "d", metric: "pulse", incident: x, isOpen: true)
                    case .closed(let x): result[x.openedSeq] = .init(deviceID: "d", metric: "pulse", incident: x, isOpen: false)
                    }
                }
            }
            return result
        }

        static func stored(_ stack: TestStack, device: String) throws -> [Int64: IncidentRecord] {
            let rows = try stack.db().execute(
                "SELECT \(IncidentStore.columns) FROM incidents WHERE device_id = $1 AND metric = 'pulse'", [device])
            var result: [Int64: IncidentRecord] = [:]
            for r in try rows.map(IncidentStore.incident(from:)) { result[r.incident.openedSeq] = r }
            return result
        }

        /// The running pipeline, stopped and started again half-way (so the second analyzer
        /// reads every record and open incident from the database) and given the first half
        /// again (redeliveries), opens exactly what `pipeline detect` opens on the series,
        /// and stores each incident as the pure logic ends it.
        @Test func thePipelineOpensWhatPipelineDetectOpens() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let devices = ["inc-1", "inc-2"]
            let values = [Self.series(seed: 11, count: 3_000), Self.series(seed: 12, count: 3_000)]
            let all = zip(devices, values).map { Self.readings(device: $0, $1) }
            let half = 1_700
            try await AnalyzerTests.publish((0..<half).flatMap { i in all.map { $0[i] } }, to: stack)
            try await stack.running(stack.analyzer(batchSize: 25).services) {
                try await stack.eventually("first half stored", timeout: .seconds(120)) {
                    try stack.count("SELECT count(*) FROM readings") == half * devices.count
                }
            }
            try await AnalyzerTests.publish(all.flatMap { $0[..<half] } + (half..<3_000).flatMap { i in all.map { $0[i] } }, to: stack)
            try await stack.running(stack.analyzer(batchSize: 25).services) {
                try await stack.eventually("all stored", timeout: .seconds(120)) {
                    try stack.count("SELECT count(*) FROM readings") == 3_000 * devices.count
                }
            }

            for (device, series) in zip(devices, values) {
                // pipeline detect, the binary, over the series as CSV.
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("detect-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: dir) }
                let csv = "timestamp,value\n" + Self.readings(device: device, series).map { "\($0.ts),\($0.metrics["pulse"]!)\n" }.joined()
                try csv.write(to: dir.appendingPathComponent("in.csv"), atomically: true, encoding: .utf8)
                let (status, _) = try TestStack.run(
                    TestStack.pipelineBinary,
                    ["detect", "--input", dir.appendingPathComponent("in.csv").path, "--output", dir.appendingPathComponent("out.csv").path])
                #expect(status == 0)
                let out = try String(contentsOf: dir.appendingPathComponent("out.csv"), encoding: .utf8)
                let detected = out.split(separator: "\n").dropFirst().enumerated().compactMap { i, line in
                    line.hasSuffix(",1") ? Int64(i) : nil
                }

                let stored = try Self.stored(stack, device: device)
                #expect(detected.count >= 3, "the series should open incidents to compare: \(detected)")
                #expect(stored.keys.sorted() == detected, "\(device): stored \(stored.keys.sorted()), detect \(detected)")
                let expected = Self.expected(series)
                #expect(expected.keys.sorted() == detected)
                for (seq, e) in expected {
                    guard let s = stored[seq] else { continue }
                    #expect(s.incident == e.incident, "\(device) incident at \(seq)")
                    #expect(s.isOpen == e.isOpen && (s.closedAt == nil) == e.isOpen, "\(device) incident at \(seq)")
                }
            }
        }

        /// A backlog drained by two analyzers: each takes every other batch, so a device's
        /// readings commit out of order. Every episode the pure logic finds in order is under
        /// one incident, every incident is one of those episodes, at most one is open per
        /// series, and it is the newest.
        @Test func lateReadingsThroughTwoAnalyzersKeepOneIncidentPerEpisode() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let devices = ["late-1", "late-2"]
            let values = [Self.series(seed: 21, count: 2_500), Self.series(seed: 22, count: 2_500)]
            let all = zip(devices, values).flatMap { Self.readings(device: $0, $1) }
            try await AnalyzerTests.publish((0..<2_500).flatMap { i in [all[i], all[2_500 + i]] }, to: stack)
            let one = try stack.analyzer(batchSize: 20)
            let two = try stack.analyzer(port: try TestStack.freePort(), batchSize: 20)
            try await stack.running(one.services + two.services) {
                try await stack.eventually("all stored", timeout: .seconds(180)) {
                    try stack.count("SELECT count(*) FROM readings") == all.count
                }
            }
            let rule = IncidentRule.default
            for (device, series) in zip(devices, values) {
                let stored = try Self.stored(stack, device: device).values.sorted { $0.incident.openedSeq < $1.incident.openedSeq }
                let expected = Self.expected(series).values.sorted { $0.incident.openedSeq < $1.incident.openedSeq }
                func spans(_ list: [IncidentRecord]) -> [String] { list.map { "\($0.incident.openedSeq)...\($0.incident.lastSeq)" } }
                let context = "\(device): in order \(spans(expected)), stored \(spans(stored))"
                #expect(stored.filter(\.isOpen).count <= 1)
                if let open = stored.first(where: \.isOpen) { #expect(open == stored.last) }
                #expect(stored.allSatisfy { $0.isOpen == ($0.closedAt == nil) })
                for e in expected {
                    let covering = stored.filter {
                        $0.incident.openedSeq - rule.closeAfter <= e.incident.lastSeq && e.incident.openedSeq <= $0.incident.lastSeq + rule.closeAfter
                    }
                    #expect(covering.count == 1, "\(device): the episode \(e.incident.openedSeq)...\(e.incident.lastSeq) is under \(covering.count) incidents; \(context)")
                }
                for s in stored {
                    #expect(
                        expected.contains {
                            $0.incident.openedSeq - rule.closeAfter <= s.incident.lastSeq && s.incident.openedSeq <= $0.incident.lastSeq + rule.closeAfter
                        }, "\(device): the incident \(s.incident.openedSeq)...\(s.incident.lastSeq) is no episode of the series; \(context)")
                }
            }
        }
    }
}
