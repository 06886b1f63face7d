import CRabbitMQ
import Foundation
import Logging
import PipelineCore
import Synchronization

/// One rabbitmq-c connection with channel 1 open. rabbitmq-c is blocking and
/// not thread-safe, so an instance is confined to the thread that created it.
final class AMQPConnection {
    let state: amqp_connection_state_t
    let channel: amqp_channel_t = 1
    let endpoint: String
    /// The delivery tag the next publish gets on this channel (confirm mode counts from 1).
    var nextDeliveryTag: UInt64 = 1
    /// What is open, so `close()` sends only the frames that make sense.
    private var loggedIn = false
    private var channelOpen = false

    /// Opens a TCP (or, for `amqps://`, TLS) connection, logs in and opens channel 1. On failure the
    /// half-open connection is released by `deinit` (which Swift runs when an
    /// initializer throws after every property was set).
    init(url: String, configuration: AMQPConfiguration) throws(AMQPError) {
        guard let info = Endpoint(url: url) else { throw .unavailable("invalid AMQP URL '\(Redaction.connectionString(url))'") }
        guard let state = amqp_new_connection() else { throw .unavailable("out of memory") }
        self.state = state
        self.endpoint = "\(info.host):\(info.port)"
        let socket = try info.tls ? Self.tlsSocket(state, configuration.tls) : amqp_tcp_socket_new(state)
        guard let socket else { throw .unavailable("cannot create socket") }
        let timeoutMs = Int(configuration.connectTimeout.components.seconds * 1000)
            + Int(configuration.connectTimeout.components.attoseconds / 1_000_000_000_000_000)
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        let rc = amqp_socket_open_noblock(socket, info.host, Int32(info.port), &tv)
        if rc != AMQP_STATUS_OK.rawValue {
            throw .unavailable("\(endpoint): \(Self.statusString(rc))\(Self.tlsHint(rc, host: info.host, configuration.tls))")
        }
        amqp_set_handshake_timeout(state, &tv)
        amqp_set_rpc_timeout(state, &tv)
        let login = pipeline_amqp_login(
            state, info.vhost, 131_072, Int32(configuration.heartbeatSeconds), info.user, info.password,
            configuration.connectionName)
        guard Self.ok(login) else { throw .unavailable("\(endpoint): login failed: \(Self.describe(login))") }
        loggedIn = true
        amqp_channel_open(state, channel)
        let reply = amqp_get_rpc_reply(state)
        guard Self.ok(reply) else { throw .unavailable("\(endpoint): channel open failed: \(Self.describe(reply))") }
        channelOpen = true
    }

    /// An SSL socket that verifies the broker's certificate chain and, unless turned off, its host name.
    private static func tlsSocket(_ state: amqp_connection_state_t, _ tls: AMQPConfiguration.TLS) throws(AMQPError)
        -> OpaquePointer?
    {
        guard let socket = amqp_ssl_socket_new(state) else { return nil }
        amqp_ssl_socket_set_verify_peer(socket, 1)
        amqp_ssl_socket_set_verify_hostname(socket, tls.verifyHostname ? 1 : 0)
        if let ca = tls.caFile {
            guard amqp_ssl_socket_set_cacert(socket, ca) == AMQP_STATUS_OK.rawValue else {
                throw .unavailable("cannot load the broker CA file '\(ca)' (AMQP_CA_FILE): not a readable PEM certificate")
            }
        } else if pipeline_ssl_use_system_roots(socket) != 1 {
            throw .unavailable("cannot load the system's trusted CAs; set AMQP_CA_FILE")
        }
        switch (tls.certificateFile, tls.keyFile) {
        case let (cert?, key?):
            guard amqp_ssl_socket_set_key(socket, cert, key) == AMQP_STATUS_OK.rawValue else {
                throw .unavailable("cannot load the client certificate '\(cert)' with key '\(key)' (AMQP_CERT_FILE, AMQP_KEY_FILE)")
            }
        case (nil, nil): break
        default: throw .unavailable("a client certificate needs both AMQP_CERT_FILE and AMQP_KEY_FILE")
        }
        return socket
    }

    /// What to check when TLS verification refused the broker.
    static func tlsHint(_ status: Int32, host: String, _ tls: AMQPConfiguration.TLS) -> String {
        switch status {
        case AMQP_STATUS_SSL_PEER_VERIFY_FAILED.rawValue:
            " (the broker's certificate is not signed by \(tls.caFile.map { "the CA in '\($0)'" } ?? "a CA this system trusts"))"
        case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED.rawValue:
            " (the broker's certificate does not name '\(host)': connect by a name it carries)"
        case AMQP_STATUS_SSL_CONNECTION_FAILED.rawValue, AMQP_STATUS_SSL_ERROR.rawValue:
            " (TLS handshake failed: is this port the broker's TLS listener, and is its certificate valid?)"
        default: ""
        }
    }

