import AMQPClient
import ArgumentParser
import EnvironmentVariables
import Logging
import PipelineCore
import ServiceLifecycle
import ServiceSupport

/// Options shared by the services.
struct CommonOptions: ParsableArguments {
    @Option(help: "Address to listen on (env: LISTEN_HOST).")
    var host: String = Env.string("LISTEN_HOST") ?? "0.0.0.0"

    @Option(help: "Log level: trace, debug, info, notice, warning, error (env: LOG_LEVEL).")
    var logLevel: String = Env.string("LOG_LEVEL") ?? "info"

    @Flag(inversion: .prefixedEnableDisable, help: "Serve POST /kill, which exits at once, for chaos tests (env: KILL_ENABLED).")
    var kill: Bool = Env.bool("KILL_ENABLED") ?? false

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level (LOG_LEVEL) must be trace, debug, info, notice, warning, error or critical, not '\(logLevel)'")
        }
    }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }
}

/// Broker options. The URL has no default value in the declaration: `--help` prints
/// defaults, and one taken from the environment would show its password.
struct BrokerOptions: ParsableArguments {
    static let defaultURL = "amqp://guest:guest@127.0.0.1:5672/%2f"

    @Option(
        name: .customLong("amqp-url"),
        help: "Broker node URLs, comma-separated, tried in turn (env: AMQP_URL; default \(Redaction.connectionString(defaultURL))); AMQP_USER and AMQP_PASSWORD, when set, replace their credentials.")
    var amqpURLOption: String?

    var amqpURL: String { amqpURLOption ?? Env.string("AMQP_URL") ?? Self.defaultURL }

    @Option(help: "The readings quorum queue (env: AMQP_QUEUE).")
    var queue: String = Env.string("AMQP_QUEUE") ?? "readings"

    @Option(help: "Deliveries before a message is dead-lettered (env: AMQP_DELIVERY_LIMIT).")
    var deliveryLimit: Int = Env.int("AMQP_DELIVERY_LIMIT") ?? 20

    @Option(
        name: .customLong("amqp-ca-file"),
        help: "PEM file of the CA that signed the broker's certificate, for amqps:// (env: AMQP_CA_FILE; default: the system's trusted CAs).")
    var caFile: String = Env.string("AMQP_CA_FILE") ?? ""

    @Option(
        name: .customLong("amqp-tls-verify-hostname"),
        help: "For amqps://: on (default) checks that the broker's certificate names the URL's host; off only for a test broker (env: AMQP_TLS_VERIFY_HOSTNAME).")
    var tlsVerifyHostname: String = Env.string("AMQP_TLS_VERIFY_HOSTNAME") ?? "on"

    @Option(
        name: .customLong("amqp-cert-file"),
        help: "Client certificate (PEM) for a broker that asks for one; with --amqp-key-file (env: AMQP_CERT_FILE).")
    var certFile: String = Env.string("AMQP_CERT_FILE") ?? ""

    @Option(name: .customLong("amqp-key-file"), help: "The client certificate's key (PEM) (env: AMQP_KEY_FILE).")
    var keyFile: String = Env.string("AMQP_KEY_FILE") ?? ""

    func validate() throws {
        guard Env.flag(tlsVerifyHostname) != nil else { throw ValidationError("--amqp-tls-verify-hostname must be on or off") }
        guard certFile.isEmpty == keyFile.isEmpty else {
            throw ValidationError("a client certificate needs both --amqp-cert-file (AMQP_CERT_FILE) and --amqp-key-file (AMQP_KEY_FILE)")
        }
    }

    var configuration: AMQPConfiguration {
        // User and password from the environment only (never a flag: a command line is visible to every process).
        var c = AMQPConfiguration(
            urls: AMQPConfiguration.urls(from: amqpURL, user: Env.string("AMQP_USER"), password: Env.string("AMQP_PASSWORD")),
            queue: queue, deliveryLimit: deliveryLimit)
        c.tls = .init(
            caFile: caFile.isEmpty ? nil : caFile, verifyHostname: Env.flag(tlsVerifyHostname) ?? true,
            certificateFile: certFile.isEmpty ? nil : certFile, keyFile: keyFile.isEmpty ? nil : keyFile)
        return c
    }
}

/// Database options; like the broker URL, the value is resolved after parsing so `--help` never shows a password.
struct DatabaseOptions: ParsableArguments {
    static let defaultURL = "postgresql://postgres@127.0.0.1:5432/pipeline"

    @Option(
        name: .customLong("database-url"),
        help: "libpq connection string or URL; several hosts allowed (env: DATABASE_URL; default \(defaultURL)).")
    var databaseURLOption: String?

    var databaseURL: String { databaseURLOption ?? Env.string("DATABASE_URL") ?? Self.defaultURL }
}

/// Runs services in one group that shuts down gracefully on SIGTERM or SIGINT.
///
/// The metrics backend is installed before `makeServices` runs: a metric handle made
/// earlier (services make theirs in their initializers) would count into nothing.
func runServices(logger: Logger, _ makeServices: () throws -> [any Service]) async throws {
    _ = PrometheusSetup.registry
    let services = try makeServices()
    let group = ServiceGroup(
        configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}
