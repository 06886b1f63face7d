import AMQPClient

/// Everything ingest needs; the `pipeline ingest` command fills it from flags and environment.
public struct IngestConfiguration: Sendable {
    public var host: String
    public var httpPort: Int
    public var tcpPort: Int
    public var amqp: AMQPConfiguration
    /// PEM files; when both are set, HTTPS and TCP+TLS are served instead of plain text.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    public var killEnabled: Bool
    /// How long a publish may wait for the broker's confirm before the device gets 503 / a nack.
    public var confirmTimeout: Duration

    public init(
        host: String = "0.0.0.0", httpPort: Int = 8443, tcpPort: Int = 7070, amqp: AMQPConfiguration,
        tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil, killEnabled: Bool = false,
        confirmTimeout: Duration = .seconds(5)
    ) {
        self.host = host
        self.httpPort = httpPort
        self.tcpPort = tcpPort
        self.amqp = amqp
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.killEnabled = killEnabled
        self.confirmTimeout = confirmTimeout
    }

    public var usesTLS: Bool { tlsCertificatePath != nil && tlsKeyPath != nil }
}
