import Metrics
import NIOConcurrencyHelpers
package import Prometheus

/// Installs swift-metrics' Prometheus backend once per process; every service
/// serves the same registry on `/metrics`.
package enum PrometheusSetup {
    private static let state = NIOLockedValueBox<PrometheusCollectorRegistry?>(nil)

    /// The process-wide registry, bootstrapping the metrics system on first use.
    package static var registry: PrometheusCollectorRegistry {
        state.withLockedValue { current in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                .milliseconds(2500), .seconds(5), .seconds(10),
            ]
            MetricsSystem.bootstrap(factory)
            current = registry
            return registry
        }
    }

    /// The text exposition of the registry, each family with its `# HELP` line.
    package static func exposition() -> [UInt8] {
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        var out = ""
        out.reserveCapacity(text.utf8.count + 2048)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first,
                let help = MetricCatalog.help[String(name)]
            {
                out += "# HELP \(name) \(help)\n"
            }
            out += line
            out += "\n"
        }
        out.removeLast()
        return Array(out.utf8)
    }
}
