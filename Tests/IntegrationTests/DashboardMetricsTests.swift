import ChaosKit
import Foundation
import NIOHTTP1
import SimulatorKit
import Storage
import Testing

extension Integration {
    /// The Grafana dashboards (dashboards/*.json) read only metrics that exist: the real
    /// `pipeline` processes' and RabbitMQ's own (the test stack runs rabbitmq_prometheus),
    /// or Kubernetes' listed in dashboards/README.md. Every service's `/metrics` passes
    /// `promtool check metrics`.
    @Suite struct DashboardMetricsTests {
        @Test func promQLNamesFindsTheMetricsOfAnExpression() {
            let expr = #"""
                histogram_quantile(0.99, sum by (le, transport) (rate(ingest_ack_latency_seconds_bucket{namespace="$namespace", a=~"x|y"}[$__rate_interval])))
                / on (pod) group_left label_replace(kube_pod_container_resource_limits{resource="cpu"}, "svc", "$1", "pod", "(a)-.*")
                and up offset 1h > 1e3
                """#
            #expect(
                PromQLNames.metricNames(in: expr) == [
                    "ingest_ack_latency_seconds_bucket", "kube_pod_container_resource_limits", "up",
                ])
        }

        @Test func everyDashboardMetricExistsAndTheServicesPassPromtool() async throws {
            let rabbitMetrics = try TestStack.environment("RABBIT_PROM_URL")
            let stack = try TestStack.make()
            defer { stack.dropDatabase() }
            var environment = ProcessInfo.processInfo.environment
            for name in ["TLS_CERT", "TLS_KEY", "KILL_ENABLED"] { environment.removeValue(forKey: name) }
            environment.merge([
                "DATABASE_URL": stack.databaseURL, "AMQP_QUEUE": stack.queue, "DEVICE_AUTH": "off", "LOG_LEVEL": "warning",
                "LISTEN_HOST": "127.0.0.1", "INGEST_HTTP_PORT": "\(stack.httpPort)", "INGEST_TCP_PORT": "\(stack.tcpPort)",
                "ANALYZER_PORT": "\(stack.analyzerPort)", "ALERTS_PORT": "\(stack.alertsPort)",
                "INGEST_ADMIN_PORT": "\(stack.ingestAdminPort)", "ALERTS_ADMIN_PORT": "\(stack.alertsAdminPort)",
            ]) { $1 }
            // The owner migrates and grants; each service then runs as its own role, as deployed.
            let roles = ServiceRole.allCases.map { "--\($0.rawValue)-role=\(TestStack.roleName($0))" }
            #expect(try await Self.run(["migrate", "--with-broker"] + roles, environment: environment) == 0)
            // Alerts runs with reader keys on, as deployed.
            let issued = try TestStack.run(TestStack.pipelineBinary, ["reader", "issue", "dashboard-test"], environment: environment)
            try #require(issued.status == 0, "\(issued.output)")
            let key = issued.output.trimmingCharacters(in: .whitespacesAndNewlines)
            // Each service's admin listener: /readyz and /metrics.
            let services = try [("ingest", stack.ingestAdminPort), ("analyzer", stack.analyzerPort), ("alerts", stack.alertsAdminPort)]
                .map { name, port in
                    var own = environment
                    own["DATABASE_URL"] = stack.databaseURL(as: ServiceRole(rawValue: name)!)
                    if name != "alerts" { own["AMQP_URL"] = ProcessInfo.processInfo.environment["AMQP_\(name.uppercased())_URL"] }
                    return (name, port, try TestStack.launch([name], environment: own))
                }
            defer {
                for (_, _, p) in services where p.isRunning { p.signal(SIGTERM) }
            }
            for (name, port, process) in services {
                try #require(
                    try await ServiceProbe.waitUntilReady(port: port, isAlive: { process.isRunning }), "\(name) not ready")
            }

            // Traffic that gives every family its series: readings, one anomaly, API calls.
            let readings = (1...40).map { i in
                #"{"device_id":"dash-1","seq":\#(i),"ts":"2026-11-26T08:00:00Z","metrics":{"heart_rate":\#(70 + i % 5)}}"#
            }
            let spike = #"{"device_id":"dash-1","seq":41,"ts":"2026-11-26T08:00:00Z","metrics":{"heart_rate":190}}"#
            for body in ["[" + readings.joined(separator: ",") + "]", spike] {
                let c = try await HTTPConnection.connect(host: "127.0.0.1", port: stack.httpPort, tls: nil)
                let reply = try await c.request(
                    .POST, "/v1/readings", headers: [("Content-Type", "application/json")], body: Array(body.utf8))
                await c.close()
                #expect(reply.status == 202, "\(reply.body)")
            }
            try await stack.eventually("the spike is served as an anomaly") {
                (try? await Self.get(
                    port: stack.alertsPort, "/v1/anomalies?device_id=dash-1", headers: [("Authorization", "Bearer \(key)")]
                ).body.contains(#""seq":41"#))
                    == true
            }

            var exposed: Set<String> = []
            for (name, port, _) in services {
                let text = try await Self.get(port: port, "/metrics").body
                let (status, output) = try await Self.promtool(text)
                #expect(status == 0 && output.isEmpty, "\(name) /metrics fails promtool check metrics: \(output)")
                exposed.formUnion(ServiceProbe.seriesNames(in: text))
            }
            let rabbit = try await Self.get(url: rabbitMetrics).body
            // RabbitMQ's own names break promtool's naming lints (exit 3); the text must still parse (not exit 1).
            let (rabbitStatus, rabbitOutput) = try await Self.promtool(rabbit)
            #expect(rabbitStatus == 0 || rabbitStatus == 3, "RabbitMQ's metrics do not parse: \(rabbitOutput)")
            exposed.formUnion(ServiceProbe.seriesNames(in: rabbit))

            let kubernetes = try Self.documentedKubernetesMetrics()
            let dashboards = try FileManager.default.contentsOfDirectory(atPath: TestStack.root + "/dashboards")
                .filter { $0.hasSuffix(".json") }.sorted()
            #expect(dashboards.count >= 2)
            for file in dashboards {
                let data = try Data(contentsOf: URL(fileURLWithPath: TestStack.root + "/dashboards/" + file))
                let expressions = try PromQLNames.expressions(inDashboard: data)
                #expect(expressions.count >= 5, "\(file) has \(expressions.count) queries")
                for expr in expressions {
                    let names = PromQLNames.metricNames(in: expr)
                    #expect(!names.isEmpty, "\(file): no metric in \(expr)")
                    for name in names where !exposed.contains(name) {
                        #expect(kubernetes.contains(name), "\(file): \(name) is neither exposed nor a documented Kubernetes metric")
                    }
                }
            }
        }

        // MARK: - Helpers

        /// The cAdvisor and kube-state-metrics names listed in dashboards/README.md (lines "- `name` …").
        static func documentedKubernetesMetrics() throws -> Set<String> {
            let readme = try String(contentsOfFile: TestStack.root + "/dashboards/README.md", encoding: .utf8)
            var names: Set<String> = []
            for line in readme.split(separator: "\n") where line.hasPrefix("- `") {
                let name = line.dropFirst(3).prefix { $0 != "`" }
                if name.hasPrefix("container_") || name.hasPrefix("kube_") { names.insert(String(name)) }
            }
            return names
        }

        static func run(_ arguments: [String], environment: [String: String]) async throws -> Int32 {
            try await Command.outcome(TestStack.pipelineBinary, arguments, environment: environment).status
        }

        /// `promtool check metrics` with the text on standard input: its exit status and output.
        static func promtool(_ text: String) async throws -> (Int32, String) {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("promtool-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let input = dir.appendingPathComponent("metrics.txt")
            try Data(text.utf8).write(to: input)
            // promtool reads the metrics on standard input.
            let outcome = try await Command.outcome("/bin/sh", ["-c", "exec /usr/bin/promtool check metrics < \"$0\" 2>&1", input.path])
            return (outcome.status, outcome.stdout)
        }

        static func get(port: Int, _ path: String, headers: [(String, String)] = []) async throws -> HTTPReply {
            let c = try await HTTPConnection.connect(host: "127.0.0.1", port: port, tls: nil)
            defer { Task { await c.close() } }
            return try await c.request(.GET, path, headers: headers)
        }

        /// GET of an `http://host:port/path` URL.
        static func get(url: String) async throws -> HTTPReply {
            guard let u = URL(string: url), let host = u.host, let port = u.port else {
                throw TestStack.StackError("not an http://host:port/path URL: \(url)")
            }
            let c = try await HTTPConnection.connect(host: host, port: port, tls: nil)
            defer { Task { await c.close() } }
            return try await c.request(.GET, u.path)
        }
    }
}
