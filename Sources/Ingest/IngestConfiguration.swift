package import AMQPClient
package import DeviceAuth

/// Everything ingest needs; the `pipeline ingest` command fills it from flags and environment.
package struct IngestConfiguration: Sendable {
    package var host: String
    package var httpPort: Int
    package var tcpPort: Int
    /// The admin listener's port (`/metrics`, `/readyz` with its checks, `/kill`).
    package var adminPort: Int
    package var amqp: AMQPConfiguration
    /// PEM files; when both are set, HTTPS and TCP+TLS are served instead of plain text.
    package var tlsCertificatePath: String?
    package var tlsKeyPath: String?
    /// How often the certificate files are checked for a renewed pair.
    package var tlsReloadInterval: Duration
    package var killEnabled: Bool
    /// How long a publish may wait for the broker's confirm before the device gets 503 / a nack.
    package var confirmTimeout: Duration
    /// Device authentication: the signing secret, and where token generations are kept. Nil turns it off.
    package var auth: Auth?
    /// Per-device limit in readings per second and the burst allowed; nil turns it off.
    package var rateLimit: (rate: Double, burst: Double)?
    /// A TCP connection that sends no complete line for this long is closed.
    package var idleTimeout: Duration
    /// What no client can exceed; see `Guards`.
    package var guards: Guards
    /// How many waiting readings one broker message may carry (`Packing.off`: one each).
    package var packing: Packing

    /// The limits that keep hostile or broken clients from exhausting ingest.
    package struct Guards: Sendable {
        package var connections: ConnectionLimiter.Limits
        /// With authentication on, a TCP connection's auth line must come within this.
        package var authTimeout: Duration
        /// An HTTP connection waiting for a request (its head, headers included) is closed after this.
        package var httpIdleTimeout: Duration
        /// A request's body must have arrived within this of its head.
        package var httpBodyTimeout: Duration
        /// Bytes of request bodies read at once, over all connections.
        package var httpBodyBudget: Int

        package init(
            connections: ConnectionLimiter.Limits = .init(), authTimeout: Duration = .seconds(10),
            httpIdleTimeout: Duration = .seconds(30), httpBodyTimeout: Duration = .seconds(30),
            httpBodyBudget: Int = 64 << 20
        ) {
            self.connections = connections
            self.authTimeout = authTimeout
            self.httpIdleTimeout = httpIdleTimeout
            self.httpBodyTimeout = httpBodyTimeout
            self.httpBodyBudget = httpBodyBudget
        }
    }

    package struct Auth: Sendable {
        package var secret: DeviceTokenSecret
        package var databaseURL: String
        /// How often revocations and new tokens are picked up.
        package var refreshInterval: Duration

        package init(secret: DeviceTokenSecret, databaseURL: String, refreshInterval: Duration = .seconds(5)) {
            self.secret = secret
            self.databaseURL = databaseURL
            self.refreshInterval = refreshInterval
        }
    }

    package init(
        host: String = "0.0.0.0", httpPort: Int = 8443, tcpPort: Int = 7070, adminPort: Int = 9101, amqp: AMQPConfiguration,
        tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil, killEnabled: Bool = false,
        confirmTimeout: Duration = .seconds(5), auth: Auth? = nil, rateLimit: (rate: Double, burst: Double)? = (50, 1000),
        idleTimeout: Duration = .seconds(120), tlsReloadInterval: Duration = .seconds(30), guards: Guards = .init(),
        packing: Packing = .init()
    ) {
        self.host = host
        self.httpPort = httpPort
        self.tcpPort = tcpPort
        self.adminPort = adminPort
        self.amqp = amqp
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.killEnabled = killEnabled
        self.confirmTimeout = confirmTimeout
        self.auth = auth
        self.rateLimit = rateLimit
        self.idleTimeout = idleTimeout
        self.tlsReloadInterval = tlsReloadInterval
        self.guards = guards
        self.packing = packing
    }

    package var usesTLS: Bool { tlsCertificatePath != nil && tlsKeyPath != nil }
}
