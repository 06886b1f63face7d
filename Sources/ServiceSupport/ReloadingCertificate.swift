package import Foundation
package import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
package import NIOSSL
import ServiceLifecycle

/// A server certificate and key read from files and read again when they
/// change (cert-manager renewing a Secret, which the kubelet swaps into the
/// pod's volume), so the listeners serve a renewed certificate without a
/// restart: each TLS handshake takes the newest pair through
/// `sslContextCallback`. Connections open before keep theirs. A pair that does
/// not load (a half-written file, a key that does not match) is skipped with a
/// warning, and the last good pair stays in use.
package final class ReloadingCertificate: Service, Sendable {
    struct Pair {
        var chain: [NIOSSLCertificateSource]
        var key: NIOSSLPrivateKeySource
        /// The files' contents it was made from, to notice a change.
        var stamp: Data
        var notValidAfter: time_t
    }

    /// A file that could not be loaded, named, so a service that cannot start says which.
    package struct LoadError: Error, CustomStringConvertible {
        package var description: String
    }

    package let certificatePath: String
    package let keyPath: String
    let interval: Duration
    let logger: Logger
    private let current: NIOLockedValueBox<Pair>
    /// The contents of files that did not load: not tried again until they change.
    private let rejected = NIOLockedValueBox<Data?>(nil)
    private let expiry = Gauge(label: "ingest_tls_certificate_expiry_timestamp_seconds")
    private let reloads = Counter(label: "ingest_tls_reloads_total", dimensions: [("result", "loaded")])
    private let failures = Counter(label: "ingest_tls_reloads_total", dimensions: [("result", "failed")])

    /// Loads the pair now; throws (naming the file) when it cannot, so ingest does not start without it.
    package init(certificatePath: String, keyPath: String, interval: Duration = .seconds(30), logger: Logger) throws {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.interval = interval
        self.logger = logger
        let pair = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        current = NIOLockedValueBox(pair)
        expiry.record(Double(pair.notValidAfter))
    }

    /// A server configuration (TLS 1.2 or newer) whose every handshake uses the current pair.
    package var serverConfiguration: TLSConfiguration {
        let pair = current.withLockedValue { $0 }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: pair.chain, privateKey: pair.key)
        tls.minimumTLSVersion = .tlsv12
        let current = self.current
        tls.sslContextCallback = { _, promise in
            let pair = current.withLockedValue { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain
            override.privateKey = pair.key
            promise.succeed(override)
        }
        return tls
    }

    /// When the certificate in use expires (seconds since 1970).
    package var notValidAfter: time_t { current.withLockedValue { $0.notValidAfter } }

    /// Reads the files again if they changed; true when a new pair is now in use.
    @discardableResult
    package func reloadIfChanged() -> Bool {
        guard let stamp = try? Self.stamp(certificatePath, keyPath), stamp != current.withLockedValue({ $0.stamp }),
            stamp != rejected.withLockedValue({ $0 })
        else { return false }
        do {
            let pair = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
            current.withLockedValue { $0 = pair }
            expiry.record(Double(pair.notValidAfter))
            reloads.increment()
            logger.notice(
                "TLS certificate reloaded",
                metadata: ["file": "\(certificatePath)", "not_valid_after": "\(Date(timeIntervalSince1970: Double(pair.notValidAfter)))"])
            return true
        } catch {
            rejected.withLockedValue { $0 = stamp }
            failures.increment()
            logger.warning("renewed TLS certificate not loaded; serving the previous one", metadata: ["error": "\(error)"])
            return false
        }
    }

    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let interval = self.interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            reloadIfChanged()
        }
    }

    static func stamp(_ certificatePath: String, _ keyPath: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: certificatePath)) + Data(contentsOf: URL(fileURLWithPath: keyPath))
    }

    static func load(certificatePath: String, keyPath: String) throws -> Pair {
        let stamp = try? Self.stamp(certificatePath, keyPath)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw LoadError(description: "cannot load the TLS certificate \(certificatePath): \(error)")
        }
        guard let leaf = certificates.first else {
            throw LoadError(description: "cannot load the TLS certificate \(certificatePath): no certificate in it")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw LoadError(description: "cannot load the TLS key \(keyPath): \(error)")
        }
        let chain = certificates.map { NIOSSLCertificateSource.certificate($0) }
        // A context checks that the key belongs to the certificate.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        } catch {
            throw LoadError(description: "the TLS key \(keyPath) does not match the certificate \(certificatePath): \(error)")
        }
        return Pair(chain: chain, key: .privateKey(key), stamp: stamp ?? Data(), notValidAfter: leaf.notValidAfter)
    }
}
