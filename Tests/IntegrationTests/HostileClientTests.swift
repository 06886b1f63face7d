import AMQPClient
import Foundation
import Ingest
import PipelineCore
import SimulatorKit
import Testing

extension Integration {
    /// Clients that never finish, never authenticate, open too many connections or
    /// pad their readings, against the real ingest and broker, through plain sockets.
    @Suite struct HostileClientTests {
        static func line(_ r: Reading) -> String { String(decoding: ReadingCodec.encode(r), as: UTF8.self) + "\n" }

        static func reading(_ device: String, _ seq: Int64) -> Reading {
            Reading(deviceID: device, seq: seq, ts: "2026-12-01T08:00:00Z", metrics: ["heart_rate": 70])
        }

        @Test func tcpClientsThatDoNotAuthenticateAreClosed() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let token = try stack.issueToken("dev-1")
            let guards = IngestConfiguration.Guards(
                connections: .init(maxConnections: 8, maxUnprovenPerAddress: 4), authTimeout: .seconds(1))
            let ingest = try stack.ingest(tls: false, auth: true, idleTimeout: .seconds(2), guards: guards)
            try await stack.running(ingest.services) {
                try await stack.eventually("ingest ready") {
                    ingest.publisher.isConnected && ingest.authenticator?.status.loaded == true
                }
                // An auth line that never comes: closed after AUTH_TIMEOUT, saying why.
                let silent = try RawSocket(port: stack.tcpPort)
                let start = ContinuousClock.now
                let (reply, closed) = silent.readUntilClosed(timeout: .seconds(5))
                #expect(closed && reply.contains("no auth line within 1 s"), "\(reply)")
                #expect(ContinuousClock.now - start < .seconds(3))

                // A 2 KiB auth line is refused before it ends.
                let big = try RawSocket(port: stack.tcpPort)
                big.send(#"{"auth":""# + String(repeating: "x", count: 2048) + "\"}\n")
                let (bigReply, bigClosed) = big.readUntilClosed(timeout: .seconds(5))
                #expect(bigClosed && bigReply.contains("auth line exceeds 1024 bytes"), "\(bigReply)")

                // Per address, only 4 connections may be unauthenticated at once; the 5th is told and closed.
                let waiting = try (0..<4).map { _ in try RawSocket(port: stack.tcpPort) }
                try await Task.sleep(for: .milliseconds(200))
                let fifth = try RawSocket(port: stack.tcpPort)
                let (fifthReply, fifthClosed) = fifth.readUntilClosed(timeout: .seconds(3))
                #expect(fifthClosed && fifthReply.contains("too many unauthenticated connections from this address"), "\(fifthReply)")
                // One authenticates: it no longer counts against the address, so another may connect.
                #expect(waiting[0].send(#"{"auth":"\#(token)"}"# + "\n"))
                try await Task.sleep(for: .milliseconds(300))
                let sixth = try RawSocket(port: stack.tcpPort)
                #expect(sixth.send(#"{"auth":"\#(token)"}"# + "\n"))
                #expect(sixth.readUntilClosed(timeout: .milliseconds(500)).text.contains(#"{"ok":true}"#))
                for s in waiting.dropFirst() { _ = s.readUntilClosed(timeout: .seconds(3)) }

                // Bytes that never end a line do not keep a connection open: idle counts complete lines.
                let trickle = try RawSocket(port: stack.tcpPort)
                trickle.send(#"{"auth":"\#(token)"}"# + "\n")
                let trickleStart = ContinuousClock.now
                var alive = true
                while alive && ContinuousClock.now - trickleStart < .seconds(6) {
                    alive = trickle.send("{")
                    try await Task.sleep(for: .milliseconds(200))
                    let (text, closed) = trickle.readUntilClosed(timeout: .milliseconds(1))
                    if closed || text.contains("idle timeout") { alive = false }
                }
                #expect(!alive, "a trickling connection stayed open")
                #expect(ContinuousClock.now - trickleStart < .seconds(4))
            }
        }

        @Test func overTLSTheExcessIsClosedBeforeAnyHandshake() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let token = try stack.issueToken("dev-tls")
            let guards = IngestConfiguration.Guards(
                connections: .init(maxConnections: 8, maxUnprovenPerAddress: 2), authTimeout: .seconds(10))
            let ingest = try stack.ingest(tls: true, auth: true, guards: guards)
            try await stack.running(ingest.services) {
                try await stack.eventually("ingest ready") {
                    ingest.publisher.isConnected && ingest.authenticator?.status.loaded == true
                }
                // The registry is the test process's: other tests count into it too.
                let refusedBefore = try await Self.refusedFromAddress(stack)
                var waiting = try (0..<2).map { _ in try RawSocket(port: stack.tcpPort) }
                try await Task.sleep(for: .milliseconds(200))
                // Admitted, they wait for a ClientHello; the third from the address is closed at once,
                // before any byte of a handshake (a TLS client could not read an error line).
                #expect(!waiting[0].readUntilClosed(timeout: .milliseconds(300)).closed)
                let third = try RawSocket(port: stack.tcpPort)
                let (reply, closed) = third.readUntilClosed(timeout: .seconds(2))
                #expect(closed && reply.isEmpty, "\(reply)")
                // A real TLS client is refused too while the address is at its cap, and served once it is not.
                await #expect(throws: (any Error).self) {
                    let c = try await stack.tcp()
                    _ = try await c.send(#"{"auth":"\#(token)"}"#, timeout: .seconds(2))
                }
                waiting.removeFirst()
                try await Task.sleep(for: .milliseconds(200))
                let device = try await stack.tcp()
                #expect(try await device.send(#"{"auth":"\#(token)"}"#, timeout: .seconds(5)) == #"{"ok":true}"#)
                #expect(try await Self.refusedFromAddress(stack) == refusedBefore + 2)
                await device.close()
            }
        }

