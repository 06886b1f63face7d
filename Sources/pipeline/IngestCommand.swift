import ArgumentParser
import Ingest
import ServiceSupport

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Accept readings over HTTP(S) and TCP; acknowledge after the broker's confirm.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var broker: BrokerOptions

    @Option(help: "HTTP(S) port (env: INGEST_HTTP_PORT).")
    var httpPort: Int = Env.int("INGEST_HTTP_PORT") ?? 8443

    @Option(help: "TCP line-protocol port (env: INGEST_TCP_PORT).")
    var tcpPort: Int = Env.int("INGEST_TCP_PORT") ?? 7070

    @Option(help: "Admin port: /healthz, /readyz with its checks, /metrics, /kill; plain HTTP, for the cluster network only (env: INGEST_ADMIN_PORT).")
    var adminPort: Int = Env.int("INGEST_ADMIN_PORT") ?? 9101

    @Option(help: "PEM certificate; with --tls-key, both listeners speak TLS (env: TLS_CERT).")
    var tlsCert: String = Env.string("TLS_CERT") ?? ""

    @Option(help: "PEM private key (env: TLS_KEY).")
    var tlsKey: String = Env.string("TLS_KEY") ?? ""

    @Option(help: "Seconds between checks of the certificate files; a renewed pair is served to new connections without a restart (env: TLS_RELOAD_INTERVAL).")
    var tlsReloadInterval: Int = Env.int("TLS_RELOAD_INTERVAL") ?? 30

    @Option(help: "Seconds to wait for a broker confirm before answering 503 / nack (env: CONFIRM_TIMEOUT).")
    var confirmTimeout: Int = Env.int("CONFIRM_TIMEOUT") ?? 5

    @OptionGroup var auth: AuthOptions

    @Option(help: "Readings per second allowed per device; 0 turns the limit off (env: RATE_LIMIT).")
    var rateLimit: Double = Env.string("RATE_LIMIT").flatMap(Double.init) ?? 50

    @Option(help: "Readings a device may send at once above its rate (env: RATE_BURST).")
    var rateBurst: Double = Env.string("RATE_BURST").flatMap(Double.init) ?? 1000

    @Option(help: "Seconds after which a silent TCP connection is closed (env: IDLE_TIMEOUT).")
    var idleTimeout: Int = Env.int("IDLE_TIMEOUT") ?? 120

    func validate() throws {
        if tlsCert.isEmpty != tlsKey.isEmpty { throw ValidationError("--tls-cert and --tls-key go together") }
        guard tlsReloadInterval >= 1 else { throw ValidationError("--tls-reload-interval must be at least 1 second") }
        guard rateLimit >= 0, rateBurst >= 1, idleTimeout >= 1, confirmTimeout >= 1 else {
            throw ValidationError("--rate-limit must be >= 0, --rate-burst, --idle-timeout and --confirm-timeout >= 1")
        }
        _ = try auth.configuration()
    }

    func run() async throws {
        let logger = common.logger("ingest")
        try await runServices(logger: logger) {
            try IngestService(
                configuration: .init(
                    host: common.host, httpPort: httpPort, tcpPort: tcpPort, adminPort: adminPort, amqp: broker.configuration,
                    tlsCertificatePath: tlsCert.isEmpty ? nil : tlsCert, tlsKeyPath: tlsKey.isEmpty ? nil : tlsKey, killEnabled: common.kill,
                    confirmTimeout: .seconds(confirmTimeout), auth: try auth.configuration(),
                    rateLimit: rateLimit > 0 ? (rateLimit, rateBurst) : nil, idleTimeout: .seconds(idleTimeout),
                    tlsReloadInterval: .seconds(tlsReloadInterval)),
                logger: logger).services
        }
    }
}
