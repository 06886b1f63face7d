import Foundation

/// Where the broker is and how the pipeline's topology is named.
public struct AMQPConfiguration: Sendable {
    /// One or more `amqp://user:pass@host:port/vhost` (or `amqps://`) URLs; tried in order, rotating on failure.
    public var urls: [String]
    /// The durable quorum queue readings go to.
    public var queue: String
    /// Dead-letter exchange and queue for messages that fail processing repeatedly.
    public var deadLetterExchange: String
    public var deadLetterQueue: String
    /// Quorum queue `x-delivery-limit`: deliveries before the broker dead-letters a message
    /// (20, as RabbitMQ 4 defaults to: a crash-looping analyzer should not dead-letter good readings).
    public var deliveryLimit: Int
    /// AMQP heartbeat in seconds (0 disables).
    public var heartbeatSeconds: Int
    /// Connect and RPC timeout.
    public var connectTimeout: Duration
    /// Shown by the broker's management UI and `rabbitmqctl list_connections`.
    public var connectionName: String = "pipeline"
    /// How `amqps://` URLs verify the broker (and prove who this client is).
    public var tls = TLS()

    /// TLS to the broker: the broker's certificate is always verified, against `caFile` (or the
    /// system's trusted CAs), and must name the URL's host unless `verifyHostname` is off.
    public struct TLS: Sendable, Equatable {
        public var caFile: String?
        public var verifyHostname: Bool
        /// A client certificate and its key (PEM), for a broker that asks for one.
        public var certificateFile: String?
        public var keyFile: String?

        public init(caFile: String? = nil, verifyHostname: Bool = true, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.verifyHostname = verifyHostname
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public init(
        urls: [String], queue: String = "readings", deadLetterExchange: String? = nil,
        deadLetterQueue: String? = nil, deliveryLimit: Int = 20, heartbeatSeconds: Int = 30,
        connectTimeout: Duration = .seconds(3)
    ) {
        self.urls = urls
        self.queue = queue
        self.deadLetterExchange = deadLetterExchange ?? "\(queue).dlx"
        self.deadLetterQueue = deadLetterQueue ?? "\(queue).dead"
        self.deliveryLimit = deliveryLimit
        self.heartbeatSeconds = heartbeatSeconds
        self.connectTimeout = connectTimeout
    }

    /// Parses `AMQP_URL`: a comma-separated list of broker node URLs. With `user`
    /// and `password` (`AMQP_USER`, `AMQP_PASSWORD`: from a Secret, as they are
    /// generated, whatever characters they hold) every URL gets them, percent-encoded.
    public static func urls(from list: String, user: String? = nil, password: String? = nil) -> [String] {
        let urls = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let user else { return urls }
        return urls.map { url in
            guard var c = URLComponents(string: url) else { return url }
            c.percentEncodedUser = Self.encode(user)
            c.percentEncodedPassword = password.map(Self.encode)
            return c.string ?? url
        }
    }

    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
