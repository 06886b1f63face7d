import Foundation
import NIOSSL
import PipelineCore
import SimulatorKit
import Testing

extension Integration {
    /// A renewed certificate is served without a restart: the files are swapped the
    /// way the kubelet updates a Secret volume (a `..data` symlink renamed over),
    /// and new handshakes on both listeners, checked with `openssl s_client`, get the
    /// new certificate while a connection opened before keeps working.
    @Suite struct CertificateReloadTests {
        /// The SHA-256 fingerprint of the certificate `openssl s_client` is served on `port`.
        static func served(_ port: Int) throws -> String {
            let (_, out) = try TestStack.run(
                "/bin/bash",
                ["-c", "openssl s_client -connect 127.0.0.1:\(port) -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"])
            return out.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        static func fingerprint(_ file: String) throws -> String {
            try TestStack.run("/usr/bin/openssl", ["x509", "-in", file, "-noout", "-fingerprint", "-sha256"]).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Points `dir/..data` at `version` with one rename, as the kubelet does.
        static func publish(_ dir: String, _ version: String) throws {
            let fm = FileManager.default
            try? fm.removeItem(atPath: dir + "/..data_tmp")
            try fm.createSymbolicLink(atPath: dir + "/..data_tmp", withDestinationPath: version)
            guard rename(dir + "/..data_tmp", dir + "/..data") == 0 else { throw TestStack.StackError("rename failed") }
        }

        static func tls(trusting file: String) throws -> NIOSSLContext {
            var c = TLSConfiguration.makeClientConfiguration()
            c.trustRoots = .file(file)
            return try NIOSSLContext(configuration: c)
        }

        @Test func aRenewedCertificateIsServedWithoutARestart() async throws {
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            let fm = FileManager.default
            let dir = fm.temporaryDirectory.appendingPathComponent("tls-reload-\(stack.database)").path
            defer { try? fm.removeItem(atPath: dir) }
            for v in ["v1", "v2", "v3", "v4"] { try fm.createDirectory(atPath: "\(dir)/\(v)", withIntermediateDirectories: true) }
            for v in ["v1", "v2", "v4"] {
                let (c, k) = try TestStack.makeCertificate(in: "\(dir)/\(v)")
                try fm.moveItem(atPath: c, toPath: "\(dir)/\(v)/tls.crt")
                try fm.moveItem(atPath: k, toPath: "\(dir)/\(v)/tls.key")
            }
            // v3: a half-finished renewal, v4's certificate with v2's key.
            try fm.copyItem(atPath: "\(dir)/v4/tls.crt", toPath: "\(dir)/v3/tls.crt")
            try fm.copyItem(atPath: "\(dir)/v2/tls.key", toPath: "\(dir)/v3/tls.key")
            try Self.publish(dir, "v1")
            try fm.createSymbolicLink(atPath: dir + "/tls.crt", withDestinationPath: "..data/tls.crt")
            try fm.createSymbolicLink(atPath: dir + "/tls.key", withDestinationPath: "..data/tls.key")
            let (first, second, fourth) = try (
                Self.fingerprint("\(dir)/v1/tls.crt"), Self.fingerprint("\(dir)/v2/tls.crt"), Self.fingerprint("\(dir)/v4/tls.crt")
            )
            #expect(first.hasPrefix("sha256 Fingerprint=") && first != second && second != fourth)

            let ingest = try stack.ingest(certificate: (dir + "/tls.crt", dir + "/tls.key"))
            try await stack.running(ingest.services, ready: ingest) {
                #expect(try Self.served(stack.tcpPort) == first)
                #expect(try Self.served(stack.httpPort) == first)
                let before = try await LineConnection.connect(
                    host: "127.0.0.1", port: stack.tcpPort, tls: Self.tls(trusting: "\(dir)/v1/tls.crt"))
                let line = { (seq: Int64) in
                    String(decoding: ReadingCodec.encode(
                        Reading(deviceID: "tls-reload", seq: seq, ts: "2026-12-01T08:00:00Z", metrics: ["heart_rate": 70])), as: UTF8.self)
                }
                #expect(try await before.send(line(1)) == #"{"ack":1}"#)

                // Renewed: new handshakes on both listeners get it; the open connection keeps working.
                try Self.publish(dir, "v2")
                try await stack.eventually("the renewed certificate is served", timeout: .seconds(10)) {
                    try Self.served(stack.tcpPort) == second && Self.served(stack.httpPort) == second
                }
                #expect(try await before.send(line(2)) == #"{"ack":2}"#)
                let after = try await LineConnection.connect(
                    host: "127.0.0.1", port: stack.tcpPort, tls: Self.tls(trusting: "\(dir)/v2/tls.crt"))
                #expect(try await after.send(line(3)) == #"{"ack":3}"#)

                // A pair that does not match is not taken: the previous one stays, and the failure is counted.
                try Self.publish(dir, "v3")
                let admin = try await stack.client(port: stack.ingestAdminPort)
                try await stack.eventually("the broken renewal is counted", timeout: .seconds(10)) {
                    try await admin.request(.GET, "/metrics").body.contains(#"ingest_tls_reloads_total{result="failed"} 1"#)
                }
                #expect(try Self.served(stack.tcpPort) == second)
                try Self.publish(dir, "v4")
                try await stack.eventually("the fixed renewal is served", timeout: .seconds(10)) {
                    try Self.served(stack.tcpPort) == fourth
                }
                let metrics = try await admin.request(.GET, "/metrics").body
                #expect(metrics.contains(#"ingest_tls_reloads_total{result="loaded"} 2"#), "\(metrics)")
                #expect(metrics.contains("ingest_tls_certificate_expiry_timestamp_seconds "))
                await before.close()
                await after.close()
                await admin.close()
            }
        }
    }
}