        static func refusedFromAddress(_ stack: TestStack) async throws -> Int {
            let metrics = try await stack.client(port: stack.ingestAdminPort).request(.GET, "/metrics").body
            let series = #"ingest_connections_refused_total{reason="too_many_from_address"} "#
            let line = metrics.split(separator: "\n").first { $0.hasPrefix(series) }
            return line.flatMap { Double($0.dropFirst(series.count)) }.map { Int($0) } ?? 0
        }

        @Test func theConnectionCapAnswersTheExcessAndKeepsServingTheOthers() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let guards = IngestConfiguration.Guards(connections: .init(maxConnections: 5, maxUnprovenPerAddress: 100))
            let ingest = try stack.ingest(tls: false, guards: guards)
            try await stack.running(ingest.services, ready: ingest) {
                let open = try (0..<5).map { _ in try RawSocket(port: stack.tcpPort) }
                try await Task.sleep(for: .milliseconds(200))
                let excess = try RawSocket(port: stack.tcpPort)
                let (reply, closed) = excess.readUntilClosed(timeout: .seconds(3))
                #expect(closed && reply.contains("too many connections"), "\(reply)")
                // HTTP counts toward the same cap: the connection is closed without an answer.
                let http = try RawSocket(port: stack.httpPort)
                #expect(http.readUntilClosed(timeout: .seconds(3)).closed)
                // The connections already open are served, and at the cap the publisher still reconnects
                // after a broker outage (its descriptors are in the reserve).
                #expect(open[0].send(Self.line(Self.reading("cap-1", 1))))
                #expect(open[0].readUntilClosed(timeout: .seconds(2)).text.contains(#"{"ack":1}"#))
                try stack.stackctl("ctl", "stop_app")
                do {
                    try await stack.eventually("the publisher saw the outage", timeout: .seconds(15)) { !ingest.publisher.isConnected }
                } catch {
                    _ = try? stack.stackctl("ctl", "start_app")
                    throw error
                }
                try stack.stackctl("ctl", "start_app")
                try await stack.eventually("the publisher reconnected at the cap", timeout: .seconds(30)) {
                    ingest.publisher.isConnected
                }
                #expect(open[1].send(Self.line(Self.reading("cap-2", 1))))
                #expect(open[1].readUntilClosed(timeout: .seconds(5)).text.contains(#"{"ack":1}"#))
                let metrics = try await stack.client(port: stack.ingestAdminPort).request(.GET, "/metrics").body
                #expect(metrics.contains(#"ingest_connections_refused_total{reason="too_many_connections"} 2"#), "\(metrics)")
            }
        }

