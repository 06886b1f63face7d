import Foundation
package import Hummingbird
import PipelineCore

/// What `/readyz` reports: ready only when every dependency is reachable.
package struct Readiness: Sendable {
    package var ready: Bool
    package var checks: [String: String]

    package init(ready: Bool, checks: [String: String]) {
        self.ready = ready
        self.checks = checks
    }
}

/// `/healthz`, `/readyz`, `/metrics` and the optional `/kill`: the admin listener's
/// routes (every service has one, for the cluster network only), and the two a public
/// listener keeps, whose bodies reveal nothing.
package enum OperationalRoutes {
    /// The public listener's `/healthz` and `/readyz`: the status only, no checks,
    /// counts, hosts or errors (those are on the admin port).
    package static func addPublic<Context: RequestContext>(
        to router: Router<Context>, readiness: @escaping @Sendable () async -> Readiness
    ) {
        router.get("/healthz") { _, _ in JSONResponse.make(.ok, "{\"status\":\"ok\"}") }
        router.get("/readyz") { _, _ in
            let ready = await readiness().ready
            return JSONResponse.make(ready ? .ok : .serviceUnavailable, "{\"ready\":\(ready)}")
        }
    }

    /// The admin listener's routes.
    package static func add<Context: RequestContext>(
        to router: Router<Context>, killEnabled: Bool, readiness: @escaping @Sendable () async -> Readiness
    ) {
        // Liveness: the process serves requests. Dependencies are /readyz's business,
        // since restarting this process would not bring them back.
        router.get("/healthz") { _, _ in JSONResponse.make(.ok, "{\"status\":\"ok\"}") }
        router.get("/readyz") { _, _ in
            let r = await readiness()
            let checks = r.checks.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
            return JSONResponse.make(
                r.ready ? .ok : .serviceUnavailable, "{\"ready\":\(r.ready),\"checks\":{\(checks)}}")
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: PrometheusSetup.exposition())))
        }
        // Disabled, there is no such route at all (404 for every method).
        if killEnabled {
            router.post("/kill") { _, _ -> Response in
                // Chaos testing: die at once, without answering, like a crashed pod.
                exit(137)
            }
        }
    }
}
