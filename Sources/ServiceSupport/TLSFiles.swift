import NIOSSL

/// Loads a PEM certificate chain and private key for the HTTPS and TCP+TLS listeners.
public enum TLSFiles {
    /// A file that could not be loaded, named, so a service that cannot start says which.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func serverConfiguration(certificatePath: String, keyPath: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificateSource]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        } catch {
            throw LoadError(description: "cannot load the TLS certificate \(certificatePath): \(error)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw LoadError(description: "cannot load the TLS key \(keyPath): \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return tls
    }
}
