import Foundation

/// Where the broker is and how the pipeline's topology is named.
package struct AMQPConfiguration: Sendable {
    /// One or more `amqp://user:pass@host:port/vhost` (or `amqps://`) URLs; tried in order, rotating on failure.
    package var urls: [String]
    /// The durable quorum queue readings go to.
    package var queue: String
    /// Dead-letter exchange and queue for messages that fail processing repeatedly.
    package var deadLetterExchange: String
    package var deadLetterQueue: String
    /// Quorum queue `x-delivery-limit`: deliveries before the broker dead-letters a message
    /// (20, as RabbitMQ 4 defaults to: a crash-looping analyzer should not dead-letter good readings).
    package var deliveryLimit: Int
    /// AMQP heartbeat in seconds (0 disables).
    package var heartbeatSeconds: Int
    /// Connect and RPC timeout.
    package var connectTimeout: Duration
    /// Shown by the broker's management UI and `rabbitmqctl list_connections`.
    package var connectionName: String = "pipeline"
    /// How `amqps://` URLs verify the broker (and prove who this client is).
    package var tls = TLS()

    /// TLS to the broker: the broker's certificate is always verified, against `caFile` (or the
    /// system's trusted CAs), and must name the URL's host unless `verifyHostname` is off.
    package struct TLS: Sendable, Equatable {
        package var caFile: String?
        package var verifyHostname: Bool
        /// A client certificate and its key (PEM), for a broker that asks for one.
        package var certificateFile: String?
        package var keyFile: String?

        package init(caFile: String? = nil, verifyHostname: Bool = true, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.verifyHostname = verifyHostname
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    package init(
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
    package static func urls(from list: String, user: String? = nil, password: String? = nil) -> [String] {
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
