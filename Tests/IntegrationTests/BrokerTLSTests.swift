import AMQPClient
import Foundation
import PipelineCore
import SimulatorKit
import Testing

extension Integration {
    /// `amqps://` against the local RabbitMQ's TLS listener (scripts/stack.sh makes
    /// its CA and a certificate naming `localhost` only): readings travel with the
    /// broker verified, and a broker that cannot be verified is refused, saying why.
    @Suite struct BrokerTLSTests {
        static func stackTLS() throws -> (url: String, ca: String, dir: String) {
            let ca = try TestStack.environment("AMQPS_CA_FILE")
            return (try TestStack.environment("AMQPS_URL"), ca, URL(fileURLWithPath: ca).deletingLastPathComponent().path)
        }

        @Test func readingsTravelOverAMQPSWithTheBrokerVerified() async throws {
            let tls = try Self.stackTLS()
            var stack = try TestStack.make()
            defer { stack.dropDatabase() }
            stack.brokerTLS = .init(caFile: tls.ca)
            let ingest = try stack.ingest(tls: false)
            try await stack.running(ingest.services + stack.analyzer().services) {
                try await stack.eventually("ingest connected over TLS") { ingest.publisher.isConnected }
                let tcp = try await LineConnection.connect(host: "127.0.0.1", port: stack.tcpPort, tls: nil)
                for seq in 1...20 {
                    let r = Reading(
                        deviceID: "tls-1", seq: Int64(seq), ts: "2026-12-01T08:00:00Z", metrics: ["heart_rate": 70 + Double(seq % 3)])
                    #expect(try await tcp.send(String(decoding: ReadingCodec.encode(r), as: UTF8.self)) == "{\"ack\":\(seq)}")
                }
                await tcp.close()
                try await stack.eventually("the analyzer stored them, consuming over TLS") {
                    try stack.count("SELECT count(*) FROM readings WHERE device_id = 'tls-1'") == 20
                }
                // The broker's own view: the pipeline's connections are TLS, on the TLS port.
                let port = String(tls.url.split(separator: ":").last!.split(separator: "/").first!)
                let connections = try stack.stackctl("ctl", "list_connections", "-s", "ssl", "port", "name")
                let ours = connections.split(separator: "\n").filter { $0.contains("\t\(port)\t") }
                #expect(ours.count >= 2 && ours.allSatisfy { $0.hasPrefix("true\t") }, "\(connections)")
            }
        }

        /// Connects a consumer (declaring the topology) once; the error it ends with, nil on success.
        static func connect(_ url: String, _ tls: AMQPConfiguration.TLS) -> String? {
            var c = AMQPConfiguration(urls: [url], queue: "tls-check-\(UInt32.random(in: 0...UInt32.max))")
            c.tls = tls
            let consumer = AMQPConsumer(configuration: c, prefetch: 1)
            defer { consumer.disconnect() }
            do {
                try consumer.connect()
                return nil
            } catch {
                return error.description
            }
        }

        @Test func aBrokerThatCannotBeVerifiedIsRefusedSayingWhy() throws {
            let tls = try Self.stackTLS()
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let byAddress = tls.url.replacingOccurrences(of: "@localhost:", with: "@127.0.0.1:")
            // Verified: the stack's CA, the name on the certificate; also with a client certificate.
            #expect(Self.connect(tls.url, .init(caFile: tls.ca)) == nil)
            #expect(
                Self.connect(tls.url, .init(caFile: tls.ca, certificateFile: tls.dir + "/client.pem", keyFile: tls.dir + "/client.key"))
                    == nil)
            // Another CA (the test's self-signed ingest certificate): refused.
            let wrongCA = Self.connect(tls.url, .init(caFile: stack.certificate))
            #expect(wrongCA?.contains("verification failed") == true && wrongCA?.contains("not signed by the CA in") == true, "\(wrongCA ?? "connected")")
            // No CA file: the system's trusted CAs, which do not include the stack's CA.
            let systemRoots = Self.connect(tls.url, .init())
            #expect(systemRoots?.contains("a CA this system trusts") == true, "\(systemRoots ?? "connected")")
            // The address instead of the name on the certificate: refused, unless host-name checks are off.
            let mismatch = Self.connect(byAddress, .init(caFile: tls.ca))
            #expect(mismatch?.contains("does not name '127.0.0.1'") == true, "\(mismatch ?? "connected")")
            #expect(Self.connect(byAddress, .init(caFile: tls.ca, verifyHostname: false)) == nil)
            // A CA file that is not there, and a plain port spoken to with TLS.
            let missing = Self.connect(tls.url, .init(caFile: "/nonexistent/ca.pem"))
            #expect(missing?.contains("cannot load the broker CA file '/nonexistent/ca.pem'") == true, "\(missing ?? "connected")")
            let plain = stack.amqpURL.replacingOccurrences(of: "amqp://", with: "amqps://")
            let notTLS = Self.connect(plain, .init(caFile: tls.ca))
            #expect(notTLS?.contains("TLS") == true || notTLS?.contains("SSL") == true, "\(notTLS ?? "connected")")
            // No error names the password.
            for e in [wrongCA, systemRoots, mismatch, missing, notTLS] { #expect(e?.contains("guest:guest") != true) }
        }
    }
}