    deinit {
        close()
        amqp_destroy_connection(state)
    }

    /// Declares exchanges and queues; idempotent. A queue declared by an earlier
    /// version (other arguments: at-most-once dead-lettering, another delivery
    /// limit) is used as it is, with a warning that names the policy to apply. A
    /// user that may not declare (ingest's and the analyzer's) checks that they exist.
    func declareTopology(_ c: AMQPConfiguration) throws(AMQPError) {
        let rc = pipeline_declare_topology(
            state, channel, c.queue, c.deadLetterExchange, c.deadLetterQueue, Int32(c.deliveryLimit))
        if rc == -8 {
            throw .unavailable(
                "\(endpoint): the queue '\(c.queue)' or its exchanges do not exist, and this broker user may not declare them "
                    + "(\(lastReply())): run `pipeline migrate --with-broker` with a user that may")
        }
        if rc < 0 { throw .connection("declaring queue '\(c.queue)': \(lastReply())") }
        if rc == 1 { Self.warnLegacyQueue(c.queue) }
    }

    /// Ready messages in `queue` right now.
    func depth(of queue: String) throws(AMQPError) -> Int {
        let n = pipeline_queue_depth(state, channel, queue)
        if n < 0 { throw .connection("reading the depth of '\(queue)': \(lastReply())") }
        return n
    }

    private static let warned = Mutex<Set<String>>([])

    private static func warnLegacyQueue(_ queue: String) {
        guard warned.withLock({ $0.insert(queue).inserted }) else { return }
        Logger(label: "amqp").warning(
            "queue was declared with other arguments by an earlier version; apply the policy in docs/reliability.md for at-least-once dead-lettering",
            metadata: [
                "queue": "\(queue)",
                "policy": "rabbitmqctl set_policy --apply-to queues pipeline-\(queue) '^\(queue)$' '{\"dead-letter-strategy\":\"at-least-once\",\"overflow\":\"reject-publish\"}'",
            ])
    }

    func confirmSelect() throws(AMQPError) {
        amqp_confirm_select(state, channel)
        try check("confirm.select")
    }

    /// Closes channel and connection politely; safe to call twice.
    func close() {
        if channelOpen { amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS) }
        if loggedIn { amqp_connection_close(state, AMQP_REPLY_SUCCESS) }
        channelOpen = false
        loggedIn = false
    }

    /// Marks the connection unusable without talking to the broker (after a socket error).
    func abandon() {
        channelOpen = false
        loggedIn = false
    }

    func check(_ what: String) throws(AMQPError) {
        let reply = amqp_get_rpc_reply(state)
        if !Self.ok(reply) { throw .connection("\(what): \(Self.describe(reply))") }
    }

    func lastReply() -> String { Self.describe(amqp_get_rpc_reply(state)) }

    /// A string the broker announced when the connection opened ("version", "product"), nil when absent.
    func serverProperty(_ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard pipeline_table_string(amqp_get_server_properties(state), name, &buffer, buffer.count) >= 0 else { return nil }
        return String(nulTerminated: buffer)
    }

    static func ok(_ r: amqp_rpc_reply_t) -> Bool { pipeline_reply_ok(r) != 0 }

    static func describe(_ r: amqp_rpc_reply_t) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        pipeline_describe_reply(r, &buf, buf.count)
        return String(nulTerminated: buf)
    }

    static func statusString(_ status: Int32) -> String { String(cString: amqp_error_string2(status)) }
}

/// A parsed broker URL.
struct Endpoint {
    var host: String
    var port: Int
    var user: String
    var password: String
    var vhost: String
    var tls: Bool

    init?(url: String) {
        guard let copy = strdup(url) else { return nil }
        defer { free(copy) }
        var info = amqp_connection_info()
        amqp_default_connection_info(&info)
        guard amqp_parse_url(copy, &info) == AMQP_STATUS_OK.rawValue else { return nil }
        host = String(cString: info.host)
        port = Int(info.port)
        user = String(cString: info.user)
        password = String(cString: info.password)
        vhost = String(cString: info.vhost)
        tls = info.ssl != 0
    }
}

extension String {
    /// Decodes a NUL-terminated C buffer.
    init(nulTerminated buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
