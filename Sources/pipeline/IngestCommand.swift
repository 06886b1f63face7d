import AMQPClient
import ArgumentParser
import EnvironmentVariables
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

    @Option(help: "on: the readings waiting to be published share broker messages (one alone when none waits); off: one message per reading (env: AMQP_PACKING).")
    var packing: String = Env.string("AMQP_PACKING") ?? "on"

    @Option(help: "Readings one broker message carries at most, with packing on (env: AMQP_PACK_MAX_READINGS).")
    var packMaxReadings: Int = Env.int("AMQP_PACK_MAX_READINGS") ?? Packing().maxReadings

    @Option(help: "Body bytes of one broker message at most, with packing on; a larger reading goes alone (env: AMQP_PACK_MAX_BYTES).")
    var packMaxBytes: Int = Env.int("AMQP_PACK_MAX_BYTES") ?? Packing().maxBytes

    @Option(help: "Milliseconds after a publish within which, with packing on, only full messages go out: readings closer together than this share a message; 0 turns it off (env: AMQP_PACK_LINGER_MS).")
    var packLingerMs: Int = Env.int("AMQP_PACK_LINGER_MS") ?? Int(Packing().linger / .milliseconds(1))

    @OptionGroup var auth: AuthOptions

    @Option(help: "Readings per second allowed per device; 0 turns the limit off (env: RATE_LIMIT).")
    var rateLimit: Double = Env.double("RATE_LIMIT") ?? 50

    @Option(help: "Readings a device may send at once above its rate (env: RATE_BURST).")
    var rateBurst: Double = Env.double("RATE_BURST") ?? 1000

    @Option(help: "Seconds after which a silent TCP connection is closed (env: IDLE_TIMEOUT).")
    var idleTimeout: Int = Env.int("IDLE_TIMEOUT") ?? 120

    @Option(help: "Device connections open at most, over both listeners; never more than the open-file limit less --fd-reserve (env: MAX_CONNECTIONS).")
    var maxConnections: Int = Env.int("MAX_CONNECTIONS") ?? 16_000

    @Option(help: "Connections per client address that have not yet shown a valid auth line, reading or accepted request; authenticated ones are not capped per address, so devices behind one NAT are fine (env: MAX_UNPROVEN_PER_ADDRESS).")
    var maxUnprovenPerAddress: Int = Env.int("MAX_UNPROVEN_PER_ADDRESS") ?? 1_000

    @Option(help: "File descriptors kept free for the broker, the database and the admin listener (env: FD_RESERVE).")
    var fdReserve: Int = Env.int("FD_RESERVE") ?? 512

    @Option(help: "Seconds a TCP connection has to send its auth line, with authentication on (env: AUTH_TIMEOUT).")
    var authTimeout: Int = Env.int("AUTH_TIMEOUT") ?? 10

    @Option(help: "Seconds an HTTP connection may wait for its next request, headers included (env: HTTP_IDLE_TIMEOUT).")
    var httpIdleTimeout: Int = Env.int("HTTP_IDLE_TIMEOUT") ?? 30

    @Option(help: "Seconds a request's body has to arrive after its headers (env: HTTP_BODY_TIMEOUT).")
    var httpBodyTimeout: Int = Env.int("HTTP_BODY_TIMEOUT") ?? 30

    @Option(help: "MiB of request bodies read at once over all connections; more uploads wait with a 503 (env: HTTP_BODY_BUDGET_MIB).")
    var httpBodyBudgetMiB: Int = Env.int("HTTP_BODY_BUDGET_MIB") ?? 64

    func validate() throws {
        if tlsCert.isEmpty != tlsKey.isEmpty { throw ValidationError("--tls-cert and --tls-key go together") }
        guard tlsReloadInterval >= 1 else { throw ValidationError("--tls-reload-interval must be at least 1 second") }
        guard maxConnections >= 1, maxUnprovenPerAddress >= 1, fdReserve >= 0, authTimeout >= 1, httpIdleTimeout >= 1,
            httpBodyTimeout >= 1, httpBodyBudgetMiB >= 1
        else {
            throw ValidationError("connection limits and timeouts must be positive (--fd-reserve may be 0)")
        }
        guard Env.flag(packing) != nil else { throw ValidationError("--packing must be on or off") }
        guard packMaxReadings >= 1, packMaxBytes >= 1024, (0...1000).contains(packLingerMs) else {
            throw ValidationError("--pack-max-readings must be >= 1, --pack-max-bytes >= 1024, --pack-linger-ms 0-1000")
        }
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
                    tlsReloadInterval: .seconds(tlsReloadInterval),
                    guards: .init(
                        connections: .init(
                            maxConnections: maxConnections, maxUnprovenPerAddress: maxUnprovenPerAddress, reserve: fdReserve),
                        authTimeout: .seconds(authTimeout), httpIdleTimeout: .seconds(httpIdleTimeout),
                        httpBodyTimeout: .seconds(httpBodyTimeout), httpBodyBudget: httpBodyBudgetMiB << 20),
                    packing: Env.flag(packing) == true
                        ? .init(maxReadings: packMaxReadings, maxBytes: packMaxBytes, linger: .milliseconds(packLingerMs)) : .off),
                logger: logger).services
        }
    }
}