        @Test func httpClientsThatStallOrHaveNoTokenAreNotWaitedFor() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            _ = try stack.issueToken("dev-1")
            let guards = IngestConfiguration.Guards(httpIdleTimeout: .seconds(1), httpBodyTimeout: .seconds(1))
            let ingest = try stack.ingest(tls: false, auth: true, guards: guards)
            try await stack.running(ingest.services) {
                try await stack.eventually("ingest ready") {
                    ingest.publisher.isConnected && ingest.authenticator?.status.loaded == true
                }
                // Headers that never end: closed after the idle timeout.
                let slow = try RawSocket(port: stack.httpPort)
                slow.send("POST /v1/readings HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n")
                let start = ContinuousClock.now
                #expect(slow.readUntilClosed(timeout: .seconds(5)).closed)
                #expect(ContinuousClock.now - start < .seconds(3))

                // A 1 MiB upload with a wrong token is answered 401 after its headers, and closed: the body is never read.
                let upload = try RawSocket(port: stack.httpPort)
                upload.send(
                    "POST /v1/readings HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
                        + "Authorization: Bearer v1.dev-1.1.AAAA\r\nContent-Length: \(1 << 20)\r\n\r\n[")
                let (answer, closed) = upload.readUntilClosed(timeout: .seconds(3))
                #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer)")
                #expect(closed, "the connection stays open for the rest of the upload")
                var sent = 0
                while sent < 1 << 20, upload.send([UInt8](repeating: 0x20, count: 65536)) { sent += 65536 }
                #expect(sent < 1 << 20, "the server read the whole body of a refused upload")

                // A body that stops half way: closed after the body timeout.
                let token = try stack.issueToken("dev-1")
                let half = try RawSocket(port: stack.httpPort)
                half.send(
                    "POST /v1/readings HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
                        + "Authorization: Bearer \(token)\r\nContent-Length: 1000\r\n\r\n[")
                let halfStart = ContinuousClock.now
                #expect(half.readUntilClosed(timeout: .seconds(5)).closed)
                #expect(ContinuousClock.now - halfStart < .seconds(3))
            }
        }

        @Test func aPaddedReadingReachesTheBrokerCompact() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let ingest = try stack.ingest(tls: false)
            try await stack.running(ingest.services, ready: ingest) {
                let padded = #"{ "device_id" :  "pad-1",    "seq": 1, "ts":"2026-12-01T08:00:00Z",  "metrics": {"heart_rate":   70}"#
                    + String(repeating: " ", count: 60_000) + "}\n"
                let c = try RawSocket(port: stack.tcpPort)
                c.send(padded)
                #expect(c.readUntilClosed(timeout: .seconds(2)).text.contains(#"{"ack":1}"#))
            }
            let consumer = AMQPConsumer(configuration: stack.amqp, prefetch: 10)
            try consumer.connect()
            defer { consumer.disconnect() }
            let delivery = try #require(try consumer.next(timeout: .seconds(5)))
            #expect(delivery.body == ReadingCodec.encode(Self.reading("pad-1", 1)), "\(delivery.body.count) bytes")
            #expect(delivery.body.count < 200)
        }

        @Test func metricLabelsStayBoundedWhateverNamesDevicesSend() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            // 1,024 metric names, 32 to a reading: each gets a flat history of 30 values, then a spike.
            var readings: [Reading] = []
            var seq: Int64 = 0
            for group in 0..<32 {
                let names = (0..<32).map { "m\(group * 32 + $0)" }
                for i in 0...30 {
                    seq += 1
                    let value = i == 30 ? 500 : 70 + Double(i % 3)
                    readings.append(
                        Reading(
                            deviceID: "namer-1", seq: seq, ts: Timestamp.format(epochMicros: 1_795_000_000_000_000 + seq * 1_000_000),
                            metrics: Dictionary(uniqueKeysWithValues: names.map { ($0, value) })))
                }
            }
            try await stack.running(try stack.analyzer().services) {
                try await AnalyzerTests.publish(readings, to: stack)
                try await stack.eventually("every spike is stored", timeout: .seconds(60)) {
                    try stack.count("SELECT count(*) FROM anomalies") == 1024
                }
                let metrics = try await stack.client(port: stack.analyzerPort).request(.GET, "/metrics").body
                // (Other tests' analyzers in this process add heart_rate and spo2.)
                let series = metrics.split(separator: "\n").filter { $0.hasPrefix(#"analyzer_anomalies_total{metric="m"#) }
                #expect(series.count == 32, "\(series.count) series of m… names")
                let other = try #require(metrics.split(separator: "\n").first { $0.hasPrefix(#"analyzer_anomalies_total{metric="other""#) })
                #expect(other.hasSuffix(" \(1024 - 32)"), "\(other)")
            }
        }
    }
}
